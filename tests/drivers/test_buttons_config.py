"""`[devices.fan] driver = "buttons"`: the file's keys, the errors that name them, the 30 min share period,
the driver built from it, and the worked example of deploy/config.example.toml."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from controller.config.buttons import with_calibration
from controller.config.loader import parse_config
from controller.config.reader import Table
from controller.devices import build_fan
from controller.errors import ConfigError
from drivers.buttons.driver import ButtonFan
from drivers.buttons.plan import OFF
from drivers.buttons.pressers import GpioPresser, IrPresser

REPO = Path(__file__).resolve().parents[2]
CYCLE_FAN: dict[str, Any] = {
    "driver": "buttons",
    "layout": "cycle",
    "cycle": ["off", "1", "2", "3", "4", "5", "6"],
    "power_up": "off",
    "lines": {"cycle": 17},
}


def config(fan: dict[str, Any], control: dict[str, Any] | None = None) -> Any:
    return parse_config(Table({"devices": {"fan": fan}, "control": control or {}}, "test.toml"), REPO)


def test_a_cycling_purifier_parses_and_builds_the_driver() -> None:
    loaded = config(CYCLE_FAN)
    assert loaded.control.share_period_s == 1800.0, "buttons default to a 30 min share period"
    fan = build_fan(loaded.devices, fan=loaded.fan)
    assert isinstance(fan, ButtonFan)
    assert fan.layout.order == (OFF, 1, 2, 3, 4, 5, 6)
    assert fan.power_up == OFF
    assert fan.safe_setting == 3, "safe_speed 50 % is setting 3 of 6"
    assert fan.signature is not None
    assert fan.signature.watts[1:] == tuple(p.power_w for p in loaded.fan.curve.points)


def test_an_explicit_share_period_is_kept() -> None:
    assert config(CYCLE_FAN, {"share_period": "10 min"}).control.share_period_s == 600.0


def test_calibrated_watts_and_tolerance_make_the_signature() -> None:
    fan_table = {**CYCLE_FAN, "setting_watts": ["2 W", "4 W", "10 W", "17 W", "24 W", "29 W"]}
    loaded = config({**fan_table, "power_tolerance": "0.3 W", "standby_power": "0.2 W", "verify": True})
    fan = build_fan(loaded.devices, fan=loaded.fan)
    assert isinstance(fan, ButtonFan)
    assert fan.signature is not None
    assert fan.signature.watts == (0.2, 2.0, 4.0, 10.0, 17.0, 24.0, 29.0)
    assert fan.signature.tolerance_w[3] == pytest.approx(0.3)
    unverified = config({**CYCLE_FAN, "verify": False})
    built = build_fan(unverified.devices, fan=unverified.fan)
    assert isinstance(built, ButtonFan)
    assert built.signature is None


@pytest.mark.parametrize(
    ("change", "key", "expected"),
    [
        ({"cycle": ["off", "1", "7"]}, "cycle", "fan curve's settings"),
        ({"power_up": "turbo"}, "power_up", "fan curve's settings"),
        ({"lines": {"up": 5}}, "lines", "a GPIO line for each button"),
        ({"layout": "dial"}, "layout", "one of cycle, up-down, per-setting"),
        ({"lines": {"cycle": 999}}, "lines.cycle", "between 0 and 511"),
        ({"press": "5 ms"}, "press", "between"),
        ({"setting_watts": ["1 W"]}, "setting_watts", "one power per setting"),
        ({"cycle": ["1"]}, "cycle", "the settings one press steps through"),
        ({"colour": "red"}, "colour", "a known key"),
    ],
)
def test_mistakes_name_the_key(change: dict[str, Any], key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        config({**CYCLE_FAN, **change})
    assert key in str(raised.value)
    assert expected in str(raised.value)


def test_the_driver_needs_the_fan_section() -> None:
    loaded = config(CYCLE_FAN)
    with pytest.raises(ConfigError, match=r"\[fan\] curve"):
        build_fan(loaded.devices)


def example(name: str) -> Any:
    """The commented `name` example of deploy/config.example.toml's [devices.fan], loaded."""
    import tomllib

    text = (REPO / "deploy/config.example.toml").read_text()
    block = text.split(f"# --- {name} example ---\n", 1)[1].split(f"# --- end of {name} example ---", 1)[0]
    uncommented = "\n".join(re.sub(r"^# ?", "", line) for line in block.splitlines())
    document = tomllib.loads("[devices.fan]\n" + uncommented)
    return parse_config(Table(document, "config.example.toml"), REPO)


def test_the_ir_example_in_config_example_parses() -> None:
    loaded = example("ir")
    built = build_fan(loaded.devices, fan=loaded.fan)
    assert isinstance(built, ButtonFan)
    assert isinstance(built.presser, IrPresser)
    assert set(built.presser.codes) == {"1", "2", "off"}


def test_the_worked_example_in_config_example_parses() -> None:
    loaded = example("buttons")
    built = build_fan(loaded.devices, fan=loaded.fan)
    assert isinstance(built, ButtonFan)
    assert isinstance(built.presser, GpioPresser)
    assert dict(built.presser.wiring.lines) == {"cycle": 17}
    guide = (REPO / "hardware.md").read_text()
    for key in ("layout", "cycle", "power_up", "press", "settle", "setting_watts", "active_low"):
        assert f"`{key}" in guide, f"hardware.md does not explain {key}"


def test_tolerances_learned_in_calibration_replace_the_default_ones() -> None:
    loaded = config(CYCLE_FAN)
    stderr = (0.01, 0.02, 0.02, 0.05, 0.05, 0.04)
    devices = with_calibration(loaded.devices, loaded.fan, stderr)
    fan = build_fan(devices, fan=loaded.fan)
    assert isinstance(fan, ButtonFan)
    assert fan.signature is not None
    watts = [p.power_w for p in loaded.fan.curve.points]
    assert fan.signature.tolerance_w[1] == pytest.approx(0.15 + 0.06 * watts[0])
    assert fan.signature.tolerance_w[4] == pytest.approx(0.25 + 0.06 * watts[3])
    explicit = config({**CYCLE_FAN, "power_tolerance": "0.5 W"})
    assert with_calibration(explicit.devices, explicit.fan, stderr) == explicit.devices, "the file's word wins"


IR_FAN: dict[str, Any] = {
    "driver": "ir",
    "device": "/dev/lirc0",
    "layout": "per-setting",
    "power_up": "off",
    "codes": {"1": "nec:0x0001", "2": "nec:0x0002", "3": "/var/lib/cleanroom/ir/3.ir", "off": "nec:0x00ff"},
}


def test_an_ir_purifier_builds_the_driver_with_its_codes() -> None:
    loaded = config(IR_FAN)
    assert loaded.control.share_period_s == 1800.0
    fan = build_fan(loaded.devices, fan=loaded.fan)
    assert isinstance(fan, ButtonFan)
    assert isinstance(fan.presser, IrPresser)
    assert fan.presser.codes["3"] == "/var/lib/cleanroom/ir/3.ir"
    assert fan.layout.per_setting == (1, 2, 3)
    assert fan.layout.has_off_button


def test_ir_mistakes_name_the_key() -> None:
    with pytest.raises(ConfigError, match="codes"):
        config({**IR_FAN, "layout": "up-down"})
    with pytest.raises(ConfigError, match=r"codes\.2"):
        config({**IR_FAN, "codes": {"1": "nec:0x1", "2": "  "}})
    with pytest.raises(ConfigError, match=r"devices\.fan\.codes"):
        config({key: value for key, value in IR_FAN.items() if key != "codes"})

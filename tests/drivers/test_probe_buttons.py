"""`cleanroom probe fan --driver buttons`: the probe presses a simulated purifier through the gpiod fake and
reads the fan's power from a VE.Direct shunt fake on a pseudo-terminal whose current follows the purifier."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from controller.cli.probe_buttons import probe_buttons
from controller.config.loader import parse_config
from controller.config.reader import Table
from controller.daemon_settings import DaemonSettings
from controller.devices import build_fan
from drivers.buttons.driver import ButtonFan
from drivers.buttons.plan import OFF, State
from drivers.buttons.pressers import GpioPresser
from drivers.fakes.gpiod_lines import FakeGpioChip, SimulatedPurifier
from drivers.fakes.vedirect import VEDirectFake
from drivers.vedirect.codec import battery_monitor_blocks
from drivers.vedirect.driver import VEDirectShunt

REPO = Path(__file__).resolve().parents[2]
VOLTS = 13.0
BASELINE_W = 0.9
FAN = {
    "driver": "buttons",
    "cycle": ["off", "1", "2", "3", "4", "5", "6"],
    "power_up": "off",
    "settle": "2 s",
    "lines": {"cycle": 17},
}


async def test_the_probe_presses_and_the_power_confirms_the_setting() -> None:
    config = parse_config(
        Table({"devices": {"fan": FAN}, "power_path": {"controller_draw": f"{BASELINE_W} W"}}, "t.toml"), REPO
    )
    curve = config.fan.curve
    built = build_fan(config.devices, fan=config.fan)
    assert isinstance(built, ButtonFan)
    chip = FakeGpioChip("/dev/gpiochip0", clock=time.monotonic)
    purifier = SimulatedPurifier(built.layout, {17: "cycle"}, State(OFF, 1)).attach(chip)
    assert isinstance(built.presser, GpioPresser)
    built.presser._request_lines = chip.request_lines
    purifier.miss_next = 1

    def blocks() -> list[bytes]:
        fan_w = 0.0 if purifier.setting == OFF else curve.points[purifier.setting - 1].power_w
        current = -(fan_w + BASELINE_W) / VOLTS
        return battery_monitor_blocks(voltage_v=VOLTS, current_a=current, soc_pct=90.0, consumed_ah=-5.0)

    fake = VEDirectFake(blocks, interval_s=0.05)
    await fake.start()
    try:
        shunt = VEDirectShunt(fake.port)
        result, problem = await probe_buttons(built, shunt, DaemonSettings.from_config(config, None), 50.0, wait_s=30)
    finally:
        await fake.close()
    assert problem is None, result
    assert result["target_setting"] == "3"
    assert result["power_says"] == "3"
    assert result["presses"] == 4, "three presses and one more for the missed one"
    assert result["corrections"] == 1
    assert abs(float(result["fan_power_w"]) - curve.points[2].power_w) < 0.2
    assert purifier.setting == 3


def test_the_cli_needs_a_configuration_and_reports_a_missing_chip(tmp_path: Path) -> None:
    bare = subprocess.run(
        [sys.executable, "-m", "controller", "probe", "fan", "--driver", "buttons", "--set", "50"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bare.returncode == 2
    assert "--config" in bare.stderr
    config = tmp_path / "cleanroom.toml"
    config.write_text(
        '[devices.shunt]\ndriver = "vedirect"\nport = "/dev/cleanroom-no-such-shunt"\n'
        '[devices.fan]\ndriver = "buttons"\nchip = "gpiochip99"\ncycle = ["off", "1", "2", "3", "4", "5", "6"]\n'
        "[devices.fan.lines]\ncycle = 17\n"
    )
    missing = subprocess.run(
        [sys.executable, "-m", "controller", "probe", "fan", "--config", str(config), "--set", "50", "--timeout", "2s"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert missing.returncode == 1, missing.stderr
    assert "/dev/gpiochip99" in missing.stdout

"""Every configuration error path names the file, the key, the value and what was expected."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from controller.cli import main
from controller.config.loader import load_config
from controller.errors import ConfigError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "config.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cleanroom.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_is_valid_and_resolves_defaults() -> None:
    config = load_config(EXAMPLE)
    assert config.battery.energy_wh == pytest.approx(1280.0)
    assert config.power_path.store_energy_wh == pytest.approx(1280.0)
    assert config.fan.curve.points[1].flow_cfm == 141
    assert config.control.pressure_cap_pa == 25.0


def test_empty_file_gives_every_default(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    assert config.controller.controller_id == "cleanroom"
    assert config.control.mode.value == "auto"
    assert config.control.deadline_in_s is None


def test_quantities_with_units_resolve(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "fan-airfanta-3pro-12vdc.csv", tmp_path / "fan.csv")
    config = load_config(
        write(
            tmp_path,
            """
[battery]
capacity = "200 Ah"
nominal_voltage = "25.6 V"
[power_path]
preset = "station-dc"
controller_draw = "0.6 W"
converter_efficiency = "85 %"
[fan]
curve = "fan.csv"
[control]
deadline = "5 days"
pressure_floor = "0.01 inWC"
""",
        )
    )
    assert config.battery.energy_wh == pytest.approx(5120.0)
    assert (config.battery.charged_v, config.battery.cutoff_v) == (28.0, 20.0)  # scaled to a 8-cell pack
    assert config.power_path.store_energy_wh == pytest.approx(1056.0)
    assert config.power_path.standing_total_w == pytest.approx(2.5 + 0.6 / 0.85)
    assert config.control.deadline_in_s == pytest.approx(5 * 86400)
    assert config.control.pressure_floor_pa == pytest.approx(2.49, abs=0.01)


def test_inline_fan_points(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            """
[fan]
points = [
  { setting = "30%", power = "1.5 W", flow = "60 CFM" },
  { setting = "100%", power = "12 W", flow = "200 CFM" },
]
""",
        )
    )
    assert config.fan.curve.continuous
    assert config.fan.curve.flow_cfm(65.0) == pytest.approx(130.0)


def test_deadline_as_a_time(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[control]\ndeadline = "2026-12-01T18:00:00+01:00"\n'))
    assert config.control.deadline_utc is not None
    assert config.control.deadline_utc.isoformat() == "2026-12-01T17:00:00+00:00"


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ('[battery]\ncapacity = "100 V"', r"battery\.capacity = '100 V': expected a charge such as \"100 Ah\", not V"),
        ('[battery]\ncapacity = "0.1 Ah"', r"battery\.capacity = '0.1 Ah': expected between 1 Ah and 10,000 Ah"),
        ("[battery]\ncapacity = 100", r"battery\.capacity = 100: expected a charge with a unit"),
        ('[battery]\ncapacty = "100 Ah"', r"battery\.capacty = '100 Ah': expected a known key of this table"),
        ('[battery]\ncutoff_voltage = "13 V"', r"battery\.cutoff_voltage = '13 V': expected below nominal_voltage"),
        ('[battery]\nreserve = "95 %"', r"battery\.reserve = '95 %': expected between 0 % and 90 %"),
        ('[power_path]\npreset = "solar"', r"power_path\.preset = 'solar': expected one of diy-12v, station-dc"),
        ('[power_path]\nefficiencies = ["93"]', r"power_path\.efficiencies\[0\]\.value = '93'"),
        ('[power_path]\nefficiencies = "93 %"', r"power_path\.efficiencies = '93 %': expected an array"),
        ('[power_path]\ncontroller_draw = "0.9 Wh"', r"power_path\.controller_draw = '0.9 Wh': expected a power"),
        ('[fan]\ncurve = "missing.csv"', r"fan\.curve = 'missing.csv': expected a CSV file"),
        ('[fan]\nkind = "pwm"', r"fan\.kind = 'pwm': expected one of auto, discrete, continuous"),
        (
            '[fan]\npoints = [ { setting = "1", power = "2 W" } ]',
            r"fan\.points\[0\]\.flow = \(missing\): expected a flow",
        ),
        ("[fan]\npoints = [ 3 ]", r"fan\.points\[0\] = 3: expected \{ setting"),
        ('[fan]\npoints = [ { setting = "1", power = "0 W", flow = "5 CFM" } ]', r"fan\.points\[0\]\.power = '0 W'"),
        ('[fan]\nsafe_speed = "0 %"', r"fan\.safe_speed = '0 %': expected between 1 % and 100 %"),
        ("[room]\nleakage_n = 2", r"room\.leakage_n = 2: expected between 0.4 and 1"),
        ('[room]\nleakage_c = "20 Pa"', r"room\.leakage_c = '20 Pa': expected a flow"),
        ('[control]\nmode = "turbo"', r"control\.mode = 'turbo': expected one of manual, pressure, runtime, auto, eco"),
        ('[control]\ndeadline = "soon"', r"control\.deadline = 'soon': expected a duration"),
        (
            '[control]\ndeadline = "2026-12-01T18:00:00"',
            r"control\.deadline = '2026-12-01T18:00:00': expected a duration",
        ),
        (
            '[control]\npressure_floor = "30 Pa"',
            r"control\.pressure_floor = '30 Pa': expected below pressure_cap \(25 Pa\)",
        ),
        (
            '[control]\npressure_setpoint = "2 Pa"',
            r"control\.pressure_setpoint = '2 Pa': expected between pressure_floor",
        ),
        ('[control]\npriority = "fan"', r"control\.priority = 'fan': expected one of pressure, runtime"),
        ("[control]\nshutdown_command = [1]", r"control\.shutdown_command = \[1\]: expected an argument list"),
        ('[control]\nsoc_points = ["120 %"]', r"control\.soc_points\[0\]\.value = '120 %'"),
        ('[controller]\nid = "a/b"', r"controller\.id = 'a/b': expected a name without spaces"),
        ('[controller]\ntick = "0 s"', r"controller\.tick = '0 s': expected between 0.1 s and 1 min"),
        ("[controller]\nid = 5", r"controller\.id = 5: expected a text in quotes"),
        ("[nonsense]\nx = 1", r"nonsense = \{'x': 1\}: expected a known key"),
        ("battery = 5", r"battery = 5: expected a table"),
        ("[battery\n", r"\(syntax\) = .*expected valid TOML"),
    ],
)
def test_config_errors(tmp_path: Path, text: str, pattern: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=pattern) as caught:
        load_config(path)
    assert str(caught.value).startswith(str(path))


@pytest.mark.parametrize(
    ("csv_text", "pattern"),
    [
        ("speed,watts,cfm\n1,2,3\n", r"header = 'speed,watts,cfm': expected the columns setting,watts,cfm"),
        ("setting,watts,cfm\n1,2\n", r"row 1 = '1,2': expected three values"),
        ("setting,watts,cfm\n1,two,3\n", r"row 1\.watts = 'two': expected a number of watts"),
        ("setting,watts,cfm\n1,2,nan\n", r"row 1\.cfm = 'nan': expected a number of CFM"),
        ("setting,watts,cfm\n1,-2,3\n", r"row 1\.watts = -2.0: expected a power above 0 W"),
        ("setting,watts,cfm\n", r"points = '\(none\)': expected at least one row"),
        ("setting,watts,cfm\n1,2,3\n1,4,5\n", r"setting = \['1', '1'\]: expected each setting only once"),
        (
            "setting,watts,cfm\n20%,2,30\n40%,1,60\n",
            r"setting 40% = '1 W, 60 CFM': expected at least the flow and power",
        ),
        ("setting,watts,cfm\n150%,2,30\n", r"row 1\.setting = '150%': expected a duty cycle above 0% and at most 100%"),
    ],
)
def test_fan_csv_errors(tmp_path: Path, csv_text: str, pattern: str) -> None:
    (tmp_path / "fan.csv").write_text("# a comment\n" + csv_text, encoding="utf-8")
    with pytest.raises(ConfigError, match=pattern):
        load_config(write(tmp_path, '[fan]\ncurve = "fan.csv"\n'))


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\(file\) = .*expected an existing TOML file"):
        load_config(tmp_path / "nope.toml")


def test_check_config_prints_resolved_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "valid" in out
    assert "capacity_ah = 100 Ah" in out
    assert "setting 2, command 33.33 %, power 4.12 W, flow 141 CFM" in out
    assert "pressure_cap_pa = 25 Pa" in out


def test_check_config_exits_2_with_the_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, '[battery]\ncapacity = "lots"\n')
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: battery.capacity = 'lots': expected a charge" in err

"""`cleanroom plan` as a user runs it: the installed console script, its table and its JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from controller.cli import main

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "fan-airfanta-3pro-12vdc.csv"
CLEANROOM = Path(sys.executable).with_name("cleanroom")


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["plan", "--json", *args]) == 0
    data = json.loads(capsys.readouterr().out)
    assert isinstance(data, dict)
    return data


def test_console_script_prints_table_and_plan() -> None:
    done = subprocess.run(
        [str(CLEANROOM), "plan", "--fan", str(FIXTURE), "--target", "7 days", "--reserve", "0 %"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    out = done.stdout
    assert "setting    fan W     CFM   CFM/W   draw W  runtime h   days  hull" in out
    assert "310.7" in out
    assert "setting 2 for 37.7 % of the time (63.4 h), then setting 3 for 62.3 % of the time (104.6 h)" in out
    assert "average 207.0 CFM" in out
    assert "best single setting that lasts: 2 (141 CFM)" in out


def test_json_object_has_the_documented_shape(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(
        capsys, "--fan", str(FIXTURE), "--target", "7 days", "--controller-draw", "0.6 W", "--reserve", "0 %"
    )
    assert data["source_wh"] == 1280.0
    settings = data["settings"]
    assert isinstance(settings, list)
    assert len(settings) == 6
    assert set(settings[0]) >= {"setting", "fan_w", "cfm", "cfm_per_w", "source_w", "runtime_h", "on_hull"}
    assert [row["on_hull"] for row in settings] == [True, True, True, True, False, True]
    assert settings[1]["source_w"] == pytest.approx(4.72)
    target = data["target"]
    assert isinstance(target, dict)
    assert set(target) >= {"hours", "budget_w", "schedule", "average_cfm", "clean_air_ft3", "best_fixed"}
    assert target["hours"] == 168
    assert target["budget_w"] == pytest.approx(7.619, abs=0.001)
    assert [s["setting"] for s in target["schedule"]] == ["2", "3"]
    assert sum(s["share"] for s in target["schedule"]) == pytest.approx(1.0)
    assert target["average_cfm"] == pytest.approx(195.7, abs=0.05)
    assert target["best_fixed"] == {"setting": "2", "cfm": 141.0}


def test_target_is_null_without_target(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys)
    assert data["target"] is None
    assert data["hull"] == ["1", "2", "3", "4", "6"]


def test_allow_off_and_battery_in_amp_hours(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(
        capsys, "--battery", "90 Ah", "--controller-draw", "3 W", "--target", "168 h", "--allow-off", "--reserve", "0 %"
    )
    assert data["source_wh"] == pytest.approx(1152.0)
    assert data["hull"] == ["off", "2", "3", "4", "6"]
    target = data["target"]
    assert isinstance(target, dict)
    assert [s["setting"] for s in target["schedule"]] == ["off", "2"]
    assert target["average_cfm"] == pytest.approx(132.0, abs=0.05)


def test_station_preset_uses_its_own_energy(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "--path", "station-ac")
    assert data["source_wh"] == 1056.0
    settings = data["settings"]
    assert isinstance(settings, list)
    assert settings[0]["source_w"] == pytest.approx(1.93 / 0.86 / 0.86 + 9.5, abs=1e-3)


def test_impossible_target_is_said_first_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    """50 Wh less the 10 % reserve is 45 Wh: setting 1 (1.93 W) lasts 23.3 h, short of 7 days."""
    assert main(["plan", "--battery", "50 Wh", "--target", "7 days"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0] == (
        "The target cannot be met: 168 h (7.0 days) asked, the lowest allowed setting lasts only 23.3 h on 45 Wh; "
        "try a bigger battery, a lower --reserve, --allow-off or a shorter target"
    )
    assert "best schedule" not in out
    assert "the longest run: setting 1 all the time, 23.3 h" in out
    assert main(["plan", "--battery", "50 Wh", "--target", "7 days", "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("cleanroom plan: the target cannot be met: 168 h (7.0 days) asked")
    assert json.loads(captured.out)["target"]["feasible"] is False
    assert main(["plan", "--battery", "50 Wh", "--target", "7 days", "--allow-off"]) == 0


def test_the_reserve_run_and_sim_keep_is_planned_and_said(capsys: pytest.CaptureFixture[str]) -> None:
    """The defaults are those of the daemon: [battery] reserve's 10 % of 1280 Wh stays unspent."""
    assert main(["plan", "--target", "7 days"]) == 0
    out = capsys.readouterr().out
    assert "Planned on 1152 Wh: the 10 % reserve stays unspent (as run and sim keep it; --reserve changes it)" in out
    data = run_json(capsys, "--target", "7 days")
    assert (data["source_wh"], data["reserve_pct"], data["usable_wh"]) == (1280.0, 10.0, 1152.0)
    setting2 = next(row for row in data["settings"] if row["setting"] == "2")  # type: ignore[attr-defined]
    assert setting2["runtime_h"] == pytest.approx(1152.0 / 4.12, abs=1e-3)
    assert run_json(capsys, "--reserve", "25 %")["usable_wh"] == 960.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--battery", "12 V"], "command line: --battery = '12 V': expected an energy such as \"1280 Wh\""),
        (["--target", "soon"], "command line: --target = 'soon': expected a duration"),
        (["--target", "0 h"], "command line: --target = '0 h': expected a duration such as"),
        (["--controller-draw", "-1 W"], "command line: --controller-draw = '-1 W': expected a power"),
        (["--reserve", "95 %"], "command line: --reserve = '95 %': expected a fraction such as"),
        (["--fan", "/nonexistent.csv"], "/nonexistent.csv: (file) = '/nonexistent.csv': expected a readable CSV file"),
    ],
)
def test_bad_flags_exit_2_with_a_clear_message(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["plan", *args]) == 2
    assert message in capsys.readouterr().err


def test_help_teaches(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["plan", "--help"])
    out = capsys.readouterr().out
    assert "--allow-off" in out
    assert "examples:" in out
    assert "setting,watts,cfm" in out


def test_a_tight_room_says_how_much_the_cap_leaves_unspent(capsys: pytest.CaptureFixture[str]) -> None:
    """C = 10 CFM at 1 Pa: 25 Pa needs only 81 CFM, so setting 1 (57 CFM) is the most the cap allows and a
    two-day plan on the 1152 Wh above the reserve spends 48 h x 1.93 W = 93 Wh of it."""
    data = run_json(capsys, "--target", "2 days", "--room-leakage", "10 CFM", "--pressure-cap", "25 Pa")
    assert data["tight_room"] == (
        "the 25 Pa cap limits airflow to 57 CFM; about 1060 Wh will be left at the deadline; raise "
        "`pressure_cap` or open a relief gap"
    )
    assert main(["plan", "--target", "2 days", "--room-leakage", "200 CFM"]) == 0
    assert "Tight room" not in capsys.readouterr().out
    assert "tight_room" not in run_json(capsys, "--target", "2 days")

"""`cleanroom sim` as a user runs it: the summary, the progress line, bad flags."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from controller.cli import main

CLEANROOM = Path(sys.executable).with_name("cleanroom")


def test_accelerated_json_summary_and_progress(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            str(CLEANROOM),
            "sim",
            "--accelerated",
            "--duration",
            "12 h",
            "--deadline",
            "12 h",
            "--battery",
            "200 Wh",
            "--reserve",
            "10 %",
            "--confidence",
            "95 %",
            "--controller-draw",
            "0.9 W",
            "--min-pressure",
            "5 Pa",
            "--mode",
            "auto",
            "--json",
            "--state-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    summary = json.loads(done.stdout)
    for key in (
        "hours",
        "deadline_met",
        "average_cfm",
        "clean_air_ft3",
        "below_floor_pct",
        "end_soc_pct",
        "bound_cfm",
        "best_fixed_cfm",
    ):
        assert key in summary
    assert summary["hours"] == 12.0
    assert summary["deadline_met"] is True
    assert summary["controller_draw_w"] == 0.9
    assert summary["average_cfm"] == pytest.approx(summary["bound_cfm"], rel=0.02)
    progress = [line for line in done.stderr.splitlines() if line.startswith("sim ")]
    assert len(progress) >= 2
    assert "SoC" in progress[-1]
    assert "CFM" in progress[-1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--battery", "lots"], "command line: --battery = 'lots': expected an energy"),
        (["--reserve", "95 %"], "command line: --reserve = '95 %': expected a fraction"),
        (["--confidence", "30 %"], "command line: --confidence = '30 %': expected a fraction"),
        (["--deadline", "soon"], "command line: --deadline = 'soon': expected a duration"),
        (["--min-pressure", "40 Pa"], "command line: --min-pressure = '40 Pa': expected a pressure"),
        (["--speed", "fast"], "command line: --speed = 'fast': expected a number"),
        (["--scenario", "earthquake"], "--scenario: scenario = 'earthquake': expected a preset"),
        (["--scenario", "capacity=lots"], "--scenario: capacity = 'lots': expected a percentage of the configured"),
        (["--scenario", "at=1h:deadline=soon"], "--scenario at=1h: deadline = 'soon': expected an ISO 8601 time"),
        (["--scenario", "grid=2h"], "--scenario: grid = '2h': expected an interval START+LENGTH"),
        (["--http", "localhost:http"], "command line: --http = 'localhost:http'"),
    ],
)
def test_bad_flags_are_named(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    timing = [] if "--speed" in args else ["--accelerated"]
    assert main(["sim", *timing, "--duration", "1 h", "--http", "none", "--db", "none", "--mqtt", "none", *args]) == 2
    assert message in capsys.readouterr().err


def test_help_lists_the_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sim", "--help"])
    out = capsys.readouterr().out
    for flag in (
        "--fan",
        "--battery",
        "--reserve",
        "--confidence",
        "--controller-draw",
        "--mode",
        "--deadline",
        "--min-pressure",
        "--duration",
        "--speed",
        "--accelerated",
        "--json",
        "--scenario",
        "--db",
        "--mqtt",
        "--http",
        "--id",
    ):
        assert flag in out
    for item in ("capacity=80%", "soc-offset=+20%", "no-soc", "current-offset=0.05 A", "self-discharge=3%/month"):
        assert item in out
    for item in ("grid=START+LENGTH", "at=TIME:COMMAND=VALUE", "deadline_miss_h", "ratio_to_true_bound"):
        assert item in out


def test_a_deadline_moved_later_lengthens_the_run_and_is_judged(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["sim", "--accelerated", "--quiet", "--json", "--deadline", "2 h", "--battery", "200 Wh"]
    args += ["--reserve", "0 %", "--http", "none", "--db", "none", "--mqtt", "none"]
    assert main([*args, "--scenario", "capacity=50%, self-discharge=0%/month, at=1h:deadline=3 h"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["hours"] == 4.0
    assert summary["deadline_h"] == 4.0
    assert summary["deadline_met"] is True
    assert summary["deadline_miss_h"] == 0.0
    assert summary["true_energy_wh"] == pytest.approx(100.0, rel=2e-3)
    assert summary["true_budget_wh"] == pytest.approx(summary["true_energy_wh"])
    assert summary["commands"][0].startswith("at 1 h 0 min: deadline=3 h: accepted")


def test_confidence_reaches_the_battery_settings() -> None:
    from controller.cli import build_parser
    from controller.cli.sim import sim_config

    args = build_parser().parse_args(["sim", "--accelerated", "--confidence", "97.5 %", "--reserve", "0 %"])
    battery = sim_config(args).battery
    assert (battery.confidence_pct, battery.reserve_pct) == (97.5, 0.0)
    assert sim_config(build_parser().parse_args(["sim"])).battery.confidence_pct == 90.0

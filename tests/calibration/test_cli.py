"""`cleanroom calibrate` end to end on the simulated plant: the JSON, the file, the configuration that uses
it, the refusals and aborts with their exit codes, and Ctrl-C / SIGTERM then --resume in a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from controller.cli import main
from controller.config.loader import load_config

SIM = ["calibrate", "--sim", "--quiet", "--sim-standing-draw", "0.9 W"]


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["calibrate", "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--sim-room-c", "--sim-room-n", "--json", "--resume", "--min-soc", "--force", "--target-pressure"):
        assert flag in text
    assert "[calibration]" in text


def test_json_shape_and_the_file_that_run_uses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "calibration.json"
    status = main([*SIM, "--sim-room-c", "30 CFM", "--sim-room-n", "0.6", "--json", "--output", str(output)])
    assert status == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) >= {"fan", "room", "baseline_w"}
    assert {"command", "power_w", "pressure_pa"} <= set(result["fan"][0])
    assert [round(f["command"], 2) for f in result["fan"]] == [16.67, 33.33, 50.0, 66.67, 83.33, 100.0]
    assert result["room"]["c"] == pytest.approx(30.0, rel=0.03)
    assert result["room"]["n"] == pytest.approx(0.6, rel=0.02)
    assert result["baseline_w"] == pytest.approx(0.9, rel=0.02)
    assert result["fan"][1]["power_w"] == pytest.approx(4.12, rel=0.03)
    report = result["report"]
    assert report["target_pressure_pa"] == 5.0
    best = report["holds_target_longest"]
    assert best["setting"] == "2"  # 57 CFM gives ~3 Pa in this room, 141 CFM ~13 Pa
    assert best["runtime_full_h"] == pytest.approx(1152.0 / (4.12 + 0.9), rel=0.03)
    assert [row["holds_target"] for row in report["settings"]] == [False, True, True, True, True, True]
    assert not (tmp_path / "calibration.partial.json").exists()

    config_file = tmp_path / "config.toml"
    config_file.write_text('[calibration]\nfile = "calibration.json"\n')
    config = load_config(config_file)
    assert config.room.leakage_c_cfm == pytest.approx(result["room"]["c"])
    assert config.room.leakage_n == pytest.approx(result["room"]["n"])
    assert config.power_path.controller_draw_w == pytest.approx(result["baseline_w"])
    assert [p.power_w for p in config.fan.curve.points] == pytest.approx([f["fan_w"] for f in result["fan"]], abs=1e-4)
    assert config.fan.curve_source.startswith(str(output))
    assert config.calibration.file == str(output)

    assert main(["check-config", str(config_file)]) == 0
    shown = capsys.readouterr().out
    assert "[calibration]" in shown
    assert f"curve_source = {output}" in shown
    assert f"leakage_c_cfm = {config.room.leakage_c_cfm:g} CFM" in shown


def test_human_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main([*SIM, "--sim-room-c", "60 CFM", "--sim-room-n", "0.7", "--output", str(tmp_path / "c.json")])
    assert status == 0
    text = capsys.readouterr().out
    assert "Baseline (fan off): 0.900 W" in text
    assert "Room leakage: Q = " in text
    assert "Holding 5 Pa needs" in text
    assert "setting 3 (9.74 W at the fan" in text  # 141 CFM gives ~3.4 Pa in this room, 247 CFM ~7.6 Pa
    assert 'file = "' in text


def test_unreachable_target_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        [*SIM, "--sim-room-c", "60 CFM", "--sim-room-n", "0.7", "--target-pressure", "40 Pa", "--json",
         "--output", str(tmp_path / "c.json")]
    )  # fmt: skip
    assert status == 0
    result = json.loads(capsys.readouterr().out)
    assert result["report"]["holds_target_longest"] is None


def test_low_battery_refusal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main([*SIM, "--sim-soc", "20 %", "--output", str(tmp_path / "c.json")])
    assert status == 2
    err = capsys.readouterr().err
    assert "battery is at 20 % state of charge, below --min-soc 30 %" in err
    assert main([*SIM, "--sim-soc", "20 %", "--min-soc", "10 %", "--output", str(tmp_path / "c.json")]) == 0


def test_dropout_aborts_then_resume_finishes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "c.json"
    partial = tmp_path / "c.partial.json"
    status = main([*SIM, "--sim-scenario", "pressure-dropout=40min+10min", "--output", str(output)])
    assert status == 3
    err = capsys.readouterr().err
    assert "calibration aborted: the pressure sensor's newest reading is" in err
    assert "the fan is at the safe speed (50 %)" in err
    assert str(partial) in err
    assert not output.exists()
    saved = json.loads(partial.read_text())
    assert saved["complete"] is False
    done = len(saved["steps"])
    assert 0 < done < 6

    status = main(["calibrate", "--sim", "--sim-standing-draw", "0.9 W", "--resume", "--json", "--output", str(output)])
    assert status == 0
    captured = capsys.readouterr()
    assert f"resuming {partial}: {done} of 6 steps measured" in captured.err
    assert f"step {done + 1} of 6" in captured.err
    assert "step 1 of 6" not in captured.err
    result = json.loads(captured.out)
    assert [f["pressure_pa"] for f in result["fan"][:done]] == [s["pressure_pa"] for s in saved["steps"]]
    assert not partial.exists()


def test_bad_flags_name_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*SIM, "--sim-room-c", "thirty", "--output", str(tmp_path / "c.json")]) == 2
    assert "--sim-room-c = 'thirty': expected a flow" in capsys.readouterr().err
    assert main([*SIM, "--steps", "4", "--output", str(tmp_path / "c.json")]) == 2
    assert "no --steps for a discrete fan" in capsys.readouterr().err
    assert main([*SIM, "--resume", "--output", str(tmp_path / "c.json")]) == 2
    assert "an existing calibration file" in capsys.readouterr().err
    assert main(["calibrate", "--quiet"]) == 2
    assert "--config = (missing)" in capsys.readouterr().err
    assert main([*SIM, "--sim-scenario", "at=1h:mode=eco", "--output", str(tmp_path / "c.json")]) == 2
    assert "expected no at=TIME:COMMAND items (only `cleanroom sim` sends commands)" in capsys.readouterr().err


def test_real_path_rejects_simulated_roles(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[devices]\n")
    assert main(["calibrate", "--quiet", "--config", str(config)]) == 2
    assert '"simulated" devices are provided by `cleanroom sim`' in capsys.readouterr().err


def test_partial_calibration_is_not_used_by_the_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main([*SIM, "--sim-scenario", "shunt-dropout=30min+10min", "--output", str(tmp_path / "c.json")])
    capsys.readouterr()
    config = tmp_path / "config.toml"
    config.write_text('[calibration]\nfile = "c.partial.json"\n')
    assert main(["check-config", str(config)]) == 2
    assert "a complete calibration" in capsys.readouterr().err
    config.write_text('[calibration]\nfile = "nothing.json"\n')
    assert main(["check-config", str(config)]) == 2
    assert "calibration.file = 'nothing.json'" in capsys.readouterr().err


def _start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "controller", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )


def _wait_for_line(process: subprocess.Popen[str], needle: str, timeout_s: float = 60.0) -> list[str]:
    assert process.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line)
        if needle in line:
            return lines
    raise AssertionError(f"never saw {needle!r}; stderr so far: {''.join(lines)}")


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_leaves_the_fan_safe_and_resume_completes(tmp_path: Path, sig: signal.Signals, status: int) -> None:
    """The signal lands while step 2 is being measured. A pressure dropout aborts a first, unpaced (and so
    deterministic) run during step 2, which saves the baseline and step 1; the resumed run measures step 2
    at twice real time, which takes minutes, so the signal sent on its first progress line arrives within
    step 2 however long the machine takes to schedule the test (at --sim-speed 400 a loaded machine could
    let the child finish every step before the signal was sent)."""
    output = tmp_path / "c.json"
    aborted = subprocess.run(
        [sys.executable, "-m", "controller", *SIM, "--sim-scenario", "pressure-dropout=28min+30min",
         "--output", str(output)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert aborted.returncode == 3, aborted.stderr
    process = _start(
        ["calibrate", "--sim", "--resume", "--sim-speed", "2", "--sim-standing-draw", "0.9 W", "--output", str(output)],
        tmp_path,
    )
    try:
        _wait_for_line(process, "step 2 of 6: setting 2 (33.33 %): settling")
        process.send_signal(sig)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == status
    assert "interrupted; the fan is at the safe speed (50 %)" in err
    partial = tmp_path / "c.partial.json"
    saved = json.loads(partial.read_text())
    assert len(saved["steps"]) == 1
    assert saved["baseline_w"] == pytest.approx(0.9, rel=0.02)

    done = subprocess.run(
        [sys.executable, "-m", "controller", "calibrate", "--sim", "--quiet", "--sim-standing-draw", "0.9 W",
         "--resume", "--json", "--output", str(output)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["fan"][0]["pressure_pa"] == saved["steps"][0]["pressure_pa"]
    assert len(result["fan"]) == 6


def test_failed_fit_keeps_every_step_and_resume_refits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "c.json"
    assert main([*SIM, "--min-fit-pressure", "500 Pa", "--output", str(output)]) == 3
    err = capsys.readouterr().err
    assert "cannot fit the room's leakage: 0 step(s) reached 500 Pa" in err
    saved = json.loads((tmp_path / "c.partial.json").read_text())
    assert len(saved["steps"]) == 6
    assert saved["room"] is None
    status = main(["calibrate", "--sim", "--resume", "--min-fit-pressure", "2 Pa", "--json", "--output", str(output)])
    assert status == 0
    captured = capsys.readouterr()
    assert "resuming" in captured.err
    assert "step " not in captured.err  # nothing left to measure: only the fit
    assert json.loads(captured.out)["room"]["steps_used"] >= 2

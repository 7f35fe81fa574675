"""`cleanroom sim --fan-driver buttons`: the real buttons driver presses a simulated purifier through the
gpiod fake, verified by the simulated shunt; `missed-press=5%` in the scenario grammar."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from controller.errors import ConfigError
from controller.sim.scenario import parse_scenario

CLEANROOM = Path(sys.executable).with_name("cleanroom")


def test_missed_press_is_a_scenario_item() -> None:
    scenario = parse_scenario("outage, missed-press=5%", 86400.0)
    assert scenario.missed_press == pytest.approx(0.05)
    assert parse_scenario("outage", 86400.0).missed_press == 0.0
    for bad in ("missed-press=5", "missed-press=150%", "missed-press=lots%"):
        with pytest.raises(ConfigError, match="missed-press"):
            parse_scenario(bad, 86400.0)


def test_sim_with_pressed_buttons_reports_presses_and_corrections(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            str(CLEANROOM),
            "sim",
            "--accelerated",
            "--fan-driver",
            "buttons",
            "--scenario",
            "outage, missed-press=10%",
            "--duration",
            "12 h",
            "--json",
            "--quiet",
            "--state-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    summary = json.loads(done.stdout)
    assert summary["fan_presses"] > 0
    assert summary["fan_missed_presses"] > 0
    # several misses in one press sequence land it off by several settings: one correction repairs them
    assert 0 < summary["fan_corrections"] <= summary["fan_missed_presses"]
    assert summary["fan_state"] == "ok"
    assert summary["ratio_to_bound"] > 0.97
    assert summary["fan_presses_per_day"] == pytest.approx(summary["fan_presses"] * 2, abs=0.1)


def test_sim_help_teaches_the_fan_driver() -> None:
    done = subprocess.run([str(CLEANROOM), "sim", "--help"], capture_output=True, text=True, timeout=60, check=True)
    assert "--fan-driver" in done.stdout
    assert "missed-press=5%" in done.stdout


def test_sim_with_an_ir_remote(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(CLEANROOM), "sim", "--accelerated", "--fan-driver", "ir", "--scenario", "outage, missed-press=5%",
         "--duration", "6 h", "--json", "--quiet", "--state-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    summary = json.loads(done.stdout)
    assert summary["fan_presses"] > 0
    assert summary["fan_state"] == "ok"
    assert summary["ratio_to_bound"] > 0.97

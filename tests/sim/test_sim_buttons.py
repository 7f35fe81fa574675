"""`cleanroom sim --fan-driver buttons`: the real buttons driver presses a simulated purifier through the
gpiod fake, verified by the simulated shunt; `missed-press=5%` in the scenario grammar."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from controller.config.loader import parse_config
from controller.config.reader import Table
from controller.errors import ConfigError
from controller.sim.plant import PlantState
from controller.sim.rig import SimRoom
from controller.sim.run import Simulation
from controller.sim.scenario import parse_scenario
from controller.snapshot import AlertKind

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


async def test_a_shunt_dropout_makes_the_pressed_fan_unverified_and_says_so() -> None:
    config = parse_config(Table({"controller": {"tick": "10 s"}, "control": {"deadline": "7 days"}}, "t"), Path.cwd())
    simulation = Simulation(
        config=config,
        room=SimRoom(39.0, 0.65, 1.0),
        scenario=parse_scenario("outage, shunt-dropout=1h+20min", 3 * 3600.0),
        duration_s=3 * 3600.0,
        speed=None,
        fan_driver="buttons",
    )
    seen: list[tuple[float, bool]] = []

    def observe(state: PlantState) -> None:
        daemon = simulation.daemon
        if daemon is not None and daemon.hub.latest is not None:
            kinds = {alert.kind for alert in daemon.hub.latest.alerts}
            seen.append((state.t_s, AlertKind.FAN_UNVERIFIED in kinds))

    await simulation.run(observe=observe)
    during = [active for t, active in seen if 3600.0 + 120.0 <= t < 3600.0 + 1200.0]
    before = [active for t, active in seen if 600.0 <= t < 3600.0]
    after = [active for t, active in seen if t >= 3600.0 + 1200.0 + 300.0]
    assert during
    assert all(during), "no fresh shunt: the fan's presses are unverified"
    assert before
    assert not any(before)
    assert after
    assert not any(after), "the alert clears once the shunt answers again"

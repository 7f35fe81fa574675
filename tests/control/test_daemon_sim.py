"""The daemon end to end on the simulated plant: modes, scenarios, fail-safes, commands, persistence."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from controller.clock import Clock
from controller.commands import parse_command
from controller.snapshot import AlertKind, EventKind, Mode
from drivers.base import DriverStats, FanReading, PressureReading, ShuntReading
from tests.control.sim_helpers import config, simulation, with_energy

DAY_S = 86400.0


def kinds(events: list, kind: EventKind) -> list:  # type: ignore[type-arg]
    return [e for e in events if e.kind is kind]


def raised(events: list, alert: AlertKind) -> list:  # type: ignore[type-arg]
    return [e for e in events if e.kind is EventKind.ALERT_RAISED and e.alert_kind is alert]


async def test_auto_two_day_outage_meets_the_deadline_near_the_bound() -> None:
    cfg = config({"control": {"deadline": "2 days"}, "battery": {"reserve": "10 %"}})
    sim = simulation(with_energy(cfg, 400.0), duration_s=2 * DAY_S)
    summary = await sim.run()
    assert summary.deadline_met is True
    assert summary.bound_cfm is not None
    assert summary.average_cfm >= 0.98 * summary.bound_cfm
    assert summary.average_cfm > summary.best_fixed_cfm  # type: ignore[operator]
    assert summary.below_floor_pct is not None
    assert summary.below_floor_pct < 1.0
    assert summary.end_soc_pct == pytest.approx(10.0, abs=1.5)


async def test_runtime_mode_without_floor_spends_to_the_reserve() -> None:
    cfg = config({"control": {"deadline": "1 day", "mode": "runtime"}})
    summary = await simulation(with_energy(cfg, 200.0), duration_s=DAY_S).run()
    assert summary.deadline_met is True
    assert summary.end_soc_pct == pytest.approx(10.0, abs=1.5)


async def test_eco_mode_runs_the_most_efficient_setting() -> None:
    cfg = config({"control": {"mode": "eco"}})
    sim = simulation(cfg, duration_s=3600.0)
    await sim.run()
    assert sim.daemon is not None
    snapshot = sim.daemon.totals.last_snapshot
    assert snapshot is not None
    assert snapshot.fan_setting == "2"
    assert snapshot.pressure_pa is not None
    assert snapshot.pressure_pa > 5.0


PWM_POINTS = [
    {"setting": "20%", "power": "1.0 W", "flow": "40 CFM"},
    {"setting": "50%", "power": "3.0 W", "flow": "100 CFM"},
    {"setting": "80%", "power": "8.0 W", "flow": "160 CFM"},
    {"setting": "100%", "power": "13.0 W", "flow": "200 CFM"},
]


async def test_pressure_mode_holds_the_setpoint_in_a_room_tighter_than_believed() -> None:
    cfg = config(
        {"control": {"mode": "pressure", "pressure_setpoint": "8 Pa"}, "fan": {"points": PWM_POINTS}}, tick="1 s"
    )
    sim = simulation(cfg, duration_s=1800.0, room_c=30.0, wind_pa=0.3)
    await sim.run()
    assert sim.daemon is not None
    snapshot = sim.daemon.totals.last_snapshot
    assert snapshot is not None
    assert snapshot.pressure_pa == pytest.approx(8.0, abs=1.0)


async def test_pressure_mode_with_discrete_settings_never_drops_below_the_floor() -> None:
    cfg = config({"control": {"mode": "pressure", "pressure_setpoint": "8 Pa"}}, tick="1 s")
    sim = simulation(cfg, duration_s=1800.0, room_c=30.0, wind_pa=0.3)
    summary = await sim.run()
    assert summary.below_floor_pct is not None
    assert summary.below_floor_pct < 0.5


async def test_grid_return_is_seen_as_charging() -> None:
    cfg = config({"control": {"deadline": "1 day", "mode": "manual", "manual_speed": "100 %"}})
    sim = simulation(cfg, duration_s=11 * 3600.0, scenario="outage=10h")
    await sim.run()
    assert sim.daemon is not None
    events = sim.daemon.totals.events
    assert raised(events, AlertKind.CHARGING)
    last = sim.daemon.totals.last_snapshot
    assert last is not None
    assert last.charging
    assert last.runtime_plan_s is None
    assert last.runtime_now_s is None
    assert last.deadline_met is True


async def test_fan_stall_raises_an_alert_and_keeps_commanding() -> None:
    cfg = config({"control": {"deadline": "1 day"}})
    sim = simulation(cfg, duration_s=4 * 3600.0, scenario="stall=1h+30min")
    await sim.run()
    assert sim.daemon is not None
    events = sim.daemon.totals.events
    assert len(raised(events, AlertKind.FAN_STALLED)) == 1
    assert [e for e in events if e.kind is EventKind.ALERT_CLEARED and e.alert_kind is AlertKind.FAN_STALLED]


async def test_sensor_dropouts_alert_and_fall_back() -> None:
    # a 60 Pa cap: under the default 25 Pa this room is tight for a 1-day deadline, and the tight_room
    # info alert (issue 15) would rightly stay active at the end
    cfg = config({"control": {"deadline": "1 day", "pressure_cap": "60 Pa"}})
    sim = simulation(cfg, duration_s=4 * 3600.0, scenario="shunt-dropout=1h+20min, pressure-dropout=2h+20min")
    await sim.run()
    assert sim.daemon is not None
    events = sim.daemon.totals.events
    assert len(raised(events, AlertKind.SHUNT_STALE)) == 1
    assert len(raised(events, AlertKind.PRESSURE_SENSOR_STALE)) == 1
    assert sim.daemon.totals.last_snapshot is not None
    assert sim.daemon.totals.last_snapshot.alerts == ()


async def test_nothing_known_runs_the_safe_speed() -> None:
    cfg = config({"control": {"deadline": "1 day"}, "fan": {"safe_speed": "66 %"}})
    sim = simulation(cfg, duration_s=1800.0, scenario="shunt-dropout=0h+2h, pressure-dropout=0h+2h")
    await sim.run()
    assert sim.daemon is not None
    snapshot = sim.daemon.totals.last_snapshot
    assert snapshot is not None
    assert snapshot.energy_usable_wh is None
    assert snapshot.reason == "no plan (energy unknown): safe speed"
    assert snapshot.fan_command_pct == pytest.approx(66.0)


async def test_door_openings_hold_pressure_alarms() -> None:
    cfg = config({"control": {"deadline": "1 day"}}, tick="1 s")
    sim = simulation(cfg, duration_s=2 * 3600.0, scenario="door=1h+1min")
    await sim.run()
    assert sim.daemon is not None
    events = sim.daemon.totals.events
    assert len(kinds(events, EventKind.DOOR_OPEN)) == 1
    assert not raised(events, AlertKind.PRESSURE_LOW)


async def test_low_battery_alerts_once_per_discharge_and_the_bms_ends_the_run() -> None:
    cfg = config({"control": {"mode": "manual", "manual_speed": "100 %"}, "battery": {"reserve": "0 %"}})
    sim = simulation(with_energy(cfg, 60.0), duration_s=6 * 3600.0)
    summary = await sim.run()
    assert sim.daemon is not None
    events = sim.daemon.totals.events
    soc_alerts = raised(events, AlertKind.BATTERY_LOW_SOC)
    assert [a.severity.value for a in soc_alerts] == ["warning", "critical"]
    assert summary.bms_cut_h is not None
    assert summary.bms_cut_h < 2.5


async def test_shutdown_action_runs_once_before_the_bms_cuts(tmp_path: Path) -> None:
    marker = tmp_path / "shutdown.log"
    command = [sys.executable, "-c", f"open({str(marker)!r}, 'a').write('x')"]
    cfg = config(
        {
            "control": {"mode": "manual", "manual_speed": "100 %", "shutdown_soc": "5 %", "shutdown_command": command},
            "battery": {"reserve": "0 %"},
        }
    )
    sim = simulation(with_energy(cfg, 60.0), duration_s=6 * 3600.0)
    await sim.run()
    assert sim.daemon is not None
    assert marker.read_text() == "x"
    actions = kinds(sim.daemon.totals.events, EventKind.SHUTDOWN_ACTION)
    assert len(actions) == 1
    assert "exited with 0" in actions[0].message


async def test_commands_take_effect_and_bad_ones_are_rejected_with_a_reason() -> None:
    cfg = config({"control": {"deadline": "1 day"}}, tick="1 s")
    sim = simulation(cfg, duration_s=3600.0, speed=2000.0)
    task = asyncio.create_task(sim.run())
    for _ in range(3000):
        if sim.daemon is not None and sim.daemon.hub.latest is not None:
            break
        await asyncio.sleep(0.01)
    assert sim.daemon is not None
    bus = sim.daemon.commands
    accepted = await bus.submit(parse_command("mode", "eco"), "test")
    assert accepted.accepted
    speed = await bus.submit(parse_command("speed", "40"), "test")
    assert speed.accepted
    too_high = await bus.submit(parse_command("pressure_setpoint", "30 Pa"), "test")
    assert not too_high.accepted
    assert "expected a pressure from 5 to 25 Pa" in too_high.message
    deadline = await bus.submit(parse_command("deadline", "2 days"), "test")
    assert deadline.accepted
    soc = await bus.submit(parse_command("soc", "80"), "test")
    assert soc.accepted
    await task
    assert sim.daemon.mode is Mode.MANUAL
    events = sim.daemon.totals.events
    assert len(kinds(events, EventKind.COMMAND_REJECTED)) == 1
    assert len(kinds(events, EventKind.MODE_CHANGED)) == 2


async def test_stop_leaves_the_fan_at_the_safe_speed_and_saves_the_battery(tmp_path: Path) -> None:
    state = tmp_path / "battery.json"
    cfg = config({"fan": {"safe_speed": "83 %"}, "control": {"mode": "eco"}})
    sim = simulation(cfg, duration_s=600.0, state_path=state)
    await sim.run()
    assert sim.daemon is not None
    reading = sim.daemon.fan.latest()
    assert reading is not None
    assert reading.command_pct == pytest.approx(83.0)
    saved = json.loads(state.read_text())
    assert saved["soc_pct"] > 99.0


async def test_restart_resumes_unsynchronised_from_the_saved_state(tmp_path: Path) -> None:
    state = tmp_path / "battery.json"
    state.write_text(
        json.dumps({"version": 1, "soc_pct": 61.0, "source": "shunt", "synced_at_utc": "2026-11-20T12:00:00+00:00"})
    )
    cfg = config({"control": {"mode": "eco"}})
    sim = simulation(cfg, duration_s=60.0, state_path=state, scenario="shunt-dropout=0h+1h")
    await sim.run()
    assert sim.daemon is not None
    snapshot = sim.daemon.totals.last_snapshot
    assert snapshot is not None
    assert snapshot.soc_pct == 61.0
    assert snapshot.soc_synced is False
    assert snapshot.soc_sync_age_s == pytest.approx(2 * 86400.0, abs=120.0)


async def test_snapshot_carries_the_fields_the_sinks_use() -> None:
    cfg = config({"control": {"deadline": "1 day"}})
    sim = simulation(cfg, duration_s=600.0)
    await sim.run()
    assert sim.daemon is not None
    snapshot = sim.daemon.totals.last_snapshot
    assert snapshot is not None
    data = snapshot.to_dict()
    for key in (
        "voltage_v",
        "current_a",
        "power_w",
        "soc_pct",
        "pressure_pa",
        "fan_command_pct",
        "flow_cfm",
        "runtime_now_s",
        "runtime_plan_s",
        "mode",
        "alerts",
        "runtime_plan_end_utc",
        "time_to_soc_utc",
    ):
        assert key in data
    assert data["mode"] == "auto"
    assert isinstance(data["runtime_plan_s"], float)
    assert data["deadline_met"] is True
    json.dumps(data)


async def test_auto_priority_pressure_keeps_the_floor_and_says_the_deadline_is_at_risk() -> None:
    cfg = config({"control": {"deadline": "2 days", "priority": "pressure", "pressure_floor": "12 Pa"}})
    sim = simulation(with_energy(cfg, 300.0), duration_s=6 * 3600.0)
    await sim.run()
    assert sim.daemon is not None
    events = sim.daemon.totals.events
    assert raised(events, AlertKind.DEADLINE_AT_RISK)
    last = sim.daemon.totals.last_snapshot
    assert last is not None
    assert last.deadline_met is False
    assert last.fan_setting == "3"


async def test_auto_priority_runtime_reaches_the_deadline_below_the_floor() -> None:
    cfg = config({"control": {"deadline": "12 h", "priority": "runtime", "pressure_floor": "12 Pa"}})
    summary = await simulation(with_energy(cfg, 80.0), duration_s=12 * 3600.0).run()
    assert summary.deadline_met is True
    assert summary.below_floor_pct is not None
    assert summary.below_floor_pct > 50.0


async def test_a_run_stopped_before_the_deadline_is_compared_over_the_time_it_ran() -> None:
    cfg = config({"control": {"deadline": "7 days"}})
    summary = await simulation(cfg, duration_s=3 * 3600.0).run()
    assert summary.deadline_met is True
    assert summary.ratio_to_bound is not None
    assert 0.95 <= summary.ratio_to_bound <= 1.01


class _WholeWattShunt:
    """A shunt whose P field is whole watts, unlike its V and I."""

    stats = DriverStats()

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def latest(self) -> ShuntReading:
        return ShuntReading(self.clock.monotonic(), 13.2, -0.4, power_w=-5.0, soc_pct=80.0)


class _SteadyPressure:
    stats = DriverStats()

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def latest(self) -> PressureReading:
        return PressureReading(self.clock.monotonic(), 7.0)


class _SilentFan:
    stats = DriverStats()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def set_command(self, command_pct: float) -> None:
        return None

    def latest(self) -> FanReading | None:
        return None


async def test_measured_power_comes_from_volts_times_amps_not_whole_watts() -> None:
    from controller.clock import SimulatedClock
    from controller.command_bus import CommandBus
    from controller.daemon import Daemon
    from controller.daemon_settings import DaemonSettings
    from controller.hub import SnapshotHub
    from tests.control.sim_helpers import START

    clock = SimulatedClock(START)
    daemon = Daemon(
        DaemonSettings.from_config(config({"control": {"mode": "eco"}}), None),
        shunt=_WholeWattShunt(clock), pressure=_SteadyPressure(clock), fan=_SilentFan(), clock=clock,
        hub=SnapshotHub(), commands=CommandBus(),
    )  # fmt: skip
    await daemon.start()
    snapshot = await daemon.tick()
    assert snapshot.power_w == pytest.approx(13.2 * -0.4)

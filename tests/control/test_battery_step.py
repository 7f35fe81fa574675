"""The battery estimator in the control step: plans on a shunt without a state of charge, the lower bound
as the plan's energy, the estimator's alerts, the deadline alarm's hysteresis, 'off' in runtime plans and
the charger carrying the load."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.battery import BatteryState, from_record, to_record
from controller.commands import SetDeadline
from controller.snapshot import AlertKind, EventKind, Mode
from controller.state_store import load_battery, save_battery
from controller.step import ShuntInput, SourcedCommand, initial_state, step
from controller.step.battery_alerts import capacity_condition, sync_condition
from controller.step.views import plannable_wh
from controller.truth import energy, start
from tests.control.sim_helpers import config, simulation, with_energy
from tests.control.test_daemon_sim import raised
from tests.control.test_step import T0, inputs, settings_for

DAY_S = 86400.0


def shunt(now_s: float, volts: float | None, amps: float, soc: float | None) -> ShuntInput:
    return ShuntInput(now_s, volts, amps, None, soc, None, None)


@pytest.mark.parametrize("volts", [13.6, 12.9])
def test_a_shunt_without_state_of_charge_still_gets_a_plan(volts: float) -> None:
    """Full (13.6 V: the top knee pins it) or on the flat middle (12.9 V: wide, so the plan spends little)."""
    s = settings_for({"control": {"mode": "runtime", "deadline": "2 days"}})
    state = initial_state(s, 0.0, T0)
    result = None
    for now in range(0, 100, 10):
        result = step(s, state, inputs(float(now), shunt=shunt(float(now), volts, -0.5, None)))
        state = result.state
    assert result is not None
    assert state.planning.plan is not None
    assert "plan" in result.snapshot.reason
    assert result.snapshot.energy_usable_wh is not None
    assert result.snapshot.energy_usable_wh > 0.0
    uncertainty = result.snapshot.energy_uncertainty_wh
    assert uncertainty is not None
    if volts == 12.9:
        assert uncertainty > 0.2 * 1280.0
    else:  # the charge is pinned; what is left is the configured capacity's own 13 % (one sigma)
        assert uncertainty < 0.15 * 1280.0


def test_the_plan_spends_the_lower_bound_with_the_reserve_as_a_floor() -> None:
    s = settings_for({"battery": {"reserve": "0 %", "confidence": "97.5 %"}})
    truth = start(s.truth(), soc_pct=None, voltage_v=12.9, current_a=-0.5, now_utc=T0)
    assert truth is not None
    estimate = energy(truth, s.truth())
    assert plannable_wh(s, truth, estimate) == pytest.approx(estimate.lower_wh(1.95996), rel=1e-4)
    floored = settings_for({"battery": {"reserve": "50 %", "confidence": "50 %"}})
    tight = replace(truth, p_qq=0.01)
    reserve_wh = floored.battery.curve.energy_wh(50.0, 100.0)
    assert plannable_wh(floored, tight, energy(tight, floored.truth())) == pytest.approx(
        energy(tight, floored.truth()).mean_wh - reserve_wh
    )


def test_a_shunt_count_the_voltage_contradicts_raises_soc_unsynchronised() -> None:
    """The shunt says 100 % while the resting voltage reads about 80 %: the next reading, a minute later,
    confirms it (one reading may be a sag), and the alarm is raised."""
    s = settings_for({"control": {"mode": "runtime", "deadline": "2 days"}})
    state = initial_state(s, 0.0, T0)
    active: set[AlertKind] = set()
    for now in range(0, 130, 10):
        result = step(s, state, inputs(float(now), shunt=shunt(float(now), 13.02, -0.5, 100.0)))
        state = result.state
        active |= {a.kind for a in result.snapshot.alerts}
    assert AlertKind.SOC_UNSYNCHRONISED in active
    assert state.truth is not None
    assert state.truth.soc_pct < 90.0


def test_no_synchronisation_for_too_long_is_reported() -> None:
    s = settings_for({"alerts": {"sync_max_age": "2 days"}})
    truth = start(s.truth(), soc_pct=50.0, voltage_v=12.9, current_a=-0.5, now_utc=T0)
    assert truth is not None
    assert not sync_condition(truth, s.alerts, T0 + timedelta(days=1)).active
    late = sync_condition(truth, s.alerts, T0 + timedelta(days=3))
    assert late.active
    assert "no synchronisation for 3.0 days" in late.message


def test_a_learned_capacity_well_below_the_configured_one_is_reported() -> None:
    s = settings_for({})
    truth = start(s.truth(), soc_pct=50.0, voltage_v=12.9, current_a=-0.5, now_utc=T0)
    assert truth is not None
    assert not capacity_condition(truth, s.alerts, 100.0).active
    learned = replace(truth, capacity_ah=80.0, capacity_source="learned", capacity_learned_utc=T0)
    low = capacity_condition(learned, s.alerts, 100.0)
    assert low.active
    assert "80.0 Ah, 80 % of the configured 100 Ah" in low.message
    assert not capacity_condition(replace(learned, capacity_ah=95.0), s.alerts, 100.0).active


def test_runtime_mode_with_no_floor_may_turn_the_fan_off() -> None:
    """A budget under the lowest setting's draw: 'off' shares the time instead of missing the deadline."""
    s = settings_for({"control": {"mode": "runtime", "deadline": "7 days", "pressure_floor": "0 Pa",
                                  "pressure_setpoint": "0 Pa"}, "battery": {"reserve": "0 %"}})  # fmt: skip
    state = initial_state(s, 0.0, T0)
    state = step(s, state, inputs(0.0, shunt=shunt(0.0, 12.5, -0.2, 10.0))).state
    assert state.planning.plan is not None
    assert "off" in [share.point.setting for share in state.planning.plan.schedule]
    assert state.planning.meets_deadline


def test_while_a_charger_carries_the_load_the_fan_runs_for_air_then_the_plan_resumes() -> None:
    s = settings_for({"control": {"mode": "runtime", "deadline": "7 days"}})
    state = initial_state(s, 0.0, T0)
    state = step(s, state, inputs(0.0, shunt=shunt(0.0, 12.9, -0.5, 20.0))).state
    planned = state.command_pct
    for now in range(10, 400, 10):
        state = step(s, state, inputs(float(now), shunt=shunt(float(now), 13.8, 5.0, 20.0))).state
    assert state.planning.on_charger
    assert state.command_pct > planned
    cap_cfm = state.room.c_cfm * s.control.pressure_cap_pa**s.room.leakage_n
    top = max((p for p in s.fan.curve.points if p.flow_cfm <= cap_cfm + 1e-6), key=lambda p: p.flow_cfm)
    assert state.command_pct == pytest.approx(top.command_pct)
    for now in range(400, 800, 10):
        state = step(s, state, inputs(float(now), shunt=shunt(float(now), 12.9, -0.5, 20.0))).state
    assert not state.planning.on_charger
    assert state.command_pct == pytest.approx(planned)
    assert state.setpoints.mode is Mode.RUNTIME


async def test_a_runtime_run_that_meets_its_deadline_raises_no_deadline_alarm() -> None:
    cfg = config({"control": {"deadline": "1 day", "mode": "runtime"}})
    sim = simulation(with_energy(cfg, 200.0), duration_s=DAY_S)
    summary = await sim.run()
    assert summary.deadline_met is True
    assert sim.daemon is not None
    assert raised(sim.daemon.totals.events, AlertKind.DEADLINE_AT_RISK) == []


def test_the_deadline_alarm_sets_beyond_its_margin_and_clears_when_the_plan_lasts_again() -> None:
    """Runtime mode, 4 % of 100 Ah above a 0 % reserve: a week is out of reach even at the lowest setting,
    a day is not. The alarm is raised once, and cleared once when the user moves the deadline."""
    s = settings_for({"control": {"mode": "runtime", "deadline": "7 days"}, "battery": {"reserve": "0 %"},
                      "alerts": {"deadline_return_delay": "1 min"}})  # fmt: skip
    state = initial_state(s, 0.0, T0)
    events = []
    for now in range(0, 2000, 10):
        commands = (SourcedCommand("test", SetDeadline(None, DAY_S)),) if now == 1000 else ()
        result = step(s, state, inputs(float(now), shunt=shunt(float(now), 12.35, -0.2, 4.0), commands=commands))
        state = result.state
        events += [e for e in result.snapshot.events if e.alert_kind is AlertKind.DEADLINE_AT_RISK]
        if now == 990:
            assert result.snapshot.deadline_met is False
    assert [e.kind for e in events] == [EventKind.ALERT_RAISED, EventKind.ALERT_CLEARED]
    assert result.snapshot.deadline_met is True


def test_a_learned_capacity_survives_a_restart_with_its_age(tmp_path: Path) -> None:
    """Saved with the battery belief, restored unsynchronised, and the estimator starts from it."""
    learned_at = T0 - timedelta(days=40)
    belief = replace(BatteryState(), soc_pct=60.0, capacity_learned_ah=81.5, capacity_learned_utc=learned_at)
    path = tmp_path / "battery.json"
    assert save_battery(path, belief, T0)
    restored = load_battery(path)
    assert restored is not None
    assert (restored.capacity_learned_ah, restored.capacity_learned_utc) == (81.5, learned_at)
    s = settings_for({})
    state = initial_state(s, 0.0, T0, restored)
    result = step(s, state, inputs(0.0, shunt=shunt(0.0, 12.9, -0.5, None)))
    assert result.snapshot.capacity_ah == 81.5
    assert result.snapshot.capacity_source == "learned"
    assert result.snapshot.capacity_learned_utc == learned_at
    assert result.snapshot.soc_estimate_pct == pytest.approx(60.0)
    broken = {**to_record(belief, T0), "capacity_learned_ah": "lots"}
    assert from_record(broken).capacity_learned_ah is None


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.floats(0.0, 20.0)),
            st.one_of(st.none(), st.floats(-30.0, 30.0)),
            st.one_of(st.none(), st.floats(-10.0, 110.0)),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_whatever_the_shunt_says_the_step_plans_with_energy_never_negative(
    readings: list[tuple[float | None, float | None, float | None]],
) -> None:
    s = settings_for({"control": {"mode": "runtime", "deadline": "2 days"}})
    state = initial_state(s, 0.0, T0)
    for index, (volts, amps, soc) in enumerate(readings):
        now = 10.0 * index
        result = step(s, state, inputs(now, shunt=ShuntInput(now, volts, amps, None, soc, None, None)))
        state, snap = result.state, result.snapshot
        assert snap.energy_usable_wh is None or snap.energy_usable_wh >= 0.0
        assert snap.energy_estimate_wh is None or snap.energy_estimate_wh >= 0.0
        if snap.energy_uncertainty_wh is not None:
            assert snap.energy_uncertainty_wh >= s.truth().charge_resolution_ah * s.battery.curve.voltage_v[0]
        if state.truth is not None and amps is not None:
            assert state.planning.plan is not None
        assert snap.fan_command_pct > 0.0

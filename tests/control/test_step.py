"""The pure control step, decision by decision (table-driven), and its invariants (hypothesis)."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.commands import SetDeadline, SetMode, SetPressureFloor, SetSpeed
from controller.daemon_settings import DaemonSettings
from controller.snapshot import AlertKind, EventKind, Mode, Severity
from controller.step import (
    ControlState,
    FanInput,
    PressureInput,
    RunShutdown,
    SaveBattery,
    ShuntInput,
    SourcedCommand,
    StepInputs,
    initial_state,
    step,
)
from controller.step.core import fail_safe
from tests.control.sim_helpers import config

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def settings_for(sections: dict[str, dict[str, object]] | None = None) -> DaemonSettings:
    return DaemonSettings.from_config(config(sections), None)


def shunt(now_s: float, *, volts: float | None = 13.02, amps: float | None = -0.5, watts: float | None = None,
          soc: float | None = 80.0) -> ShuntInput:  # fmt: skip
    return ShuntInput(now_s, volts, amps, watts, soc, None, None)


def inputs(now_s: float, **changes: object) -> StepInputs:
    base = StepInputs(
        now_s=now_s,
        now_utc=T0 + timedelta(seconds=now_s),
        shunt=shunt(now_s),
        pressure=PressureInput(now_s, 8.0),
        fan=FanInput(now_s, None, False),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def run(settings: DaemonSettings, state: ControlState, ticks: int, tick_s: float = 10.0, start_s: float = 0.0,
        **changes: object) -> ControlState:  # fmt: skip
    for i in range(ticks):
        now = start_s + i * tick_s
        fresh = {k: (v(now) if callable(v) else v) for k, v in changes.items()}
        state = step(settings, state, inputs(now, **fresh)).state
    return state


# --- the fail-safe -----------------------------------------------------------------------------------------

FAILURES = {
    "shunt stale": {"shunt": shunt(-100.0)},
    "no shunt": {"shunt": None},
    "pressure stale": {"pressure": PressureInput(-100.0, 8.0)},
    "no pressure": {"pressure": None},
    "fan stalled": {"fan": FanInput(0.0, 0.0, True)},
}


@pytest.mark.parametrize("failure", FAILURES.values(), ids=FAILURES.keys())
@pytest.mark.parametrize("mode", ["auto", "eco", "runtime", "pressure"])
def test_a_failure_never_leaves_the_fan_off(failure: dict[str, object], mode: str) -> None:
    s = settings_for({"control": {"mode": mode, "pressure_floor": "0 Pa", "pressure_setpoint": "0 Pa"}})
    state = initial_state(s, 0.0, T0)
    for now in (0.0, 10.0, 20.0):
        result = step(s, state, inputs(now, **{"pressure": PressureInput(now, 24.0), **failure}))
        state = result.state
        assert result.command_pct > 0.0
    statuses = (result.snapshot.shunt_status, result.snapshot.pressure_status, result.snapshot.fan_status)
    assert {"stale", "stalled"} & set(statuses)


@pytest.mark.parametrize(
    ("policy_pct", "mode", "failing", "expected"),
    [
        (0.0, Mode.AUTO, True, 50.0),
        (0.0, Mode.RUNTIME, True, 50.0),
        (0.0, Mode.AUTO, False, 0.0),
        (30.0, Mode.AUTO, True, 30.0),
        (0.0, Mode.MANUAL, True, 0.0),
    ],
)
def test_the_fail_safe_rule(policy_pct: float, mode: Mode, failing: bool, expected: float) -> None:
    assert fail_safe(policy_pct, mode, failing, 50.0) == expected


def test_manual_zero_is_the_users_word_even_with_a_failure() -> None:
    s = settings_for({"control": {"mode": "manual", "manual_speed": "0 %"}})
    result = step(s, initial_state(s, 0.0, T0), inputs(0.0, shunt=None))
    assert result.command_pct == 0.0


# --- power, sign and charging ------------------------------------------------------------------------------

POWER_CASES = [
    # volts, amps, shunt watts, expected snapshot power (negative = discharging), charging
    (13.0, -0.5, -7.0, -6.5, False),  # V x I before the shunt's whole-watt P
    (None, -0.5, -7.0, -7.0, False),  # no voltage: the shunt's P
    (13.0, None, None, None, False),  # nothing to compute a power from
    (13.4, 0.05, None, 0.67, False),  # 50 mA in is not yet charging
    (13.4, 0.06, None, 0.804, True),  # above 50 mA in: charging
]


@pytest.mark.parametrize(("volts", "amps", "watts", "power", "charging"), POWER_CASES)
def test_which_power_reading_is_trusted_and_its_sign(
    volts: float | None, amps: float | None, watts: float | None, power: float | None, charging: bool
) -> None:
    s = settings_for()
    result = step(s, initial_state(s, 0.0, T0), inputs(0.0, shunt=shunt(0.0, volts=volts, amps=amps, watts=watts)))
    assert result.snapshot.power_w == (None if power is None else pytest.approx(power))
    assert result.snapshot.charging is charging


def test_a_stale_shunt_is_not_trusted() -> None:
    s = settings_for()
    result = step(s, initial_state(s, 100.0, T0), inputs(100.0, shunt=shunt(100.0 - s.control.stale_after_s - 1)))
    assert (result.snapshot.power_w, result.snapshot.voltage_v, result.snapshot.shunt_status) == (None, None, "stale")


# --- when the room model may learn -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "ticks", "pressure_pa", "learns"),
    [
        ("steady fan, closed door", 40, 8.0, True),
        ("not steady for long enough", 4, 8.0, False),
        ("no pressure reading", 40, None, False),
    ],
)
def test_when_the_room_model_learns(label: str, ticks: int, pressure_pa: float | None, learns: bool) -> None:
    s = settings_for({"control": {"mode": "manual", "manual_speed": "50 %"}})
    reading = None if pressure_pa is None else (lambda now: PressureInput(now, pressure_pa))
    state = run(s, initial_state(s, 0.0, T0), ticks, pressure=reading)
    assert (state.room.samples > 0) is learns, label


def test_a_door_holds_the_alarms_not_the_filter_and_stops_learning() -> None:
    """Issue 15: the old assertion here (the filtered value frozen at its level before the door) was the
    display that lied; the filtered value now follows the raw one down while the door hold is in force."""
    s = settings_for({"control": {"mode": "manual", "manual_speed": "50 %"}})
    state = run(s, initial_state(s, 0.0, T0), 40, pressure=lambda now: PressureInput(now, 8.0))
    state = step(s, state, inputs(400.0, pressure=PressureInput(400.0, 0.2))).state
    learned, before_pa = state.room.samples, state.pressure.filtered_pa
    detected = step(s, state, inputs(401.0, pressure=PressureInput(401.0, 0.2)))
    assert EventKind.DOOR_OPEN in [e.kind for e in detected.snapshot.events]
    result = step(s, detected.state, inputs(402.0, pressure=PressureInput(402.0, 0.2)))
    state = result.state
    assert state.pressure.door_open(402.0)
    assert before_pa is not None
    assert state.pressure.filtered_pa is not None
    assert state.pressure.filtered_pa < before_pa
    assert result.snapshot.pressure_pa == state.pressure.filtered_pa
    assert result.snapshot.pressure_hold is not None
    assert "door" in result.snapshot.pressure_hold
    assert state.room.samples == learned


# --- re-planning and plan power ----------------------------------------------------------------------------


def test_replans_on_the_first_tick_after_the_interval_and_after_an_accepted_command() -> None:
    s = settings_for({"control": {"deadline": "7 days"}})
    state = step(s, initial_state(s, 0.0, T0), inputs(0.0)).state
    assert state.planning.planned_at_s == 0.0
    assert state.planning.plan is not None
    state = step(s, state, inputs(10.0)).state
    assert state.planning.planned_at_s == 0.0
    state = step(s, state, inputs(s.control.replan_interval_s)).state
    assert state.planning.planned_at_s == s.control.replan_interval_s
    refused = step(s, state, inputs(310.0, commands=(SourcedCommand("test", SetPressureFloor(99.0)),)))
    assert refused.state.planning.planned_at_s == s.control.replan_interval_s
    accepted = step(s, state, inputs(310.0, commands=(SourcedCommand("test", SetDeadline(None, 3 * 86400.0)),)))
    assert accepted.state.planning.planned_at_s == 310.0


def test_plan_power_is_the_plans_average_or_the_draw_now_smoothed() -> None:
    s = settings_for({"control": {"deadline": "7 days"}})
    planned = step(s, initial_state(s, 0.0, T0), inputs(0.0))
    assert planned.state.planning.plan is not None
    expected = planned.state.planning.plan.average_source_w * planned.state.energy.power_ratio
    assert planned.snapshot.plan_power_w == pytest.approx(expected)

    manual = settings_for({"control": {"mode": "manual", "manual_speed": "100 %"}})
    first = step(manual, initial_state(manual, 0.0, T0), inputs(0.0))
    now_w = manual.path.source_power_w(manual.fan.curve.point_at(100.0).power_w)
    assert first.snapshot.plan_power_w == pytest.approx(now_w)
    off = replace(first.state, plan_power_w=0.0)
    later = step(manual, off, inputs(60.0))
    alpha = 1 - math.exp(-60.0 / manual.control.share_period_s)
    assert later.snapshot.plan_power_w == pytest.approx(alpha * now_w)


# --- deadline met and shortfall; critical battery; shutdown; saves -----------------------------------------


@pytest.mark.parametrize(
    ("deadline", "soc", "met"),
    [("2 days", 80.0, True), ("30 days", 20.0, False)],
)
def test_deadline_met_or_missed(deadline: str, soc: float, met: bool) -> None:
    s = settings_for({"control": {"deadline": deadline, "mode": "runtime"}})
    result = step(s, initial_state(s, 0.0, T0), inputs(0.0, shunt=shunt(0.0, soc=soc)))
    assert result.snapshot.deadline_met is met


def test_charging_counts_as_meeting_the_deadline() -> None:
    s = settings_for({"control": {"deadline": "30 days", "mode": "runtime"}})
    result = step(s, initial_state(s, 0.0, T0), inputs(0.0, shunt=shunt(0.0, amps=2.0, soc=11.0)))
    assert result.snapshot.deadline_met is True


def test_critical_battery_reaches_the_policy() -> None:
    s = settings_for({"control": {"mode": "eco"}, "alerts": {"battery_delay": "0 s"}})
    state = run(s, initial_state(s, 0.0, T0), 3, shunt=lambda now: shunt(now, soc=5.0))
    assert state.alerts.of(AlertKind.BATTERY_LOW_SOC, Severity.CRITICAL).active
    assert state.alerts.battery_level == "critical"


def test_the_shutdown_action_is_asked_for_once_and_not_while_charging() -> None:
    s = settings_for({"control": {"shutdown_soc": "5 %", "shutdown_command": ["/bin/true"]}})
    state = initial_state(s, 0.0, T0)
    charging = step(s, state, inputs(0.0, shunt=shunt(0.0, amps=1.0, soc=4.0)))
    assert not [e for e in charging.effects if isinstance(e, RunShutdown)]
    first = step(s, charging.state, inputs(10.0, shunt=shunt(10.0, soc=4.0)))
    assert [e for e in first.effects if isinstance(e, RunShutdown)] == [RunShutdown(("/bin/true",))]
    again = step(s, first.state, inputs(20.0, shunt=shunt(20.0, soc=3.0)))
    assert not [e for e in again.effects if isinstance(e, RunShutdown)]


def test_the_battery_belief_is_saved_at_start_then_every_interval(tmp_path: object) -> None:
    s = replace(settings_for(), state_path=__import__("pathlib").Path("/nonexistent/state.json"))
    state = initial_state(s, 0.0, T0)
    saves = []
    for now in (0.0, 10.0, s.control.state_save_interval_s, s.control.state_save_interval_s + 10.0):
        result = step(s, state, inputs(now))
        state = result.state
        saves += [now for e in result.effects if isinstance(e, SaveBattery)]
    assert saves == [0.0, s.control.state_save_interval_s]


def test_commands_are_answered_in_order_with_events() -> None:
    s = settings_for()
    commands = (
        SourcedCommand("mqtt", SetMode(Mode.ECO)),
        SourcedCommand("http", SetPressureFloor(99.0)),
        SourcedCommand("cli", SetSpeed(30.0)),
    )
    result = step(s, initial_state(s, 0.0, T0), inputs(0.0, commands=commands))
    assert [r.accepted for r in result.command_results] == [True, False, True]
    kinds = [e.kind for e in result.snapshot.events]
    assert kinds[:5] == [
        EventKind.COMMAND_ACCEPTED,
        EventKind.MODE_CHANGED,
        EventKind.COMMAND_REJECTED,
        EventKind.COMMAND_ACCEPTED,
        EventKind.MODE_CHANGED,
    ]
    assert result.snapshot.mode is Mode.MANUAL
    assert result.command_pct == 30.0


# --- invariants --------------------------------------------------------------------------------------------

maybe_float = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True, width=32))
shunts = st.one_of(
    st.none(),
    st.builds(ShuntInput, st.floats(-1e6, 1e3), maybe_float, maybe_float, maybe_float, maybe_float, maybe_float),
)
pressures = st.one_of(st.none(), st.builds(PressureInput, st.floats(-1e6, 1e3), st.floats(-1e4, 1e4)))
fans = st.one_of(st.none(), st.builds(FanInput, st.floats(-1e6, 1e3), maybe_float, st.booleans()))
modes = st.sampled_from(list(Mode))


@settings(max_examples=150, deadline=None)
@given(mode=modes, readings=st.lists(st.tuples(shunts, pressures, fans), min_size=1, max_size=8))
def test_any_readings_give_a_command_in_range_and_never_off_through_a_failure(
    mode: Mode, readings: list[tuple[ShuntInput | None, PressureInput | None, FanInput | None]]
) -> None:
    s = settings_for({"control": {"mode": mode.value, "deadline": "3 days"}})
    state = initial_state(s, 0.0, T0)
    for i, (sh, pr, fa) in enumerate(readings):
        now = 10.0 * i
        result = step(s, state, inputs(now, shunt=sh, pressure=pr, fan=fa))
        state = result.state
        assert 0.0 <= result.command_pct <= 100.0
        stale_shunt = sh is None or now - sh.monotonic_s > s.control.stale_after_s
        stale_pressure = pr is None or now - pr.monotonic_s > s.control.stale_after_s
        failing = stale_shunt or stale_pressure or (fa is not None and fa.stalled)
        if failing and mode is not Mode.MANUAL:
            assert result.command_pct > 0.0


@settings(max_examples=50, deadline=None)
@given(mode=modes.filter(lambda m: m is not Mode.MANUAL), ticks=st.integers(1, 6))
def test_stale_inputs_give_the_fail_safe_command(mode: Mode, ticks: int) -> None:
    """With nothing known, the plan modes run the safe speed; eco and pressure hold the floor (or the
    setpoint) from the room curve learned so far, which is never off."""
    s = settings_for({"control": {"mode": mode.value}})
    floor_cfm = s.room.leakage_c_cfm * s.control.pressure_floor_pa**s.room.leakage_n
    state = initial_state(s, 0.0, T0)
    for i in range(ticks):
        result = step(s, state, inputs(10.0 * i, shunt=None, pressure=None, fan=None))
        state = result.state
        if mode in (Mode.AUTO, Mode.RUNTIME):
            assert result.command_pct == s.fan.safe_speed_pct
        else:
            assert s.fan.curve.point_at(result.command_pct).flow_cfm >= floor_cfm

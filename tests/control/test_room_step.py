"""The room-pressure estimator inside the control step, on the same recorded-style traces: when
`pressure_low` and `fan_stalled` are raised, what the snapshot shows, and what the energy model and the
below-floor time make of a stopped fan and an open door."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

import pytest

from controller.commands import SetSpeed
from controller.daemon_settings import DaemonSettings
from controller.estimators import ewma_alpha
from controller.snapshot import AlertKind, Event, EventKind, Severity, Snapshot
from controller.step import (
    ControlState,
    FanInput,
    PressureInput,
    ShuntInput,
    SourcedCommand,
    StepInputs,
    initial_state,
    step,
)
from tests.control.room_traces import Happenings, Interval, trace
from tests.control.test_step import T0, settings_for
from tests.control.test_step import inputs as run_inputs

AT = 1200.0
VOLTS = 13.02
"""About 80 % at rest on the LiFePO4 curve, as the shunt says (a voltage off the curve is an alert)."""


@dataclass(frozen=True)
class Run:
    snapshots: list[Snapshot]
    states: list[ControlState]

    def raised(self, kind: AlertKind) -> list[float]:
        return [
            s.monotonic_s
            for s in self.snapshots
            for e in s.events
            if e.kind is EventKind.ALERT_RAISED and e.alert_kind is kind
        ]

    def alert_events(self, kind: AlertKind) -> list[tuple[float, Event]]:
        """The raising events of one alert kind, with the time they were raised at."""
        return [
            (s.monotonic_s, e)
            for s in self.snapshots
            for e in s.events
            if e.kind is EventKind.ALERT_RAISED and e.alert_kind is kind
        ]

    def events(self, kind: EventKind) -> list[float]:
        return [s.monotonic_s for s in self.snapshots for e in s.events if e.kind is kind]


def settings(mode: str = "manual") -> DaemonSettings:
    control: dict[str, object] = {
        "mode": mode,
        "manual_speed": "34 %",
        "pressure_floor": "2.5 Pa",
        "pressure_setpoint": "5 Pa",
    }
    return settings_for({"control": control, "controller": {"tick": "1 s"}, "power_path": {"controller_draw": "0.6 W"}})


def run(duration_s: float, happenings: Happenings, mode: str = "manual", commanded_off: Interval | None = None) -> Run:
    """The step on a trace, one tick a second; `commanded_off`: the fan is set to 0 % at its start (through
    a command, as MQTT would) and back to 34 % at its end (its driver then reports no stall)."""
    s = settings(mode)
    state = initial_state(s, 0.0, T0)
    snapshots, states = [], []
    for tick in trace(duration_s, happenings):
        now = tick.t_s
        amps = None if tick.fan_w is None else -(tick.fan_w + 0.6) / VOLTS
        off = commanded_off is not None and commanded_off[0] <= now < commanded_off[1]
        edges = {} if commanded_off is None else {commanded_off[0]: 0.0, commanded_off[1]: 34.0}
        commands = (SourcedCommand("mqtt", SetSpeed(edges[now])),) if now in edges else ()
        inputs = StepInputs(
            now_s=now,
            now_utc=T0 + timedelta(seconds=now),
            shunt=ShuntInput(now, VOLTS, amps, None, 80.0),
            pressure=PressureInput(now, tick.raw_pa),
            fan=FanInput(now, tick.rpm, tick.tach_stalled and not off),
            commands=commands,
        )
        result = step(s, state, inputs)
        state = result.state
        snapshots.append(result.snapshot)
        states.append(state)
    return Run(snapshots, states)


@dataclass(frozen=True)
class Expected:
    """When a trace's alarms should come, in seconds after its onset (AT) or, with `after_truth`, after the
    true pressure (the plant's, gust-filtered like the controller's) fell below the floor for good."""

    happenings: Happenings
    pressure_low: str | None
    """`delay`: the alarm delay after the true loss; `hold`: at the door hold's end; None: no alarm."""
    stalled_by: tuple[str, ...] = ()
    """The evidence the fan_stalled message may name (none: not raised)."""
    duration_s: float = 2400.0
    hovers: bool = False
    """The pressure ends near the floor, where wind may clear and raise the alarm again."""


TRACES = {
    "gusts": Expected(Happenings(), None, duration_s=3600.0),
    "door 1 min": Expected(Happenings(doors=((AT, AT + 60.0),)), None),
    "door 1 h": Expected(Happenings(doors=((AT, AT + 3600.0),)), "hold", duration_s=5400.0),
    "fan switched off": Expected(Happenings(switched_off=((AT, AT + 600.0),)), "delay", ("tachometer", "power")),
    "stall, tachometer": Expected(Happenings(stalls=((AT, AT + 600.0),)), "delay", ("tachometer",)),
    "stall, power only": Expected(Happenings(stalls=((AT, AT + 600.0),), tachometer=False), "delay", ("power",)),
    "stall, pressure only": Expected(
        Happenings(stalls=((AT, AT + 600.0),), tachometer=False, power=False), "hold", ("pressure",)
    ),
    "slow leak": Expected(Happenings(leak_start_s=1800.0), "delay", duration_s=5400.0, hovers=True),
}


def true_loss_s(happenings: Happenings, duration_s: float, floor_pa: float, filter_s: float, delay_s: float) -> float:
    """When the true pressure through the controller's gust filter first fell below the floor and stayed
    there for the alarm delay (computed from the trace's truth, not from the controller)."""
    filtered, below_since = None, None
    for tick in trace(duration_s, happenings):
        filtered = (
            tick.true_pa if filtered is None else filtered + ewma_alpha(1.0, filter_s) * (tick.true_pa - filtered)
        )
        below_since = (tick.t_s if below_since is None else below_since) if filtered < floor_pa else None
        if below_since is not None and tick.t_s - below_since >= delay_s:
            return below_since
    raise AssertionError("the truth never fell below the floor for the alarm delay")


@pytest.mark.parametrize("name", TRACES)
def test_alarm_times_on_each_trace(name: str) -> None:
    """`pressure_low` within its delay of the true loss (a door hold defers it to at most `door_hold` after
    the door opened); `fan_stalled` within its delay of the evidence, naming it; nothing on gusts and a
    short door."""
    expected, s = TRACES[name], settings()
    control, alerts = s.control, s.alerts
    result = run(expected.duration_s, expected.happenings)
    low = result.raised(AlertKind.PRESSURE_LOW)
    if expected.pressure_low is None:
        assert low == []
    elif expected.pressure_low == "hold":
        (raised,) = low
        assert AT + control.door_hold_s <= raised <= AT + control.door_hold_s + 3.0
    else:
        raised = low[0]
        assert len(low) == 1 or expected.hovers
        onset = true_loss_s(expected.happenings, expected.duration_s, 2.5, control.pressure_filter_s,
                            alerts.pressure_low_delay_s)  # fmt: skip
        assert onset + alerts.pressure_low_delay_s - 2.0 <= raised <= onset + alerts.pressure_low_delay_s + 3.0
        if expected.stalled_by:
            assert raised <= AT + 3 * control.pressure_filter_s + alerts.pressure_low_delay_s
    stalled = result.alert_events(AlertKind.FAN_STALLED)
    if not expected.stalled_by:
        assert stalled == []
        return
    ((at_s, event),) = stalled
    latest = AT + alerts.fan_delay_s + (control.door_hold_s if "pressure" in expected.stalled_by else 20.0) + 3.0
    assert AT + alerts.fan_delay_s <= at_s <= latest
    assert any(f"evidence: {words}" in event.message for words in expected.stalled_by), event.message


def test_the_door_hold_and_why_are_shown_apart_from_the_filtered_pressure() -> None:
    result = run(1800.0, Happenings(doors=((AT, AT + 60.0),)))
    assert len(result.events(EventKind.DOOR_OPEN)) == 1
    held = [s for s in result.snapshots if s.pressure_hold is not None]
    assert held
    assert all(AT < s.monotonic_s <= AT + 62.0 for s in held)
    assert all(s.room_condition == "door" and s.pressure_hold == s.room_condition_reason for s in held)
    assert all("door open" in (s.pressure_hold or "") for s in held)
    assert all(s.pressure_pa is not None and s.pressure_raw_pa is not None for s in held)
    assert any(s.pressure_pa < 2.5 for s in held if s.pressure_pa is not None)


def test_a_door_left_open_is_a_loss_after_the_hold() -> None:
    result = run(2400.0, Happenings(doors=((AT, AT + 1200.0),)))
    assert len(result.events(EventKind.DOOR_OPEN)) == 1
    assert result.snapshots[int(AT + 600.0)].pressure_hold is None
    assert result.snapshots[int(AT + 600.0)].room_condition == "loss"


@pytest.mark.parametrize("tachometer", [True, False], ids=["tachometer", "power signature"])
def test_a_stalled_fan_is_left_out_of_the_energy_model(tachometer: bool) -> None:
    """While stalled, the fan's modelled power is left out and the measured/modelled correction does not
    learn from its low draw: the next plan is not inflated."""
    result = run(2400.0, Happenings(stalls=((AT, AT + 600.0),), tachometer=tachometer))
    seen = next(i for i, snap in enumerate(result.snapshots) if snap.fan_status == "stalled")
    before = result.states[int(AT) - 1].energy.power_ratio
    ratio = result.states[seen].energy.power_ratio
    assert ratio == before
    assert all(state.energy.power_ratio == ratio for state in result.states[seen : int(AT + 600.0)])
    assert all(snap.flow_cfm == 0.0 for snap in result.snapshots[seen : int(AT + 600.0)])


def test_a_fan_commanded_off_is_left_out_of_the_power_correction() -> None:
    result = run(2400.0, Happenings(switched_off=((AT, AT + 600.0),)), commanded_off=(AT, AT + 600.0))
    off = result.states[int(AT) : int(AT + 600.0)]
    assert {state.command_pct for state in off} == {0.0}
    assert len({state.energy.power_ratio for state in off}) == 1
    assert result.raised(AlertKind.FAN_STALLED) == []
    assert result.events(EventKind.DOOR_OPEN) == []
    assert {snap.room_condition for snap in result.snapshots[int(AT) + 1 : int(AT + 600.0)]} == {"fan_off"}


def test_below_floor_time_counts_the_real_pressure_through_a_door() -> None:
    result = run(1800.0, Happenings(doors=((AT, AT + 300.0),)), mode="eco")
    below_s = result.states[-1].totals.below_floor_s
    assert below_s >= 0.8 * 300.0


def test_the_snapshot_shows_the_room_curve_with_its_uncertainty() -> None:
    last = run(1200.0, Happenings()).snapshots[-1]
    assert last.room_c_cfm is not None
    assert 30.0 < last.room_c_cfm < 50.0
    assert last.room_c_uncertainty_pct is not None
    assert last.room_c_uncertainty_pct > 0.0
    assert (last.room_condition, last.pressure_hold) == ("normal", None)


def test_a_tight_room_is_noted_in_the_plan() -> None:
    tight = settings_for({"control": {"deadline": "2 days"}, "room": {"leakage_c": "10 CFM"}})
    result = step(tight, initial_state(tight, 0.0, T0), run_inputs(0.0))
    notice = result.state.planning.tight_room
    assert notice is not None
    assert notice.cap_cfm == 57.0
    assert notice.left_wh > 500.0
    assert any("the 25 Pa cap limits airflow to 57 CFM" in e.message for e in result.snapshot.events)
    roomy = settings_for({"control": {"deadline": "7 days"}})
    assert step(roomy, initial_state(roomy, 0.0, T0), run_inputs(0.0)).state.planning.tight_room is None


def test_a_tight_room_raises_an_info_alert_after_its_delay() -> None:
    tight = settings_for({"control": {"deadline": "2 days"}, "room": {"leakage_c": "10 CFM"}})
    state, raised = initial_state(tight, 0.0, T0), []
    for now in range(0, 200, 10):
        result = step(tight, state, run_inputs(float(now)))
        state = result.state
        raised += [e for e in result.snapshot.events if e.alert_kind is AlertKind.TIGHT_ROOM]
    (alert,) = raised
    assert alert.severity is Severity.INFO
    assert alert.message.startswith("Tight room: the 25 Pa cap limits airflow to 57 CFM; about ")
    assert alert.message.endswith("Wh will be left at the deadline; raise `pressure_cap` or open a relief gap")
    assert (alert.timestamp_utc - T0).total_seconds() >= tight.alerts.deadline_delay_s
    assert [a.kind for a in result.snapshot.alerts] == [AlertKind.TIGHT_ROOM]


@pytest.mark.parametrize("garbage", [math.nan, math.inf, -1e6], ids=["nan", "inf", "out of range"])
def test_garbage_from_the_pressure_sensor_counts_as_no_reading(garbage: float) -> None:
    """Not a number, or beyond any room's pressure: stale (its alert after its delay), never filtered in;
    the fan keeps running and the room curve stays a number."""
    s = settings("eco")
    state, raised = initial_state(s, 0.0, T0), []
    for now in range(200):
        pressure = PressureInput(float(now), 8.0 if now < 60 else garbage)
        result = step(s, state, run_inputs(float(now), pressure=pressure))
        state = result.state
        raised += [e.alert_kind for e in result.snapshot.events if e.kind is EventKind.ALERT_RAISED]
    last = result.snapshot
    assert (last.pressure_status, last.pressure_pa, last.pressure_raw_pa) == ("stale", None, None)
    assert AlertKind.PRESSURE_SENSOR_STALE in raised
    assert AlertKind.PRESSURE_LOW not in raised
    assert result.command_pct > 0.0
    assert math.isfinite(state.room.c_cfm)
    assert state.pressure.filtered_pa is not None
    assert math.isfinite(state.pressure.filtered_pa)

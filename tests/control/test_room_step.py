"""The room-pressure estimator inside the control step, on the same recorded-style traces: when
`pressure_low` and `fan_stalled` are raised, what the snapshot shows, and what the energy model and the
below-floor time make of a stopped fan and an open door."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from controller.daemon_settings import DaemonSettings
from controller.snapshot import AlertKind, EventKind, Severity, Snapshot
from controller.step import ControlState, FanInput, PressureInput, ShuntInput, StepInputs, initial_state, step
from tests.control.room_traces import Happenings, trace
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

    def events(self, kind: EventKind) -> list[float]:
        return [s.monotonic_s for s in self.snapshots for e in s.events if e.kind is kind]


def settings(mode: str = "manual") -> DaemonSettings:
    control: dict[str, object] = {
        "mode": mode,
        "manual_speed": "34 %",
        "pressure_floor": "2.5 Pa",
        "pressure_setpoint": "5 Pa",
    }
    return settings_for({"control": control, "controller": {"tick": "1 s"}})


def run(duration_s: float, happenings: Happenings, mode: str = "manual") -> Run:
    s = settings(mode)
    state = initial_state(s, 0.0, T0)
    snapshots, states = [], []
    for tick in trace(duration_s, happenings):
        now = tick.t_s
        amps = None if tick.fan_w is None else -(tick.fan_w + 0.6) / VOLTS
        inputs = StepInputs(
            now_s=now,
            now_utc=T0 + timedelta(seconds=now),
            shunt=ShuntInput(now, VOLTS, amps, None, 80.0),
            pressure=PressureInput(now, tick.raw_pa),
            fan=FanInput(now, tick.rpm, tick.tach_stalled),
        )
        result = step(s, state, inputs)
        state = result.state
        snapshots.append(result.snapshot)
        states.append(state)
    return Run(snapshots, states)


def test_a_door_open_for_a_minute_raises_nothing() -> None:
    result = run(1800.0, Happenings(doors=((AT, AT + 60.0),)))
    assert len(result.events(EventKind.DOOR_OPEN)) == 1
    assert result.raised(AlertKind.PRESSURE_LOW) == []
    held = [s for s in result.snapshots if s.pressure_hold is not None]
    assert held
    assert all(AT < s.monotonic_s <= AT + 62.0 for s in held)
    assert all(s.room_condition == "door" for s in held)


def test_a_door_left_open_raises_pressure_low_after_the_hold_and_its_delay() -> None:
    s = settings()
    result = run(2400.0, Happenings(doors=((AT, AT + 1200.0),)))
    assert len(result.events(EventKind.DOOR_OPEN)) == 1
    raised = result.raised(AlertKind.PRESSURE_LOW)
    assert len(raised) == 1
    assert AT + s.control.door_hold_s <= raised[0] <= AT + s.control.door_hold_s + s.alerts.pressure_low_delay_s + 5.0
    assert result.snapshots[int(AT + 600.0)].pressure_hold is None
    assert result.snapshots[int(AT + 600.0)].room_condition == "loss"


def test_the_fan_switched_off_raises_fan_stalled_and_pressure_low_within_their_delays() -> None:
    s = settings()
    result = run(2400.0, Happenings(switched_off=((AT, AT + 600.0),)))
    stalled, low = result.raised(AlertKind.FAN_STALLED), result.raised(AlertKind.PRESSURE_LOW)
    assert len(stalled) == 1
    assert len(low) == 1
    evidence_s = 10.0
    assert stalled[0] <= AT + evidence_s + s.alerts.fan_delay_s + 2.0
    assert low[0] <= AT + evidence_s + 2 * s.control.pressure_filter_s + s.alerts.pressure_low_delay_s
    during = result.snapshots[int(AT + 300.0)]
    assert (during.fan_status, during.flow_cfm, during.pressure_hold) == ("stalled", 0.0, None)
    assert during.pressure_pa is not None
    assert during.pressure_pa < 2.5


def test_a_stall_without_a_tachometer_is_seen_in_the_power_and_left_out_of_the_energy_model() -> None:
    s = settings()
    result = run(2400.0, Happenings(stalls=((AT, AT + 600.0),), tachometer=False))
    stalled = result.raised(AlertKind.FAN_STALLED)
    assert len(stalled) == 1
    assert stalled[0] <= AT + 10.0 + s.alerts.fan_delay_s + 2.0
    assert result.raised(AlertKind.PRESSURE_LOW)
    seen = next(i for i, snap in enumerate(result.snapshots) if snap.fan_status == "stalled")
    ratio = result.states[seen].energy.power_ratio
    assert all(state.energy.power_ratio == ratio for state in result.states[seen : int(AT + 600.0)])
    assert all(snap.flow_cfm == 0.0 for snap in result.snapshots[seen : int(AT + 600.0)])


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

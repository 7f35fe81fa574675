"""The alert engine: set/clear levels, alarm and return-to-normal delays, latching per discharge, and the
invariants that matter at 3 a.m.: one raise per excursion, every raise eventually cleared."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.alerts import (
    AlertInputs,
    AlertsSection,
    AlertState,
    AlertUpdate,
    update_alerts,
)
from controller.condition import Condition
from controller.snapshot import AlertKind, Event, EventKind, Severity

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
CONFIG = AlertsSection()


def calm(t_s: float, **changes: object) -> AlertInputs:
    """A healthy tick at t_s seconds: full battery, good pressure, nothing wrong."""
    base = AlertInputs(
        now_utc=T0 + timedelta(seconds=t_s),
        monotonic_s=t_s,
        soc_pct=90.0,
        runtime_left_s=5 * 86400.0,
        charging=False,
        deadline_shortfall_s=None,
        pressure_pa=6.0,
        pressure_floor_pa=2.5,
        pressure_cap_pa=None,
        door_open=False,
        shunt_stale=False,
        pressure_stale=False,
        fan_stalled=False,
        fan_fault=False,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def run(ticks: list[AlertInputs], config: AlertsSection = CONFIG) -> tuple[AlertUpdate, list[Event]]:
    state = AlertState()
    events: list[Event] = []
    update = None
    for inputs in ticks:
        update = update_alerts(state, inputs, config)
        state = update.state
        events.extend(update.events)
    assert update is not None
    return update, events


def kinds(events: list[Event], kind: EventKind) -> list[tuple[AlertKind | None, Severity]]:
    return [(e.alert_kind, e.severity) for e in events if e.kind is kind]


def test_nothing_wrong_means_no_alert() -> None:
    update, events = run([calm(t) for t in range(0, 600, 5)])
    assert update.active == ()
    assert events == []
    assert update.state.battery_level == "normal"


def test_soc_warning_waits_for_the_delay_and_names_value_and_threshold() -> None:
    ticks = [calm(t, soc_pct=29.0) for t in range(0, 25, 5)]
    update, events = run(ticks)
    assert events == [], "raised before the 30 s alarm delay"
    update, events = run([*ticks, calm(30, soc_pct=29.0)])
    assert kinds(events, EventKind.ALERT_RAISED) == [(AlertKind.BATTERY_LOW_SOC, Severity.WARNING)]
    message = events[0].message
    assert "29.0 %" in message
    assert "30.0 %" in message
    assert "35.0 %" in message
    assert events[0].values["value"] == 29.0
    assert events[0].values["threshold"] == 30.0
    assert [a.kind for a in update.active] == [AlertKind.BATTERY_LOW_SOC]
    assert update.state.battery_level == "warning"


def test_critical_escalates_and_policy_sees_it() -> None:
    soc = [40.0 - 0.05 * t for t in range(0, 600, 5)]
    update, events = run([calm(t, soc_pct=s) for t, s in zip(range(0, 600, 5), soc, strict=True)])
    assert kinds(events, EventKind.ALERT_RAISED) == [
        (AlertKind.BATTERY_LOW_SOC, Severity.WARNING),
        (AlertKind.BATTERY_LOW_SOC, Severity.CRITICAL),
    ]
    assert update.state.battery_level == "critical"
    assert len(update.active) == 1
    assert update.active[0].severity is Severity.CRITICAL


def test_battery_alarm_latches_per_discharge_and_rearms_on_charging() -> None:
    ticks = [calm(t, soc_pct=28.0) for t in range(0, 100, 5)]
    # a SoC correction upwards clears the alert with a recovery message, but it does not re-raise
    ticks += [calm(t, soc_pct=36.0) for t in range(100, 200, 5)]
    ticks += [calm(t, soc_pct=28.0) for t in range(200, 400, 5)]
    _, events = run(ticks)
    assert kinds(events, EventKind.ALERT_RAISED) == [(AlertKind.BATTERY_LOW_SOC, Severity.WARNING)]
    cleared = [e for e in events if e.kind is EventKind.ALERT_CLEARED]
    assert len(cleared) == 1
    assert cleared[0].message.startswith("Recovered")
    assert "36.0 %" in cleared[0].message
    # charging (grid back) is confirmed after its delay: it re-arms the battery alarms
    ticks += [calm(t, soc_pct=40.0, charging=True) for t in range(400, 500, 5)]
    ticks += [calm(t, soc_pct=28.0) for t in range(500, 700, 5)]
    _update, events = run(ticks)
    raised = kinds(events, EventKind.ALERT_RAISED)
    assert raised.count((AlertKind.BATTERY_LOW_SOC, Severity.WARNING)) == 2
    assert (AlertKind.CHARGING, Severity.INFO) in raised
    assert [e.alert_kind for e in events if e.kind is EventKind.ALERT_CLEARED].count(AlertKind.CHARGING) == 1


def test_charging_clears_an_active_battery_alarm_with_a_recovery_message() -> None:
    ticks = [calm(t, soc_pct=10.0, runtime_left_s=3600.0) for t in range(0, 60, 5)]
    update, _ = run(ticks)
    assert update.state.battery_level == "critical"
    update, events = run(ticks + [calm(t, soc_pct=10.5, charging=True) for t in range(60, 120, 5)])
    assert update.state.battery_level == "normal"
    assert [a.kind for a in update.active] == [AlertKind.CHARGING]
    clears = [e for e in events if e.kind is EventKind.ALERT_CLEARED]
    assert {e.alert_kind for e in clears} == {AlertKind.BATTERY_LOW_SOC, AlertKind.BATTERY_LOW_RUNTIME}
    assert all("charging" in e.message for e in clears)


def test_runtime_alarm_uses_hours_in_its_message() -> None:
    _, events = run([calm(t, runtime_left_s=20 * 3600.0) for t in range(0, 60, 5)])
    assert kinds(events, EventKind.ALERT_RAISED) == [(AlertKind.BATTERY_LOW_RUNTIME, Severity.WARNING)]
    assert "20.0 h" in events[0].message
    assert "24.0 h" in events[0].message


def test_pressure_low_needs_the_delay_and_door_open_holds_it() -> None:
    short = [calm(t, pressure_pa=1.0) for t in range(0, 50, 5)] + [calm(t) for t in range(50, 100, 5)]
    assert run(short)[1] == []
    door = [calm(t, pressure_pa=0.5, door_open=True) for t in range(0, 300, 5)]
    assert run(door)[1] == []
    long = [calm(t, pressure_pa=1.0) for t in range(0, 65, 5)]
    update, events = run(long)
    assert kinds(events, EventKind.ALERT_RAISED) == [(AlertKind.PRESSURE_LOW, Severity.CRITICAL)]
    assert "1.0 Pa" in events[0].message
    assert "2.5 Pa" in events[0].message
    # return-to-normal: 30 s above floor + margin (3.0 Pa) before it clears
    update, events = run(long + [calm(t, pressure_pa=2.8) for t in range(65, 200, 5)])
    assert kinds(events, EventKind.ALERT_CLEARED) == []
    recovery = [calm(t, pressure_pa=4.0) for t in range(200, 225, 5)]
    update, events = run(long + recovery)
    assert kinds(events, EventKind.ALERT_CLEARED) == []
    update, events = run(long + recovery + [calm(230, pressure_pa=4.0)])
    assert kinds(events, EventKind.ALERT_CLEARED) == [(AlertKind.PRESSURE_LOW, Severity.INFO)]
    assert update.active == ()


def test_a_door_hold_defers_pressure_low_and_a_closed_door_starts_its_delay_again() -> None:
    held = [calm(t, pressure_pa=0.5, door_open=True) for t in range(0, 120, 5)]
    _, events = run([*held, calm(120, pressure_pa=0.5), calm(125, pressure_pa=0.5)])
    assert kinds(events, EventKind.ALERT_RAISED) == [(AlertKind.PRESSURE_LOW, Severity.CRITICAL)]
    assert events[0].timestamp_utc == T0 + timedelta(seconds=120)
    closed = [*held[:6], calm(30, pressure_pa=1.0, door_closed=True)]
    dip = [calm(t, pressure_pa=1.0) for t in range(35, 95, 5)]
    assert run([*closed, *dip])[1] == []
    _, events = run([*closed, *dip, calm(95, pressure_pa=1.0)])
    assert [e.timestamp_utc for e in events] == [T0 + timedelta(seconds=95)]


@pytest.mark.parametrize(
    ("evidence", "words"),
    [("tachometer: it reads standstill", "evidence: tachometer"), (None, "evidence: none given")],
)
def test_fan_stalled_names_its_evidence(evidence: str | None, words: str) -> None:
    ticks = [calm(t, fan_stalled=True, fan_stall_evidence=evidence) for t in range(0, 20, 5)]
    _, events = run(ticks)
    assert kinds(events, EventKind.ALERT_RAISED) == [(AlertKind.FAN_STALLED, Severity.CRITICAL)]
    assert words in events[0].message


def test_pressure_high_only_with_a_cap() -> None:
    assert run([calm(t, pressure_pa=40.0) for t in range(0, 100, 5)])[1] == []
    _, events = run([calm(t, pressure_pa=40.0, pressure_cap_pa=25.0) for t in range(0, 100, 5)])
    assert kinds(events, EventKind.ALERT_RAISED) == [(AlertKind.PRESSURE_HIGH, Severity.WARNING)]


def test_unknown_pressure_holds_the_alarm_and_the_stale_alarm_speaks() -> None:
    ticks = [calm(t, pressure_pa=None, pressure_stale=True) for t in range(0, 120, 5)]
    _update, events = run(ticks)
    assert kinds(events, EventKind.ALERT_RAISED) == [(AlertKind.PRESSURE_SENSOR_STALE, Severity.WARNING)]


@pytest.mark.parametrize(
    ("changes", "kind", "severity"),
    [
        ({"shunt_stale": True, "soc_pct": None, "runtime_left_s": None}, AlertKind.SHUNT_STALE, Severity.WARNING),
        ({"fan_stalled": True}, AlertKind.FAN_STALLED, Severity.CRITICAL),
        ({"fan_fault": True}, AlertKind.FAN_FAULT, Severity.WARNING),
        ({"deadline_shortfall_s": 7200.0}, AlertKind.DEADLINE_AT_RISK, Severity.WARNING),
        ({"charging": True}, AlertKind.CHARGING, Severity.INFO),
    ],
)
def test_each_kind_raises_once_and_clears_once(changes: dict[str, object], kind: AlertKind, severity: Severity) -> None:
    ticks = [calm(t, **changes) for t in range(0, 600, 5)] + [calm(t) for t in range(600, 1200, 5)]
    update, events = run(ticks)
    assert kinds(events, EventKind.ALERT_RAISED) == [(kind, severity)]
    assert [e.alert_kind for e in events if e.kind is EventKind.ALERT_CLEARED] == [kind]
    assert update.active == ()


def test_sink_conditions_become_alerts() -> None:
    on = Condition(AlertKind.HISTORY_BACKLOG, True, "history backlog 5000 rows > 1000 rows", {"rows": 5000.0})
    off = Condition(AlertKind.HISTORY_BACKLOG, False, "history backlog drained (0 rows)", {"rows": 0.0})
    update, events = run([calm(0, conditions=(on,)), calm(5, conditions=(on,))])
    assert [a.kind for a in update.active] == [AlertKind.HISTORY_BACKLOG]
    assert len(events) == 1
    assert events[0].values["rows"] == 5000.0
    update, events = run([calm(0, conditions=(on,)), calm(5, conditions=(off,))])
    assert update.active == ()
    assert events[-1].kind is EventKind.ALERT_CLEARED


def test_an_active_condition_alert_follows_the_newest_report_without_raising_again() -> None:
    first = Condition(
        AlertKind.HISTORY_BACKLOG, True, "history database x does not answer: 40 rows waiting", {"pending_rows": 40.0}
    )
    later = Condition(
        AlertKind.HISTORY_BACKLOG, True, "history database x does not answer: 900 rows waiting", {"pending_rows": 900.0}
    )
    update, events = run([calm(0, conditions=(first,)), calm(5, conditions=(later,))])
    assert len(events) == 1
    assert events[0].values["pending_rows"] == 40.0
    (alert,) = update.active
    assert alert.message == later.message
    assert alert.values["pending_rows"] == 900.0
    assert alert.raised_utc == T0


def _pairs_alternate(events: list[Event]) -> dict[tuple[AlertKind | None, Severity], int]:
    """Per alert (kind, level): raises and clears alternate; returns how many are still open."""
    open_: dict[tuple[AlertKind | None, Severity], int] = {}
    for e in events:
        if e.kind is EventKind.ALERT_RAISED:
            key = (e.alert_kind, e.severity)
            assert open_.get(key, 0) == 0, f"{key} raised twice without a clear"
            open_[key] = 1
        elif e.kind is EventKind.ALERT_CLEARED:
            matching = [k for k, n in open_.items() if k[0] is e.alert_kind and n]
            assert matching, f"{e.alert_kind} cleared without a raise"
            open_[matching[0]] = 0
    return open_


@settings(max_examples=60, deadline=None)
@given(
    amplitude=st.floats(min_value=0.0, max_value=0.49),
    noise=st.lists(st.floats(min_value=-1.0, max_value=1.0), min_size=50, max_size=50),
    dip_s=st.integers(min_value=0, max_value=600),
)
def test_noisy_pressure_around_the_floor_raises_at_most_once_per_excursion(
    amplitude: float, noise: list[float], dip_s: int
) -> None:
    """Room pressure wobbles around the 2.5 Pa floor for a while (never reaching the 3.0 Pa clear
    level), then comes back well above: at most one raise, and a clear for every raise."""
    ticks = []
    for i, t in enumerate(range(0, 1800, 5)):
        wobble = amplitude * noise[i % len(noise)]
        in_dip = 100 <= t < 100 + dip_s
        ticks.append(calm(t, pressure_pa=(2.5 + wobble) if in_dip else 6.0 + wobble))
    _, events = run(ticks)
    raised = kinds(events, EventKind.ALERT_RAISED)
    assert raised in ([], [(AlertKind.PRESSURE_LOW, Severity.CRITICAL)])
    assert len(kinds(events, EventKind.ALERT_CLEARED)) == len(raised)


@settings(max_examples=40, deadline=None)
@given(dip_s=st.integers(min_value=65, max_value=600), amplitude=st.floats(min_value=0.0, max_value=2.0))
def test_a_real_pressure_dip_raises_exactly_once(dip_s: int, amplitude: float) -> None:
    ticks = []
    for i, t in enumerate(range(0, 1800, 5)):
        wobble = amplitude * (1 if i % 2 else -1)
        in_dip = 100 <= t < 100 + dip_s
        ticks.append(calm(t, pressure_pa=(2.4 - abs(wobble)) if in_dip else 6.0 + wobble))
    _, events = run(ticks)
    assert kinds(events, EventKind.ALERT_RAISED) == [(AlertKind.PRESSURE_LOW, Severity.CRITICAL)]
    assert kinds(events, EventKind.ALERT_CLEARED) == [(AlertKind.PRESSURE_LOW, Severity.INFO)]


@settings(max_examples=60, deadline=None)
@given(
    noise=st.lists(st.floats(min_value=-4.9, max_value=4.9), min_size=20, max_size=200),
    step_s=st.integers(min_value=1, max_value=60),
    latch=st.booleans(),
)
def test_noisy_soc_around_the_warning_level_raises_at_most_once_per_discharge(
    noise: list[float], step_s: int, latch: bool
) -> None:
    """SoC noise of up to ±4.9 % around the 30 % warning level: hysteresis alone (latching off) or
    latching keeps it to one raise."""
    ticks = [calm(i * step_s, soc_pct=30.0 + n) for i, n in enumerate(noise)]
    _, events = run(ticks, replace(CONFIG, latch_battery=latch))
    raised = kinds(events, EventKind.ALERT_RAISED)
    assert raised.count((AlertKind.BATTERY_LOW_SOC, Severity.WARNING)) <= 1
    assert len(kinds(events, EventKind.ALERT_CLEARED)) <= 1


signal = st.one_of(st.none(), st.floats(min_value=-5.0, max_value=100.0))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            signal,
            signal,
            st.booleans(),
            st.booleans(),
            st.booleans(),
            st.booleans(),
            st.booleans(),
            st.one_of(st.none(), st.floats(min_value=-7200.0, max_value=7200.0)),
            st.integers(min_value=1, max_value=120),
        ),
        max_size=120,
    )
)
def test_every_raise_is_paired_with_a_clear_and_nothing_flaps(
    steps: list[tuple[float | None, float | None, bool, bool, bool, bool, bool, float | None, int]],
) -> None:
    """Arbitrary inputs: per alert level raises and clears alternate; once everything is back to normal
    (and the battery has charged, which re-arms battery alarms) every raise has had its clear."""
    t = 0.0
    ticks = []
    for soc, pressure, charging, door, shunt_stale, fan_stalled, fan_fault, shortfall, dt in steps:
        t += dt
        ticks.append(
            calm(
                t,
                soc_pct=soc,
                runtime_left_s=None if soc is None else soc * 3600.0,
                charging=charging,
                pressure_pa=pressure,
                door_open=door,
                shunt_stale=shunt_stale,
                fan_stalled=fan_stalled,
                fan_fault=fan_fault,
                deadline_shortfall_s=shortfall,
                pressure_cap_pa=50.0,
            )
        )
    recovery = [calm(t + s, charging=True) for s in range(5, 400, 5)]
    recovery += [calm(t + s) for s in range(400, 800, 5)]
    update, events = run(ticks + recovery)
    still_open = _pairs_alternate(events)
    assert not any(still_open.values()), still_open
    assert update.active == ()


def test_nan_is_unknown_and_infinite_runtime_is_plenty() -> None:
    low = [calm(t, soc_pct=10.0) for t in range(0, 60, 5)]
    update, _ = run(low)
    assert update.state.battery_level == "critical"
    update, events = run(low + [calm(t, soc_pct=float("nan"), pressure_pa=float("nan")) for t in range(60, 300, 5)])
    assert update.state.battery_level == "critical", "unknown holds the alarm"
    assert all("nan" not in e.message for e in events)
    _, events = run([calm(t, runtime_left_s=float("inf")) for t in range(0, 300, 5)])
    assert events == []

"""The room-pressure estimator on recorded-style traces: gusts, a door open for a minute and for an hour,
the fan switched off, a stall with and without a tachometer, a slow leak. For each: the filtered value,
the classification and the times at which it changes."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.room_pressure import (
    RoomCondition,
    RoomEstimate,
    RoomPressureState,
    RoomReading,
    RoomSettings,
    RoomVerdict,
    StallEvidence,
    plausible_pa,
    update_room,
)
from tests.control.room_traces import FAN_CFM, FAN_W, ROOM_C_CFM, Happenings, Tick, trace

SETTINGS = RoomSettings(filter_s=15.0, door_drop_pa=3.0, door_window_s=5.0, door_hold_s=120.0, leakage_n=0.65)
AT = 1200.0
"""Events start here: the room curve has learned for ten minutes by then."""


@dataclass(frozen=True)
class Run:
    ticks: list[Tick]
    verdicts: list[RoomVerdict]
    curve: RoomEstimate

    def when(self, predicate: object, after: float = 0.0) -> float | None:
        """The first time at or after `after` the verdict satisfies the predicate."""
        for tick, verdict in zip(self.ticks, self.verdicts, strict=True):
            if tick.t_s >= after and predicate(verdict):  # type: ignore[operator]
                return tick.t_s
        return None

    def between(self, start: float, end: float) -> list[tuple[Tick, RoomVerdict]]:
        return [(t, v) for t, v in zip(self.ticks, self.verdicts, strict=True) if start <= t.t_s < end]

    def doors(self) -> list[float]:
        return [t.t_s for t, v in zip(self.ticks, self.verdicts, strict=True) if v.door_opened]

    def true_mean(self, start: float, end: float) -> float:
        return statistics.fmean(t.true_pa for t, _ in self.between(start, end))

    def filtered_at(self, t_s: float) -> float:
        value = self.verdicts[int(t_s)].pressure_pa
        assert value is not None
        return value


CALM = Happenings()


def run(duration_s: float, happenings: Happenings = CALM, *, commanded_off: tuple[float, float] | None = None,
        seed: int = 15) -> Run:  # fmt: skip
    state, curve = RoomPressureState(), RoomEstimate(20.0)
    ticks, verdicts = [], []
    for tick in trace(duration_s, happenings, seed):
        off = commanded_off is not None and commanded_off[0] <= tick.t_s < commanded_off[1]
        reading = RoomReading(
            now_s=tick.t_s,
            raw_pa=tick.raw_pa,
            expected_flow_cfm=0.0 if off else FAN_CFM,
            fan_model_w=0.0 if off else FAN_W,
            fan_power_w=tick.fan_w,
            tach_present=tick.rpm is not None,
            tach_stalled=tick.tach_stalled and not off,
            flow_steady_s=tick.t_s - commanded_off[0] if off and commanded_off else tick.t_s,
            dt_s=1.0 if tick.t_s else 0.0,
        )
        state, curve, verdict = update_room(state, curve, reading, SETTINGS)
        ticks.append(tick)
        verdicts.append(verdict)
    return Run(ticks, verdicts, curve)


def is_(condition: RoomCondition) -> object:
    return lambda v: v.condition is condition


def test_gusts_are_filtered_and_never_a_door() -> None:
    result = run(3600.0)
    assert result.doors() == []
    settled = result.between(120.0, 3600.0)
    assert {v.condition for _, v in settled} == {RoomCondition.NORMAL}
    raw = [t.raw_pa for t, _ in settled]
    filtered = [v.pressure_pa for _, v in settled]
    assert statistics.fmean(filtered) == pytest.approx(statistics.fmean(raw), abs=0.3)  # type: ignore[arg-type]
    gusty = [t for t, _ in settled if abs(t.raw_pa - result.true_mean(t.t_s - 60.0, t.t_s)) > 2.5]
    assert gusty
    assert all(abs(result.filtered_at(t.t_s) - result.true_mean(t.t_s - 60.0, t.t_s)) < 1.5 for t in gusty)
    assert result.curve.c_cfm == pytest.approx(ROOM_C_CFM, rel=0.1)
    assert result.curve.uncertainty_pct is not None
    assert 0.0 < result.curve.uncertainty_pct < 25.0


def test_a_door_open_for_a_minute_is_one_door_held_until_the_pressure_returns() -> None:
    result = run(1800.0, Happenings(doors=((AT, AT + 60.0),)))
    assert len(result.doors()) == 1
    opened = result.doors()[0]
    assert AT < opened <= AT + 2.0
    assert all(v.held and v.condition is RoomCondition.DOOR for _, v in result.between(opened, AT + 60.0))
    released = result.when(lambda v: not v.held, after=opened)
    assert released is not None
    assert released <= AT + 62.0
    assert [t.t_s for t, v in result.between(0.0, 1800.0) if v.door_closed] == [released]
    assert result.when(lambda v: v.held, after=released) is None
    fell = result.when(lambda v: v.pressure_pa < 2.5, after=AT)
    assert fell is not None
    assert fell <= AT + 2 * SETTINGS.filter_s
    assert result.when(is_(RoomCondition.NORMAL), after=opened) == released
    settled = result.filtered_at(AT + 60.0 + 4 * SETTINGS.filter_s)
    assert settled == pytest.approx(result.true_mean(1300.0, 1800.0), abs=1.0)


@pytest.mark.parametrize(
    ("tachometer", "power", "after_the_hold"),
    [(True, True, RoomCondition.LOSS), (False, False, RoomCondition.FAN_STOPPED)],
    ids=["fan seen running: a loss", "nothing to ask the fan: pressure evidence of a stop"],
)
def test_a_door_open_for_an_hour_holds_only_up_to_door_hold(
    tachometer: bool, power: bool, after_the_hold: RoomCondition
) -> None:
    result = run(5400.0, Happenings(doors=((AT, AT + 3600.0),), tachometer=tachometer, power=power))
    assert len(result.doors()) == 1
    opened = result.doors()[0]
    released = result.when(lambda v: not v.held, after=opened)
    assert released == opened - 1.0 + SETTINGS.door_hold_s  # from the first collapsed reading, a tick earlier
    assert not any(v.door_closed for v in result.verdicts)
    assert {v.condition for _, v in result.between(released, AT + 3600.0)} == {after_the_hold}
    if after_the_hold is RoomCondition.FAN_STOPPED:
        assert result.verdicts[int(released)].stall is StallEvidence.PRESSURE
    for t_s in (AT + 600.0, AT + 1800.0, AT + 3500.0):
        assert result.filtered_at(t_s) == pytest.approx(result.true_mean(t_s - 30.0, t_s), abs=1.0)
    assert result.when(is_(RoomCondition.NORMAL), after=AT + 3600.0) is not None


def test_the_fan_switched_off_at_its_own_switch_is_a_stopped_fan_not_a_door() -> None:
    result = run(2400.0, Happenings(switched_off=((AT, AT + 600.0),)))
    stopped = result.when(lambda v: v.fan_stopped, after=AT)
    assert stopped is not None
    assert stopped <= AT + SETTINGS.evidence_s + 1.0
    assert result.verdicts[int(AT + 30.0)].stall is StallEvidence.TACHOMETER
    assert result.when(lambda v: v.held, after=stopped) is None
    assert {v.condition for _, v in result.between(stopped, AT + 600.0)} == {RoomCondition.FAN_STOPPED}
    assert abs(result.filtered_at(AT + 4 * SETTINGS.filter_s)) < 1.5
    assert result.when(is_(RoomCondition.NORMAL), after=AT + 600.0) is not None


def test_the_fan_commanded_off_is_no_door_and_no_stall() -> None:
    result = run(2400.0, Happenings(switched_off=((AT, AT + 600.0),)), commanded_off=(AT, AT + 600.0))
    assert result.doors() == []
    assert {v.condition for _, v in result.between(AT, AT + 600.0)} == {RoomCondition.FAN_OFF}
    assert result.filtered_at(AT + 120.0) < 1.5


@pytest.mark.parametrize(
    ("tachometer", "power", "evidence", "within_s"),
    [
        (True, True, StallEvidence.TACHOMETER, 6.0),
        (False, True, StallEvidence.POWER, SETTINGS.evidence_s + 1.0),
        (False, False, StallEvidence.PRESSURE, SETTINGS.door_hold_s + 2.0),
    ],
    ids=["tachometer", "power signature", "pressure evidence"],
)
def test_a_stall_is_seen_from_the_best_evidence_there_is(
    tachometer: bool, power: bool, evidence: StallEvidence, within_s: float
) -> None:
    result = run(2400.0, Happenings(stalls=((AT, AT + 300.0),), tachometer=tachometer, power=power))
    stopped = result.when(lambda v: v.fan_stopped, after=AT)
    assert stopped is not None
    assert stopped <= AT + within_s
    assert result.verdicts[int(stopped)].stall is evidence
    named = {StallEvidence.TACHOMETER: "tachometer", StallEvidence.POWER: "power signature"}
    assert (result.verdicts[int(stopped)].evidence or "").startswith(named.get(evidence, "pressure evidence"))
    assert len(result.doors()) == (1 if evidence is StallEvidence.PRESSURE else 0)
    assert result.when(lambda v: v.held, after=stopped) is None
    assert all(v.fan_stopped for _, v in result.between(stopped, AT + 300.0))
    assert result.filtered_at(AT + 60.0) < 2.5
    assert result.when(is_(RoomCondition.NORMAL), after=AT + 300.0) is not None


def test_a_slow_leak_is_a_loss_and_the_filter_follows_it() -> None:
    result = run(5400.0, Happenings(leak_start_s=1800.0))
    assert result.doors() == []
    assert result.when(is_(RoomCondition.DOOR)) is None
    loss = result.when(is_(RoomCondition.LOSS), after=1800.0)
    assert loss is not None
    assert loss < 3600.0
    assert {v.condition for _, v in result.between(3600.0, 5400.0)} == {RoomCondition.LOSS}
    assert "room curve" in result.verdicts[-1].reason
    for t_s in (2400.0, 3000.0, 4000.0, 5300.0):
        assert result.filtered_at(t_s) == pytest.approx(result.true_mean(t_s - 30.0, t_s), abs=1.0)
    assert result.curve.c_cfm < 1.5 * ROOM_C_CFM


def test_a_stale_reading_leaves_the_filter_and_says_unknown() -> None:
    first = RoomReading(0.0, 8.0, FAN_CFM, FAN_W)
    state, curve, _ = update_room(RoomPressureState(), RoomEstimate(20.0), first, SETTINGS)
    later, same_curve, verdict = update_room(state, curve, RoomReading(5.0, None, FAN_CFM, FAN_W), SETTINGS)
    assert later == state
    assert same_curve == curve
    assert verdict.pressure_pa is None
    assert verdict.condition is RoomCondition.UNKNOWN


def test_a_fan_ramping_down_is_not_a_door() -> None:
    """A pressure that falls because the fan's own flow fell (its rotor spinning down) is no door."""
    state, curve = RoomPressureState(), RoomEstimate(20.0)
    opened = []
    for second in range(120):
        flow = 400.0 if second < 60 else 60.0
        true_flow = 60.0 + 340.0 * math.exp(-max(0.0, second - 60) / 3.0) if second >= 60 else 400.0
        raw = (true_flow / ROOM_C_CFM) ** (1 / 0.65)
        reading = RoomReading(float(second), raw, flow, 10.0, flow_steady_s=second % 60, dt_s=1.0)
        state, curve, verdict = update_room(state, curve, reading, SETTINGS)
        opened.append(verdict.door_opened)
    assert not any(opened)
    assert replace(state).collapse is None


readings = st.lists(
    st.tuples(
        st.floats(0.5, 30.0),
        st.one_of(st.none(), st.floats(-20.0, 60.0), st.sampled_from([math.nan, math.inf, -math.inf, 1e9, -3e3])),
        st.booleans(),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(ticks=readings, flow=st.sampled_from([0.0, 57.0, 141.0, 413.0]))
def test_the_filter_never_holds_nor_takes_garbage_and_a_hold_never_outlasts_door_hold(
    ticks: list[tuple[float, float | None, bool]], flow: float
) -> None:
    state, curve = RoomPressureState(), RoomEstimate(39.0)
    now, seen, opened_at = 0.0, [], None
    for dt, raw, tach_stalled in ticks:
        now += dt
        reading = RoomReading(now, raw, flow, 4.12, tach_present=True, tach_stalled=tach_stalled, dt_s=dt)
        state, curve, verdict = update_room(state, curve, reading, SETTINGS)
        if plausible_pa(raw):
            assert raw is not None
            seen.append(raw)
            assert verdict.pressure_pa is not None
            assert min(seen) - 1e-9 <= verdict.pressure_pa <= max(seen) + 1e-9
        elif raw is not None:
            assert (verdict.pressure_pa, verdict.condition) == (None, RoomCondition.UNKNOWN) or verdict.fan_stopped
        if verdict.door_opened:
            opened_at = now
        if verdict.held:
            assert opened_at is not None
            assert now - opened_at < SETTINGS.door_hold_s
            assert not verdict.fan_stopped
        assert verdict.fan_stopped is (tach_stalled or verdict.stall is not None)
    assert math.isfinite(curve.c_cfm)
    assert state.filtered_pa is None or math.isfinite(state.filtered_pa)


def test_a_sustained_change_is_followed_within_a_few_filter_time_constants() -> None:
    state, curve = RoomPressureState(), RoomEstimate(39.0)
    for second in range(200):
        raw = 8.0 if second < 100 else 3.0
        state, curve, verdict = update_room(state, curve, RoomReading(float(second), raw, 141.0, 4.12), SETTINGS)
        if second == 100 + 5 * SETTINGS.filter_s:
            assert verdict.pressure_pa == pytest.approx(3.0, abs=0.05)


@pytest.mark.parametrize("door_s", [60.0, 600.0])
def test_a_door_stays_one_door_while_the_policy_time_shares_two_settings(door_s: float) -> None:
    """Time-sharing switches the fan between settings every 30 s: the collapse's level moves with the flow,
    so the door is held until it closes (or `door_hold`), not until the next switch."""
    state, curve = RoomPressureState(), RoomEstimate(ROOM_C_CFM)
    held, closed, doors = [], [], 0
    for second in range(1200):
        flow = FAN_CFM if (second // 30) % 2 == 0 else 100.0
        door = 600 <= second < 600 + door_s
        raw = (flow / (ROOM_C_CFM * (100.0 if door else 1.0))) ** (1 / 0.65)
        reading = RoomReading(float(second), raw, flow, FAN_W, 0.8 * FAN_W * flow / FAN_CFM, dt_s=1.0)
        state, curve, verdict = update_room(state, curve, reading, SETTINGS)
        doors += verdict.door_opened
        held += [second] if verdict.held else []
        closed += [second] if verdict.door_closed else []
    assert doors == 1
    last = 600 + min(door_s, SETTINGS.door_hold_s)
    assert held == list(range(601, int(last) + (1 if door_s < SETTINGS.door_hold_s else 0)))
    assert closed == ([int(600 + door_s) + 1] if door_s < SETTINGS.door_hold_s else [])

"""The curve's lower bend: where a pack reveals how much it really holds. The estimator synchronises there
when the count is well above what the voltage reads (a pack smaller than configured), and the plan spends
more than the lower bound while the bend can still warn in time."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.step import ShuntInput, initial_state, step
from controller.step.planning import spendable_wh
from controller.step.state import BendWarning
from controller.step.views import bend_warning, on_charger, plannable_wh
from controller.truth import OcvCurve, TruthReading, TruthSettings, energy, lifepo4_curve, start, update
from controller.truth.filter import lower_bend_pct
from tests.control.battery_traces import T0, TrueBattery, discharge, settings_steps
from tests.control.test_step import inputs, settings_for

HOUR_S = 3600.0
SETTINGS = TruthSettings(
    capacity_ah=20.0, curve=lifepo4_curve(12.8), charged_v=14.0, tail_current_a=0.8, charged_time_s=180.0
)
FAN = settings_steps(600.0, (20.0, 40.0, 70.0, 30.0))


def test_the_bend_is_where_the_curve_reads_the_state_of_charge_closely_enough() -> None:
    curve = lifepo4_curve(12.8)
    assert curve.lower_bend_pct(0.03, 2.5) == 20.0  # 15-20 %: 16 mV/%, 1.9 %; 20-40 %: 3.5 mV/%, 8.6 %
    assert curve.lower_bend_pct(0.03, 1.0) == 15.0
    assert curve.lower_bend_pct(0.03, 0.5) == 10.0
    assert OcvCurve((0.0, 100.0), (12.0, 13.0)).lower_bend_pct(0.03, 2.5) == 0.0
    assert lower_bend_pct(SETTINGS) == 20.0


def _trace(true_capacity_ah: float) -> list[tuple[float, str | None, float]]:
    """(true state of charge, last synchronisation, capacity in use) along a discharge from full."""
    state = None
    out: list[tuple[float, str | None, float]] = []
    for sample in discharge(TrueBattery(capacity_ah=true_capacity_ah), FAN, until_soc_pct=8.0):
        r = sample.reading
        if state is None:
            state = start(SETTINGS, soc_pct=100.0, voltage_v=r.voltage_v, current_a=r.current_a, now_utc=r.now_utc)
            assert state is not None
        state = update(state, SETTINGS, r)
        out.append((100.0 * sample.true_charge_ah / true_capacity_ah, state.last_sync, state.capacity_ah))
    return out


def test_a_pack_smaller_than_configured_is_learned_at_the_bend_before_the_knee() -> None:
    trace = _trace(16.0)
    at_bend = next((soc, capacity) for soc, sync, capacity in trace if sync == "empty")
    true_soc, capacity = at_bend
    assert SETTINGS.knee_soc_pct + 3.0 < true_soc <= 20.5
    assert capacity == pytest.approx(16.0, rel=0.05)


def test_a_pack_as_configured_waits_for_the_knee() -> None:
    trace = _trace(20.0)
    first_sync_soc = next(soc for soc, sync, _ in trace if sync == "empty")
    assert first_sync_soc <= SETTINGS.knee_soc_pct + 0.5


def test_without_a_warning_the_plan_spends_the_lower_bound() -> None:
    assert spendable_wh(500.0, 600.0, None, 72 * HOUR_S, 4.0) == 500.0
    assert spendable_wh(500.0, None, BendWarning(500.0, 60.0), 72 * HOUR_S, 4.0) == 500.0


def test_a_bend_that_alone_reaches_the_deadline_lets_the_plan_spend_the_central_estimate() -> None:
    assert spendable_wh(500.0, 600.0, BendWarning(500.0, 60.0), 10 * HOUR_S, 4.0) == 600.0
    assert spendable_wh(500.0, 600.0, BendWarning(500.0, 60.0), 72 * HOUR_S, 0.0) == 600.0  # off allowed


def test_the_plan_spends_as_fast_as_the_low_case_allows() -> None:
    """640 Wh over 3 days: lower bound 525 Wh, a low case of 500 Wh with 60 Wh below the bend, 4.12 W slowest."""
    spend = spendable_wh(525.0, 630.0, BendWarning(500.0, 60.0), 72 * HOUR_S, 4.12)
    assert spend == pytest.approx((500.0 - 60.0) / (72.0 - 60.0 / 4.12) * 72.0)
    assert 525.0 < spend < 630.0


@given(
    lower=st.floats(0.0, 3000.0),
    extra=st.floats(0.0, 1000.0),
    low_share=st.floats(0.5, 1.0),
    bend_share=st.floats(0.0, 0.5),
    hours=st.floats(0.01, 24.0 * 366),
    slowest=st.floats(0.01, 50.0),
)
def test_in_the_low_case_the_bend_still_carries_the_slowest_point_to_the_deadline(
    lower: float, extra: float, low_share: float, bend_share: float, hours: float, slowest: float
) -> None:
    low_case = lower * low_share
    bend = low_case * bend_share
    spend = spendable_wh(lower, lower + extra, BendWarning(low_case, bend), hours * HOUR_S, slowest)
    assert lower - 1e-9 <= spend <= lower + extra + 1e-9
    if spend > lower + 1e-6:
        rate_w = spend / hours
        assert (low_case - bend) / rate_w + bend / slowest >= hours * (1 - 1e-9)


def test_the_low_case_takes_the_capacity_error_on_the_whole_pack() -> None:
    s = settings_for({"battery": {"reserve": "0 %"}})
    full = start(s.truth(), soc_pct=100.0, voltage_v=13.3, current_a=-0.5, now_utc=T0)
    assert full is not None
    half = replace(full, charge_ah=0.5 * full.capacity_ah, p_qq=0.01)
    estimate = energy(half, s.truth())
    warning = bend_warning(s, half, estimate)
    assert warning is not None
    assert warning.low_case_wh < plannable_wh(s, half, estimate), "a whole-pack error weighs more at half"
    low = replace(full, charge_ah=0.15 * full.capacity_ah)
    assert bend_warning(s, low, energy(low, s.truth())) is None, "at the bend the voltage tells the truth"


def test_the_step_plans_beyond_the_lower_bound_and_says_the_runtime_under_that_plan() -> None:
    s = settings_for({"battery": {"reserve": "0 %"}, "control": {"mode": "auto", "deadline": "3 days"}})
    state = initial_state(s, 0.0, T0)
    result = None
    for now in range(0, 100, 10):
        reading = ShuntInput(float(now), 13.2, -0.7, None, 80.0, None, None)
        result = step(s, state, inputs(float(now), shunt=reading))
        state = result.state
    assert result is not None
    assert state.planning.plan is not None
    lower_wh = result.snapshot.energy_usable_wh
    assert lower_wh is not None
    assert state.planning.plan.energy_wh * state.energy.power_ratio > 1.01 * lower_wh
    assert state.planning.meets_deadline
    runtime = result.snapshot.runtime_plan_s
    assert runtime is not None
    assert runtime >= 3 * 86400.0 - 120.0


@pytest.mark.parametrize(
    ("volts", "amps", "carried"),
    [
        (13.5, 0.004, True),  # a float charger holds the full pack at about 0 A and feeds the fan
        (13.5, -0.02, True),
        (13.55, -0.72, False),  # a full pack just off the charger, running the fan itself
        (13.1, -0.01, False),  # mid-curve: a shunt that misses the fan's current is not a charger
        (12.9, 5.0, True),  # current into the pack
    ],
)
def test_a_charger_is_seen_by_current_into_the_pack_or_by_a_full_pack_that_does_not_feed_the_fan(
    volts: float, amps: float, carried: bool
) -> None:
    s = settings_for({"control": {"mode": "runtime", "deadline": "7 days"}})
    assert on_charger(s, volts, amps, 9.74) is carried
    assert on_charger(s, volts, amps, 0.0) is (amps > 0.05), "a stopped fan draws nothing to miss"
    assert on_charger(s, None, None, 9.74) is False


def test_on_a_float_charger_the_fan_runs_for_air_then_the_plan_resumes() -> None:
    s = settings_for({"control": {"mode": "runtime", "deadline": "7 days"}})
    state = initial_state(s, 0.0, T0)
    state = step(s, state, inputs(0.0, shunt=ShuntInput(0.0, 12.9, -0.5, None, 20.0, None, None))).state
    planned = state.command_pct
    for now in range(10, 400, 10):
        reading = ShuntInput(float(now), 13.5, 0.004, None, 100.0, None, None)
        state = step(s, state, inputs(float(now), shunt=reading)).state
    assert state.planning.on_charger
    assert state.command_pct > planned
    for now in range(400, 800, 10):
        reading = ShuntInput(float(now), 12.9, -0.5, None, 20.0, None, None)
        state = step(s, state, inputs(float(now), shunt=reading)).state
    assert not state.planning.on_charger


def test_one_reading_below_the_bend_is_not_enough_to_synchronise() -> None:
    """A sag or a cold pack can put one reading below the bend: the next one, a voltage interval later, must
    agree before the count is synchronised there (and a capacity learned from it)."""
    full = start(SETTINGS, soc_pct=100.0, voltage_v=13.6, current_a=-0.5, now_utc=T0)
    assert full is not None
    state = replace(full, charge_ah=9.0, discharged_since_full_ah=11.0, last_update_s=0.0)
    readings = [(61.0, 12.75), (122.0, 12.93), (183.0, 12.75), (244.0, 12.75)]
    syncs = []
    for now, volts in readings:
        state = update(state, SETTINGS, TruthReading(now, T0 + timedelta(seconds=now), 1.0, volts, -0.5))
        syncs.append(state.last_sync)
    assert syncs[:3] == [None, None, None], "a single reading, then one back on the flat, then a new first one"
    assert syncs[3] == "empty"
    assert state.capacity_source == "learned"


def test_one_disagreeing_reading_on_its_own_moves_nothing() -> None:
    """At 60 % by the count, one reading of 12.75 V (a sag) leaves the estimate where it was; two in a row,
    a voltage interval apart, move it and are reported as a disagreement."""
    full = start(SETTINGS, soc_pct=100.0, voltage_v=13.6, current_a=-0.5, now_utc=T0)
    assert full is not None
    state = replace(full, charge_ah=12.0, last_update_s=0.0)
    sagged = update(state, SETTINGS, TruthReading(61.0, T0 + timedelta(seconds=61), 1.0, 12.75, -0.5))
    assert sagged.charge_ah == pytest.approx(12.0, abs=0.01)
    assert sagged.disagreement_pct is None
    recovered = update(sagged, SETTINGS, TruthReading(122.0, T0 + timedelta(seconds=122), 1.0, 12.93, -0.5))
    again = update(recovered, SETTINGS, TruthReading(183.0, T0 + timedelta(seconds=183), 1.0, 12.75, -0.5))
    assert again.charge_ah == pytest.approx(12.0, abs=0.01), "the flat reading between broke the run"
    confirmed = update(again, SETTINGS, TruthReading(244.0, T0 + timedelta(seconds=244), 1.0, 12.75, -0.5))
    assert confirmed.charge_ah < 5.0
    assert confirmed.disagreement_pct is not None

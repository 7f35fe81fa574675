"""The battery state estimator on synthetic traces of a physical battery (tests/control/battery_traces.py):
convergence from a wrong start, the knee, capacity and internal resistance learning, and invariants."""

from __future__ import annotations

import math
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.truth import OcvCurve, TruthReading, TruthSettings, TruthState, energy, lifepo4_curve, start, update
from tests.control.battery_traces import T0, Sample, TrueBattery, discharge, settings_steps

SETTINGS = TruthSettings(
    capacity_ah=20.0, curve=lifepo4_curve(12.8), charged_v=14.0, tail_current_a=0.8, charged_time_s=180.0
)
FAN = settings_steps(600.0, (20.0, 40.0, 70.0, 30.0))
"""A fan stepping through its settings every 10 min on a 20 Ah pack (a full discharge in about 6 h)."""


def run(samples: Iterable[Sample], soc_pct: float | None) -> list[tuple[Sample, TruthState]]:
    state: TruthState | None = None
    out = []
    for sample in samples:
        r = sample.reading
        if state is None:
            state = start(SETTINGS, soc_pct=soc_pct, voltage_v=r.voltage_v, current_a=r.current_a, now_utc=r.now_utc)
            assert state is not None
        state = update(state, SETTINGS, r)
        out.append((sample, state))
    return out


def test_the_default_curve_is_the_four_cell_lifepo4_curve() -> None:
    curve = lifepo4_curve(12.8)
    assert curve.voltage_at(50.0) == pytest.approx(12.885)
    assert curve.soc_at(curve.voltage_at(93.0)) == pytest.approx(93.0)
    assert curve.mean_v == pytest.approx(12.8, abs=0.01)
    assert lifepo4_curve(25.6).voltage_at(50.0) == pytest.approx(2 * 12.885)


@given(st.floats(-10.0, 110.0), st.floats(1.0, 400.0), st.sampled_from([12.8, 25.6, 51.2]))
@settings(max_examples=200, deadline=None)
def test_the_stored_energy_is_the_curve_integrated_over_the_charge(
    soc_pct: float, capacity_ah: float, nominal_v: float
) -> None:
    """The energy below a state of charge (summed once per curve) equals the voltage integrated by the
    midpoint rule in 0.01 % steps, from empty to the state of charge clamped to 0-100 %."""
    curve = lifepo4_curve(nominal_v)
    top = min(100.0, max(0.0, soc_pct))
    steps = max(1, round(top / 0.01))
    width = top / steps
    integral_v_pct = sum(curve.voltage_at((k + 0.5) * width) * width for k in range(steps))
    assert curve.energy_wh(soc_pct, capacity_ah) == pytest.approx(integral_v_pct / 100.0 * capacity_ah, rel=1e-6)


def test_a_curve_that_does_not_rise_is_refused() -> None:
    with pytest.raises(ValueError, match="rise"):
        OcvCurve((0.0, 50.0, 100.0), (12.0, 11.0, 13.0))
    with pytest.raises(ValueError, match="0 % to 100 %"):
        OcvCurve((10.0, 100.0), (12.0, 13.0))


@pytest.mark.parametrize("believed_pct", [100.0, 60.0])
def test_a_wrong_start_converges_at_the_top_of_the_curve(believed_pct: float) -> None:
    """The shunt says 100 % (or 60 %) while the battery holds 80 % (or 100 %): within minutes the voltage
    has put the estimate within 3 % of the truth, and the disagreement is reported."""
    truth = 80.0 if believed_pct == 100.0 else 100.0
    history = run(discharge(TrueBattery(soc_pct=truth), FAN, max_s=3600.0), believed_pct)
    sample, state = history[30]
    assert abs(state.charge_ah - sample.true_charge_ah) < 0.03 * SETTINGS.capacity_ah
    assert state.disagreement_pct is not None
    assert abs(state.disagreement_pct) > 10.0


def test_the_knee_synchronises_at_empty() -> None:
    history = run(discharge(TrueBattery(soc_pct=60.0), FAN, until_soc_pct=8.0), 60.0)
    assert history[0][1].last_sync is None
    sample, state = history[-1]
    assert state.last_sync == "empty"
    assert state.last_sync_utc is not None
    assert state.last_sync_utc > T0
    assert abs(state.charge_ah - sample.true_charge_ah) < 0.01 * SETTINGS.capacity_ah
    assert state.capacity_source == "configured"
    """A discharge that did not start from a full synchronisation teaches no capacity."""


@pytest.mark.parametrize("true_capacity_ah", [16.0, 20.0, 23.0])
def test_capacity_is_learned_within_3_percent_from_full_to_knee(true_capacity_ah: float) -> None:
    history = run(discharge(TrueBattery(capacity_ah=true_capacity_ah, offset_a=0.02), FAN, until_soc_pct=8.0), 100.0)
    assert history[5][1].last_sync == "full"
    _, state = history[-1]
    assert state.capacity_source == "learned"
    assert state.capacity_ah == pytest.approx(true_capacity_ah, rel=0.03)
    assert state.capacity_learned_utc is not None


def test_a_smaller_battery_is_not_trusted_before_the_bend_shows_it() -> None:
    """80 % of the configured capacity: invisible on the flat middle, learned at the curve's lower bend (or
    at the latest the knee); from then on the energy is right."""
    history = run(discharge(TrueBattery(capacity_ah=16.0), FAN, until_soc_pct=8.0), 100.0)
    middle = history[len(history) // 2][1]
    assert middle.capacity_source == "configured"
    sample, state = history[-1]
    assert state.capacity_ah == pytest.approx(16.0, rel=0.03)
    assert energy(state, SETTINGS).mean_wh == pytest.approx(
        SETTINGS.curve.energy_wh(100.0 * sample.true_charge_ah / 16.0, 16.0), rel=0.1
    )


def test_internal_resistance_is_learned_from_the_fans_setting_changes() -> None:
    history = run(discharge(TrueBattery(soc_pct=70.0, resistance_ohm=0.05), FAN, max_s=4 * 3600.0), 70.0)
    assert history[0][1].resistance_ohm == SETTINGS.resistance_ohm
    assert history[-1][1].resistance_ohm == pytest.approx(0.05, rel=0.15)


def test_without_a_state_of_charge_the_voltage_starts_the_estimate_wide_then_the_knee_tightens_it() -> None:
    history = run(discharge(TrueBattery(soc_pct=60.0), FAN, until_soc_pct=8.0), None)
    first = energy(history[0][1], SETTINGS)
    last_sample, last = history[-1]
    assert first.sigma_wh > 0.2 * 20.0 * 12.8
    assert first.lower_wh(1.28) < first.mean_wh
    assert energy(last, SETTINGS).sigma_wh < 0.06 * first.sigma_wh  # the rest: the capacity's 13 % on what is left
    assert abs(last.charge_ah - last_sample.true_charge_ah) < 0.2


def test_self_discharge_is_counted_although_no_shunt_sees_it() -> None:
    idle = lambda t: 0.5  # noqa: E731
    history = run(discharge(TrueBattery(soc_pct=50.0), idle, tick_s=600.0, max_s=30 * 86400.0), 50.0)
    sample, state = history[-1]
    assert sample.true_charge_ah < 9.5
    assert abs(state.charge_ah - sample.true_charge_ah) < 0.05


def test_readings_without_current_or_with_nan_change_nothing() -> None:
    state = start(SETTINGS, soc_pct=50.0, voltage_v=12.9, current_a=-1.0, now_utc=T0)
    assert state is not None
    assert update(state, SETTINGS, TruthReading(10.0, T0, 10.0, 12.9, None)) == state
    assert update(state, SETTINGS, TruthReading(10.0, T0, 10.0, 12.9, math.nan)) == state
    nan_volts = update(state, SETTINGS, TruthReading(10.0, T0, 10.0, math.nan, -1.0))
    assert math.isfinite(nan_volts.charge_ah)
    assert start(SETTINGS, soc_pct=None, voltage_v=None, current_a=None, now_utc=T0) is None


finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(
    soc=st.one_of(st.none(), st.floats(-50.0, 150.0)),
    readings=st.lists(st.tuples(st.floats(0.0, 5000.0), st.floats(0.0, 20.0), st.floats(-50.0, 50.0)), max_size=40),
)
def test_energy_is_never_negative_and_uncertainty_never_below_the_resolution(
    soc: float | None, readings: list[tuple[float, float, float]]
) -> None:
    state = start(SETTINGS, soc_pct=soc, voltage_v=13.0, current_a=-1.0, now_utc=T0)
    assert state is not None
    now = 0.0
    for dt, volts, amps in readings:
        now += dt
        state = update(state, SETTINGS, TruthReading(now, T0, dt, volts, amps))
        e = energy(state, SETTINGS)
        assert e.mean_wh >= 0.0
        assert e.lower_wh(2.0) >= 0.0
        assert state.charge_sigma_ah >= SETTINGS.charge_resolution_ah - 1e-12
        assert e.sigma_wh >= SETTINGS.charge_resolution_ah * SETTINGS.curve.voltage_v[0] - 1e-9
        assert 0.0 <= state.charge_ah <= state.capacity_ah
        assert 0.0 <= state.resistance_ohm <= 1.0


def test_a_slow_week_long_discharge_learns_the_capacity_not_a_current_offset() -> None:
    """On a slow discharge a smaller battery looks like a current offset near the top of the curve; the
    capacity is learned from the count the shunt made, within 3 %, and the offset stays within its prior."""
    slow = TruthSettings(
        capacity_ah=100.0, curve=lifepo4_curve(12.8), charged_v=14.0, tail_current_a=4.0, charged_time_s=180.0
    )
    fan = settings_steps(600.0, (5.4, 5.4, 9.0))
    state = None
    for sample in discharge(TrueBattery(capacity_ah=80.0, resistance_ohm=0.01), fan, until_soc_pct=5.0):
        r = sample.reading
        state = state or start(slow, soc_pct=100.0, voltage_v=r.voltage_v, current_a=r.current_a, now_utc=r.now_utc)
        assert state is not None
        state = update(state, slow, r)
    assert state is not None
    assert r.now_s > 5 * 86400.0
    assert state.capacity_source == "learned"
    assert state.capacity_ah == pytest.approx(80.0, rel=0.03)
    assert abs(state.offset_a) <= 3.0 * slow.offset_sigma_a + 1e-12

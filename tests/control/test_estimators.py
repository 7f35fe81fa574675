"""Estimators: pressure filter and door detector, room learning, energy, runtime, time to SoC."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.estimators import EnergyState, runtime_s, time_to_soc_s, update_energy
from controller.room_pressure import RoomEstimate, RoomPressureState, RoomReading, RoomSettings, learn_room, update_room

SETTINGS = RoomSettings(filter_s=15.0, door_drop_pa=3.0, door_window_s=5.0, door_hold_s=120.0)


def update_pressure(
    state: RoomPressureState, raw_pa: float | None, now_s: float, settings: RoomSettings
) -> tuple[RoomPressureState, bool]:
    """The room estimator with the fan steady at 141 CFM: the new state and whether a door opened."""
    reading = RoomReading(now_s, raw_pa, expected_flow_cfm=141.0, fan_model_w=4.12)
    state, _, verdict = update_room(state, RoomEstimate(20.0), reading, settings)
    return state, verdict.door_opened


def test_filter_smooths_wind_gusts() -> None:
    rng = random.Random(1)
    state = RoomPressureState()
    raw_spread, filtered = [], []
    for second in range(600):
        raw = 8.0 + rng.gauss(0.0, 1.5)
        state, door = update_pressure(state, raw, float(second), SETTINGS)
        assert not door
        if second > 100:
            raw_spread.append(raw)
            assert state.filtered_pa is not None
            filtered.append(state.filtered_pa)

    def spread(values: list[float]) -> float:
        mean = sum(values) / len(values)
        return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))

    assert spread(filtered) < spread(raw_spread) / 3
    assert sum(filtered) / len(filtered) == pytest.approx(8.0, abs=0.3)


def test_stale_reading_holds_the_filter() -> None:
    state, _ = update_pressure(RoomPressureState(), 8.0, 0.0, SETTINGS)
    held, door = update_pressure(state, None, 5.0, SETTINGS)
    assert held == state
    assert not door


def test_door_collapse_is_detected_and_held() -> None:
    """Issue 15: this test used to assert that the filtered value stayed at its level before the door
    (above 8 Pa) through the hold; the filtered value now follows the collapse while alarms are held."""
    state = RoomPressureState()
    for second in range(30):
        state, _ = update_pressure(state, 9.0, float(second), SETTINGS)
    state, first = update_pressure(state, 0.3, 30.0, SETTINGS)
    assert not first
    state, door = update_pressure(state, 0.2, 31.0, SETTINGS)
    assert door
    assert state.door_open(32.0)
    assert state.door_open(149.0)
    assert not state.door_open(150.0)  # door_hold from the first collapsed reading (30 s)
    before = state.filtered_pa
    assert before is not None
    state, again = update_pressure(state, 0.2, 32.0, SETTINGS)
    assert not again
    assert state.filtered_pa is not None
    assert state.filtered_pa < before


def test_a_gust_is_not_a_door() -> None:
    state = RoomPressureState()
    for second in range(30):
        state, _ = update_pressure(state, 12.0, float(second), SETTINGS)
    state, door = update_pressure(state, 8.5, 30.0, SETTINGS)
    assert not door


def test_door_detected_with_long_ticks() -> None:
    state = RoomPressureState()
    for tick in range(10):
        state, _ = update_pressure(state, 9.0, tick * 10.0, SETTINGS)
    state, _ = update_pressure(state, 0.2, 100.0, SETTINGS)
    _, door = update_pressure(state, 0.1, 110.0, SETTINGS)
    assert door


@given(st.floats(min_value=5.0, max_value=200.0), st.floats(min_value=0.5, max_value=0.9))
def test_room_learning_converges_to_the_true_leakage(true_c: float, n: float) -> None:
    estimate = RoomEstimate(20.0)
    for flow in [60.0, 120.0, 180.0] * 200:
        pressure = (flow / true_c) ** (1.0 / n)
        estimate = learn_room(estimate, flow, pressure, n, dt_s=60.0, tau_s=600.0)
    if all((flow / true_c) ** (1.0 / n) >= 0.5 for flow in (60.0, 120.0, 180.0)):
        assert estimate.c_cfm == pytest.approx(true_c, rel=0.01)


def test_room_learning_ignores_tiny_pressures() -> None:
    estimate = RoomEstimate(20.0, samples=3)
    assert learn_room(estimate, 100.0, 0.2, 0.65, 60.0) == estimate


def energy_args(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "now_s": 0.0,
        "dt_s": 1.0,
        "soc_pct": 80.0,
        "shunt_fresh": True,
        "measured_power_w": 10.0,
        "modelled_power_w": 10.0,
        "voltage_v": 13.0,
        "discharging": True,
        "capacity_ah": 100.0,
        "reserve_pct": 10.0,
        "correction_tau_s": 3600.0,
    }
    values.update(overrides)
    return values


def test_usable_energy_subtracts_the_reserve() -> None:
    state, usable = update_energy(EnergyState(voltage_eff_v=12.8), **energy_args(voltage_v=12.8))  # type: ignore[arg-type]
    assert usable == pytest.approx(0.70 * 100.0 * 12.8)
    assert state.last_usable_wh == usable


def test_power_ratio_corrects_slowly() -> None:
    state = EnergyState(voltage_eff_v=12.8)
    for second in range(3600):
        state, _ = update_energy(state, **energy_args(now_s=float(second), measured_power_w=12.0))  # type: ignore[arg-type]
    assert 1.1 < state.power_ratio < 1.2 * (1 - math.exp(-1)) + 1.0
    assert state.power_ratio < 1.2


def test_stale_shunt_dead_reckons_conservatively() -> None:
    state, usable = update_energy(EnergyState(voltage_eff_v=12.8), **energy_args(voltage_v=12.8))  # type: ignore[arg-type]
    assert usable is not None
    later, estimate = update_energy(
        state,
        **energy_args(now_s=3600.0, shunt_fresh=False, soc_pct=None, measured_power_w=None, voltage_v=None),  # type: ignore[arg-type]
    )
    assert estimate == pytest.approx(usable - 10.0 * 1.25)
    assert later == state


def test_nothing_known_gives_no_energy() -> None:
    _, usable = update_energy(
        EnergyState(voltage_eff_v=12.8),
        **energy_args(shunt_fresh=False, soc_pct=None, voltage_v=None),  # type: ignore[arg-type]
    )
    assert usable is None


def test_runtime_is_energy_over_planned_power_and_none_while_charging() -> None:
    assert runtime_s(100.0, 10.0, 1.0, False) == pytest.approx(36000.0)
    assert runtime_s(100.0, 10.0, 1.25, False) == pytest.approx(28800.0)
    assert runtime_s(100.0, 10.0, 1.0, True) is None
    assert runtime_s(None, 10.0, 1.0, False) is None
    assert runtime_s(100.0, 0.0, 1.0, False) is None


def test_time_to_soc_points() -> None:
    points = time_to_soc_s(60.0, (50.0, 20.0, 80.0), 100.0, 12.8, 12.8, 1.0, False)
    assert points[0] == (50.0, pytest.approx(10 * 3600.0))
    assert points[1] == (20.0, pytest.approx(40 * 3600.0))
    assert points[2] == (80.0, None)
    assert all(seconds is None for _, seconds in time_to_soc_s(60.0, (50.0,), 100.0, 12.8, 12.8, 1.0, True))

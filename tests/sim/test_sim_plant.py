"""The plant's physics: conservation, bounds, the room's leakage law, the BMS, the charger, faults, stability."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.sim.plant import (
    BatteryParams,
    ChargeStage,
    Disturbances,
    PlantParams,
    PlantState,
    RoomParams,
    initial_state,
    loaded_voltage_v,
    open_circuit_v,
    static_pressure_pa,
    step,
)

OUTAGE = Disturbances()
GRID = Disturbances(grid_on=True)

steps_strategy = st.lists(
    st.tuples(st.floats(0.1, 60.0), st.floats(0.0, 100.0)),
    min_size=1,
    max_size=60,
)


def run(
    state: PlantState,
    params: PlantParams,
    seconds: float,
    dt_s: float,
    command_pct: float,
    disturbances: Disturbances = OUTAGE,
    seed: int = 0,
) -> list[PlantState]:
    """Step at a fixed dt and command; the states after each step."""
    rng = random.Random(seed)
    states = []
    for _ in range(round(seconds / dt_s)):
        state = step(state, params, dt_s, command_pct, disturbances, rng)
        states.append(state)
    return states


def test_initial_state_is_full_and_resting(params: PlantParams) -> None:
    state = initial_state(params)
    assert state.soc_pct == 100.0
    assert state.charge_ah == params.battery.capacity_ah
    assert state.consumed_ah == 0.0
    assert state.voltage_v == pytest.approx(open_circuit_v(100.0))
    assert (state.flow_cfm, state.fan_rpm, state.current_a, state.bms_cut) == (0.0, 0.0, 0.0, False)


def test_initial_soc_sets_charge_and_consumed(params_factory: Callable[..., PlantParams]) -> None:
    state = initial_state(params_factory(battery=BatteryParams(capacity_ah=200.0, initial_soc_pct=40.0)))
    assert state.charge_ah == pytest.approx(80.0)
    assert state.consumed_ah == pytest.approx(-120.0)
    assert state.soc_pct == pytest.approx(40.0)


def test_open_circuit_curve_is_flat_in_the_middle_with_knees() -> None:
    socs = [i / 2 for i in range(201)]
    volts = [open_circuit_v(s) for s in socs]
    assert volts == sorted(volts)
    assert open_circuit_v(90.0) - open_circuit_v(20.0) < 0.4
    assert open_circuit_v(15.0) - open_circuit_v(0.0) > 2.0
    assert open_circuit_v(100.0) - open_circuit_v(95.0) > 0.29
    assert open_circuit_v(50.0, nominal_v=25.6) == pytest.approx(2 * open_circuit_v(50.0))
    mean = sum(open_circuit_v(i / 100) for i in range(10_000)) / 10_000
    assert mean == pytest.approx(12.8, abs=0.01)


def test_loaded_voltage_drops_by_current_times_resistance() -> None:
    v = loaded_voltage_v(13.2, 26.4, 0.01)
    assert v is not None
    assert v == pytest.approx(13.2 - 26.4 / v * 0.01, abs=1e-12)
    assert 13.17 < v < 13.18
    assert loaded_voltage_v(10.0, 10_000.0, 0.01) is None


@settings(max_examples=60, deadline=None)
@given(steps=steps_strategy, draw_w=st.floats(0.0, 5.0), seed=st.integers(0, 1000))
def test_consumed_ah_is_the_integral_of_the_reported_current(
    params: PlantParams, steps: list[tuple[float, float]], draw_w: float, seed: int
) -> None:
    params = replace(params, controller_draw_w=draw_w)
    state = initial_state(params)
    rng = random.Random(seed)
    integral_ah = 0.0
    self_discharge_ah = 0.0
    start = state
    for dt, command in steps:
        state = step(state, params, dt, command, OUTAGE, rng)
        integral_ah += state.current_a * dt / 3600.0
        self_discharge_ah += params.battery.capacity_ah * 0.03 * dt / (30 * 86400)
        assert state.power_w == pytest.approx(state.voltage_v * state.current_a)
        assert state.power_w == pytest.approx(-(state.fan_power_w + draw_w))
    assert state.consumed_ah - start.consumed_ah == pytest.approx(integral_ah, rel=1e-9, abs=1e-12)
    assert state.charge_ah - start.charge_ah == pytest.approx(integral_ah - self_discharge_ah, rel=1e-9, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    events=st.lists(
        st.tuples(
            st.floats(0.1, 3600.0),
            st.floats(0.0, 100.0),
            st.booleans(),
            st.booleans(),
            st.booleans(),
        ),
        min_size=1,
        max_size=80,
    ),
    initial_soc=st.floats(0.0, 100.0),
    seed=st.integers(0, 1000),
)
def test_state_stays_physical_under_any_inputs(
    params: PlantParams, events: list[tuple[float, float, bool, bool, bool]], initial_soc: float, seed: int
) -> None:
    params = replace(params, battery=BatteryParams(capacity_ah=5.0, initial_soc_pct=initial_soc))
    state = initial_state(params)
    rng = random.Random(seed)
    for dt, command, grid, stall, door in events:
        state = step(state, params, dt, command, Disturbances(grid, stall, door), rng)
        values = [state.charge_ah, state.voltage_v, state.current_a, state.pressure_pa, state.flow_cfm]
        assert all(math.isfinite(v) for v in values)
        assert 0.0 <= state.soc_pct <= 100.0
        assert 0.0 <= state.charge_ah <= params.battery.capacity_ah
        assert state.consumed_ah <= 0.0
        assert 0.0 <= state.speed_fraction <= 1.0
        assert 0.0 <= state.rotor_fraction <= 1.0
        assert 0.0 <= state.flow_cfm <= 413.0
        assert state.charging == grid
        if grid:
            assert not state.bms_cut
            assert state.current_a >= 0.0
        else:
            assert state.current_a <= 0.0


def test_pressure_follows_the_leakage_law_on_average(params: PlantParams) -> None:
    state = initial_state(params)
    states = run(state, params, 20_000.0, 1.0, 50.0)[100:]
    flow = states[-1].flow_cfm
    assert flow == pytest.approx(247.0)
    expected = (flow / params.room.leakage_c_cfm) ** (1.0 / params.room.leakage_n)
    mean = sum(s.pressure_pa for s in states) / len(states)
    # The mean of an OU process over T has a standard deviation of rms * sqrt(2 tau / T) ~ 0.045 Pa here.
    assert mean == pytest.approx(expected, abs=0.2)
    rms = math.sqrt(sum(s.wind_pa**2 for s in states) / len(states))
    assert rms == pytest.approx(params.room.wind_rms_pa, rel=0.15)
    assert all(s.pressure_pa == pytest.approx(expected + s.wind_pa) for s in states)


def test_wind_is_correlated_over_its_time_constant(params: PlantParams) -> None:
    states = run(initial_state(params), params, 40_000.0, 1.0, 0.0, seed=3)
    wind = [s.wind_pa for s in states]
    lag = round(params.room.wind_tau_s)
    num = sum(a * b for a, b in zip(wind, wind[lag:], strict=False))
    den = sum(a * a for a in wind)
    assert num / den == pytest.approx(math.exp(-1.0), abs=0.1)


def test_wind_statistics_do_not_depend_on_the_step(params: PlantParams) -> None:
    for dt in (0.1, 10.0, 60.0):
        states = run(initial_state(params), params, 200_000.0 if dt > 1 else 6_000.0, dt, 0.0, seed=5)
        rms = math.sqrt(sum(s.wind_pa**2 for s in states) / len(states))
        assert rms == pytest.approx(1.0, rel=0.2), dt


def test_leakage_law_numbers() -> None:
    room = RoomParams(leakage_c_cfm=20.0, leakage_n=0.65)
    assert static_pressure_pa(20.0, room) == pytest.approx(1.0)
    assert static_pressure_pa(141.0, room) == pytest.approx((141.0 / 20.0) ** (1 / 0.65))
    assert static_pressure_pa(0.0, room) == 0.0
    assert static_pressure_pa(141.0, room, door_open=True) < 0.1


def test_bms_cuts_off_when_empty_and_only_then(params_factory: Callable[..., PlantParams]) -> None:
    params = params_factory(battery=BatteryParams(capacity_ah=2.0))
    state = initial_state(params)
    rng = random.Random(0)
    history = []
    while not state.bms_cut:
        previous = state
        state = step(state, params, 10.0, 100.0, OUTAGE, rng)
        history.append(state)
        assert state.t_s < 3600.0, "a 2 Ah pack under 30 W must be empty within an hour"
    assert previous.soc_pct < 1.0
    assert all(not s.bms_cut for s in history[:-1])
    assert all(s.voltage_v >= params.battery.bms_cutoff_v for s in history[:-1])
    assert (state.current_a, state.power_w, state.flow_cfm, state.fan_rpm, state.voltage_v) == (0, 0, 0, 0, 0)
    assert state.pressure_pa == state.wind_pa
    # Energy-wise: 2 Ah * 12.8 V / (29.12 + 0.9) W
    assert state.t_s / 3600.0 == pytest.approx(2.0 * 12.8 / 30.02, rel=0.02)
    after = run(state, params, 600.0, 10.0, 100.0)
    assert all(s.bms_cut and s.flow_cfm == 0.0 and s.current_a == 0.0 for s in after)


@settings(max_examples=30, deadline=None)
@given(steps=steps_strategy)
def test_no_cutoff_while_charge_is_left(params: PlantParams, steps: list[tuple[float, float]]) -> None:
    state = replace(initial_state(params), charge_ah=5.0, soc_pct=5.0)
    rng = random.Random(1)
    for dt, command in steps:
        state = step(state, params, dt, command, OUTAGE, rng)
        assert not state.bms_cut
        assert state.voltage_v > params.battery.bms_cutoff_v


def test_weak_pack_cuts_off_under_a_heavy_load_early(params_factory: Callable[..., PlantParams]) -> None:
    params = params_factory(battery=BatteryParams(internal_resistance_ohm=1.2, initial_soc_pct=30.0))
    states = run(initial_state(params), params, 30.0, 1.0, 100.0)
    assert states[-1].bms_cut
    assert states[-1].soc_pct == pytest.approx(30.0, abs=0.1)
    light = run(initial_state(params), params, 30.0, 1.0, 20.0)
    assert not light[-1].bms_cut


def test_grid_reconnects_after_cutoff_and_charges(params_factory: Callable[..., PlantParams]) -> None:
    params = params_factory(battery=BatteryParams(capacity_ah=2.0, initial_soc_pct=1.0))
    state = run(initial_state(params), params, 3600.0, 10.0, 100.0)[-1]
    assert state.bms_cut
    states = run(state, params, 600.0, 10.0, 50.0, GRID)
    assert not states[0].bms_cut
    assert states[0].current_a > 0.0
    assert states[-1].soc_pct > state.soc_pct
    assert states[-1].flow_cfm == pytest.approx(247.0)


def test_charging_bulk_absorption_float(params_factory: Callable[..., PlantParams]) -> None:
    params = params_factory(battery=BatteryParams(initial_soc_pct=50.0))
    states = run(initial_state(params), params, 6 * 3600.0, 1.0, 50.0, GRID)
    socs = [s.soc_pct for s in states]
    assert all(b >= a for a, b in itertools.pairwise(socs))
    stages = [s.charge_stage for s in states]
    assert stages[0] is ChargeStage.BULK
    assert stages[-1] is ChargeStage.FLOAT
    assert ChargeStage.ABSORPTION in stages
    bulk = [s for s in states if s.charge_stage is ChargeStage.BULK]
    absorption = [s for s in states if s.charge_stage is ChargeStage.ABSORPTION]
    floating = [s for s in states if s.charge_stage is ChargeStage.FLOAT]
    # The charger feeds the fan and controller first: the battery gets the rest of its 20 A.
    expected_a = 20.0 - (9.74 + 0.9) / bulk[100].voltage_v
    assert bulk[100].current_a == pytest.approx(expected_a, rel=0.01)
    assert all(13.0 < s.voltage_v < 14.2 + 1e-9 for s in bulk)
    assert all(s.voltage_v == 14.2 for s in absorption)
    assert all(s.voltage_v == 13.5 for s in floating)
    # A shunt's "charged" detection (V >= 14.0 V and I <= 4 % of capacity for 3 min) must be able to trigger.
    tail = [s for s in absorption if s.current_a <= 4.0]
    assert tail[-1].t_s - tail[0].t_s >= 180.0
    assert floating[0].consumed_ah == 0.0
    assert floating[-1].soc_pct == pytest.approx(100.0, abs=0.01)
    hours_in_bulk = len(bulk) / 3600.0
    assert hours_in_bulk == pytest.approx(48.0 / expected_a, rel=0.02)


def test_grid_loss_ends_charging(params_factory: Callable[..., PlantParams]) -> None:
    params = params_factory(battery=BatteryParams(initial_soc_pct=50.0))
    charged = run(initial_state(params), params, 600.0, 10.0, 50.0, GRID)[-1]
    state = run(charged, params, 60.0, 10.0, 50.0, OUTAGE)[-1]
    assert state.charge_stage is ChargeStage.OFF
    assert state.current_a < 0.0
    assert not state.charging


def test_stall_stops_flow_and_draws_little(params: PlantParams) -> None:
    running = run(initial_state(params), params, 60.0, 1.0, 100.0)[-1]
    assert running.flow_cfm == pytest.approx(413.0)
    stalled = run(running, params, 60.0, 1.0, 100.0, Disturbances(fan_stalled=True))
    assert all(s.flow_cfm == 0.0 and s.fan_rpm == 0.0 and s.stalled for s in stalled)
    assert stalled[-1].fan_power_w == pytest.approx(0.1 * 29.12)
    assert stalled[-1].pressure_pa == stalled[-1].wind_pa
    recovered = run(stalled[-1], params, 60.0, 1.0, 100.0)
    assert recovered[0].flow_cfm < 413.0 * 0.5
    assert recovered[-1].flow_cfm == pytest.approx(413.0)


def test_door_collapses_pressure(params: PlantParams) -> None:
    closed = run(initial_state(params), params, 60.0, 1.0, 50.0)[-1]
    assert closed.pressure_pa - closed.wind_pa > 40.0
    opened = run(closed, params, 60.0, 1.0, 50.0, Disturbances(door_open=True))
    assert all(s.door_open and abs(s.pressure_pa - s.wind_pa) < 0.1 for s in opened)
    assert all(s.flow_cfm == pytest.approx(247.0) for s in opened)


def test_fan_speed_lags_its_command(params: PlantParams) -> None:
    states = run(initial_state(params), params, 30.0, 0.1, 100.0)
    at_tau = states[round(params.fan_spinup_s / 0.1) - 1]
    assert at_tau.speed_fraction == pytest.approx(1.0 - math.exp(-1.0), rel=1e-6)
    assert at_tau.flow_cfm == pytest.approx(413.0 * (1.0 - math.exp(-1.0)), rel=1e-6)
    assert at_tau.fan_rpm == pytest.approx(2000.0 * (1.0 - math.exp(-1.0)), rel=1e-6)
    assert states[-1].speed_fraction == pytest.approx(1.0, abs=1e-4)
    half = run(states[-1], params, 30.0, 0.1, 50.0)
    assert half[0].speed_fraction == 1.0
    assert half[0].fan_rpm > 1000.0
    assert half[-1].fan_rpm == pytest.approx(1000.0, rel=1e-3)


@pytest.mark.parametrize("dt_s", [0.1, 1.0, 10.0, 60.0])
def test_large_steps_agree_with_small_ones(params: PlantParams, dt_s: float) -> None:
    reference = run(initial_state(params), params, 2 * 3600.0, 0.5, 60.0)[-1]
    coarse = run(initial_state(params), params, 2 * 3600.0, dt_s, 60.0)[-1]
    assert coarse.t_s == pytest.approx(reference.t_s)
    assert coarse.charge_ah == pytest.approx(reference.charge_ah, abs=0.01)
    assert coarse.flow_cfm == pytest.approx(reference.flow_cfm)
    assert coarse.voltage_v == pytest.approx(reference.voltage_v, abs=1e-3)


def test_a_week_at_one_minute_steps_is_stable(params_factory: Callable[..., PlantParams]) -> None:
    params = params_factory(battery=BatteryParams(capacity_ah=1280.0 / 12.8))
    states = run(initial_state(params), params, 7 * 86400.0, 60.0, 30.0)
    assert all(math.isfinite(s.pressure_pa) and abs(s.wind_pa) < 8.0 for s in states)
    flows = {round(s.flow_cfm, 9) for s in states[1:]}
    assert len(flows) == 1
    assert not states[-1].bms_cut


def test_same_seed_same_run(params: PlantParams) -> None:
    a = run(initial_state(params), params, 600.0, 1.0, 40.0, seed=7)
    b = run(initial_state(params), params, 600.0, 1.0, 40.0, seed=7)
    c = run(initial_state(params), params, 600.0, 1.0, 40.0, seed=8)
    assert a == b
    assert a[-1].wind_pa != c[-1].wind_pa


def test_zero_step_only_records_the_command(params: PlantParams) -> None:
    state = initial_state(params)
    after = step(state, params, 0.0, 120.0, OUTAGE, random.Random(0))
    assert after.t_s == 0.0
    assert after.fan_command_pct == 100.0
    assert after.charge_ah == state.charge_ah


def test_self_discharge_at_rest(params_factory: Callable[..., PlantParams]) -> None:
    params = params_factory(controller_draw_w=0.0)
    state = run(initial_state(params), params, 30 * 86400.0, 3600.0, 0.0)[-1]
    assert state.soc_pct == pytest.approx(97.0)
    assert state.consumed_ah == 0.0


def test_minimum_duty_and_kick_start(params: PlantParams) -> None:
    pwm_z = replace(params, fan_stop_below_pct=20.0, fan_start_pct=30.0)
    standing = run(initial_state(pwm_z), pwm_z, 30.0, 1.0, 25.0)
    assert all(s.flow_cfm == 0.0 and s.fan_rpm == 0.0 and s.fan_power_w == 0.0 for s in standing)
    kicked = run(standing[-1], pwm_z, 30.0, 1.0, 40.0)[-1]
    assert kicked.fan_rpm == pytest.approx(800.0, rel=1e-3)
    held = run(kicked, pwm_z, 30.0, 1.0, 25.0)[-1]
    assert held.fan_rpm == pytest.approx(500.0, rel=1e-3)
    assert held.flow_cfm == pytest.approx(pwm_z.fan_flow_cfm(25.0), rel=1e-3)
    stopped = run(held, pwm_z, 60.0, 1.0, 15.0)[-1]
    assert stopped.fan_rpm < 1.0
    assert stopped.flow_cfm < 0.01
    assert run(stopped, pwm_z, 60.0, 1.0, 25.0)[-1].fan_rpm < 1.0

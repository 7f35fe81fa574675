"""The bound without foresight: the best plan for what was known at each moment, from the simulated battery
and the scenario alone; never above the true bound, which assumes the future was known from the start."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.planner import candidates_for, plan
from controller.sim.foresight import bound_without_foresight, charge_for_energy_ah
from controller.sim.plant import BatteryParams
from controller.sim.truth import remaining_energy_wh, stored_energy_wh, true_bound
from tests.control.sim_helpers import config, simulation, with_energy

HOUR = 3600.0
WEEK = 168 * HOUR


@given(charge=st.floats(0.0, 100.0))
def test_the_charge_for_an_energy_inverts_the_stored_energy(charge: float) -> None:
    battery = BatteryParams(capacity_ah=100.0)
    assert charge_for_energy_ah(battery, stored_energy_wh(battery, charge)) == pytest.approx(charge, abs=1e-6)


def test_without_a_turn_of_events_it_is_the_plan_for_the_deadline() -> None:
    cfg = config()
    held = candidates_for(cfg.fan.curve, min_flow_cfm=100.0)
    free = candidates_for(cfg.fan.curve)
    battery = BatteryParams(capacity_ah=100.0)
    known = bound_without_foresight(battery, WEEK, ((0.0, WEEK),), (), (held, free), cfg.power_path)
    expected = plan(remaining_energy_wh(battery, 100.0, WEEK), WEEK, held, cfg.power_path)
    assert known.clean_air_ft3 == pytest.approx(expected.clean_air_ft3, rel=1e-6)


def test_a_deadline_moved_earlier_spends_the_week_plan_until_the_move() -> None:
    cfg = config()
    held = candidates_for(cfg.fan.curve, min_flow_cfm=100.0)
    free = candidates_for(cfg.fan.curve)
    held = candidates_for(cfg.fan.curve, min_flow_cfm=100.0, max_flow_cfm=250.0)  # a top half a pack pays for
    battery = BatteryParams(capacity_ah=100.0)
    turns = ((0.0, WEEK), (84 * HOUR, 108 * HOUR))
    known = bound_without_foresight(battery, 108 * HOUR, turns, (), (held, free), cfg.power_path)
    week = plan(remaining_energy_wh(battery, 100.0, WEEK), WEEK, held, cfg.power_path)
    first = week.average_cfm * 84 * HOUR / 60.0
    top = max(p.flow_cfm for p in held.points)
    assert known.clean_air_ft3 == pytest.approx(first + top * 24 * HOUR / 60.0, rel=1e-3)
    clairvoyant = true_bound(battery, 108 * HOUR, (), held, cfg.power_path)
    assert known.clean_air_ft3 < clairvoyant.clean_air_ft3


def test_the_grid_refills_the_pack_and_the_plan_starts_again_from_full() -> None:
    cfg = config()
    held = candidates_for(cfg.fan.curve, min_flow_cfm=100.0)
    free = candidates_for(cfg.fan.curve)
    battery = BatteryParams(capacity_ah=100.0, charge_current_a=20.0)
    spans = ((60 * HOUR, 72 * HOUR),)
    known = bound_without_foresight(battery, WEEK, ((0.0, WEEK),), spans, (held, free), cfg.power_path)
    plain = bound_without_foresight(battery, WEEK, ((0.0, WEEK),), (), (held, free), cfg.power_path)
    week = plan(remaining_energy_wh(battery, 100.0, WEEK), WEEK, held, cfg.power_path)
    rest = plan(remaining_energy_wh(battery, 100.0, 96 * HOUR), 96 * HOUR, held, cfg.power_path)
    top = max(p.flow_cfm for p in held.points)
    by_hand = (week.average_cfm * 60 * HOUR + top * 12 * HOUR + rest.clean_air_ft3 * 60.0) / 60.0
    assert known.clean_air_ft3 == pytest.approx(by_hand, rel=1e-3)
    assert known.clean_air_ft3 > plain.clean_air_ft3
    assert known.clean_air_ft3 < true_bound(battery, WEEK, spans, held, cfg.power_path).clean_air_ft3


@settings(max_examples=25, deadline=None)
@given(
    grid=st.lists(st.tuples(st.floats(0.0, 160.0), st.floats(0.5, 24.0)), max_size=2),
    move=st.one_of(st.none(), st.tuples(st.floats(1.0, 160.0), st.floats(1.0, 200.0))),
    capacity=st.floats(5.0, 200.0),
)
def test_never_above_the_true_bound(
    grid: list[tuple[float, float]], move: tuple[float, float] | None, capacity: float
) -> None:
    cfg = config()
    held = candidates_for(cfg.fan.curve, min_flow_cfm=100.0)
    free = candidates_for(cfg.fan.curve)
    battery = BatteryParams(capacity_ah=capacity, charge_current_a=10.0)
    spans: list[tuple[float, float]] = []
    for start_h, length_h in sorted(grid):
        start, end = start_h * HOUR, (start_h + length_h) * HOUR
        if spans and start <= spans[-1][1]:
            continue
        spans.append((start, end))
    turns = [(0.0, WEEK)]
    horizon = WEEK
    if move is not None:
        turns.append((move[0] * HOUR, (move[0] + move[1]) * HOUR))
        horizon = (move[0] + move[1]) * HOUR
    inside = tuple((a, min(b, horizon)) for a, b in spans if a < horizon)
    known = bound_without_foresight(battery, horizon, tuple(turns), inside, (held, free), cfg.power_path)
    bound = true_bound(battery, horizon, inside, held, cfg.power_path)
    if not bound.reachable:
        bound = true_bound(battery, horizon, inside, free, cfg.power_path)
    assert known.clean_air_ft3 <= max(bound.clean_air_ft3, 0.0) * 1.000001 + 1e-6


def test_the_summary_judges_grid_and_moved_deadline_runs_against_it_too() -> None:
    sections: dict[str, dict[str, object]] = {
        "battery": {"reserve": "0 %"},
        "control": {"mode": "auto", "deadline": "6 h", "pressure_floor": "5 Pa"},
    }
    cfg = with_energy(config(sections), 40.0)
    for scenario in ("grid=2h+1h", "at=2h:deadline=1 h"):
        summary = asyncio.run(simulation(cfg, duration_s=6 * HOUR, scenario=scenario).run())
        assert summary.foresight_free_bound_cfm is not None
        assert summary.true_bound_cfm is not None
        assert summary.foresight_free_bound_cfm <= summary.true_bound_cfm * 1.000001
        assert summary.ratio_to_foresight_free_bound is not None
        assert summary.ratio_to_true_bound is not None
        assert summary.ratio_to_foresight_free_bound >= summary.ratio_to_true_bound
    plain = asyncio.run(simulation(cfg, duration_s=6 * HOUR).run())
    assert plain.foresight_free_bound_cfm is None
    assert plain.ratio_to_foresight_free_bound is None

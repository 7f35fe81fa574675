"""The hull and the planner: reference figures from physics.md §8 and properties for any fan."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from controller.models.fan import OFF, FanCurve, OperatingPoint, load_curve_file
from controller.models.hull import hull_flow_at, upper_hull
from controller.models.power_path import PRESETS, PowerPath
from controller.planner import candidates_for, plan

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "fan-airfanta-3pro-12vdc.csv"
WEEK_S = 168 * 3600.0
DIY = PRESETS["diy-12v"]


@pytest.fixture(scope="module")
def reference() -> FanCurve:
    return load_curve_file(FIXTURE)


def test_hull_with_off_skips_settings_1_and_5(reference: FanCurve) -> None:
    hull = candidates_for(reference, allow_off=True).hull
    assert [p.setting for p in hull] == ["off", "2", "3", "4", "6"]


def test_hull_without_off_starts_at_setting_1(reference: FanCurve) -> None:
    hull = candidates_for(reference).hull
    assert [p.setting for p in hull] == ["1", "2", "3", "4", "6"]


@pytest.mark.parametrize(
    ("controller_w", "share_s3", "cfm"),
    [(0.0, 0.623, 207.0), (0.6, 0.516, 195.7), (1.0, 0.445, 188.1), (2.7, 0.142, 156.1), (3.4, 0.018, 142.9)],
)
def test_reference_week_matches_physics_table(
    reference: FanCurve, controller_w: float, share_s3: float, cfm: float
) -> None:
    result = plan(1280.0, WEEK_S, candidates_for(reference), DIY.with_controller(controller_w))
    assert [s.point.setting for s in result.schedule] == ["2", "3"]
    assert result.schedule[1].share == pytest.approx(share_s3, abs=0.001)
    assert result.average_cfm == pytest.approx(cfm, abs=0.05)
    assert result.best_fixed is not None
    assert result.best_fixed.setting == "2"
    assert result.feasible
    assert result.lasts_s == pytest.approx(WEEK_S)


def test_reference_week_energy_and_clean_air(reference: FanCurve) -> None:
    result = plan(1280.0, WEEK_S, candidates_for(reference), DIY)
    hours_s3 = result.schedule[1].share * 168
    assert hours_s3 == pytest.approx(104.6, abs=0.1)
    energy = sum(s.share * 168 * s.point.power_w for s in result.schedule)
    assert energy == pytest.approx(1280.0)
    assert result.clean_air_ft3 == pytest.approx(207.0 * 60 * 168, rel=1e-3)


def test_ninety_percent_usable_with_a_pi4(reference: FanCurve) -> None:
    path = DIY.with_controller(3.0)
    with_off = plan(1152.0, WEEK_S, candidates_for(reference, allow_off=True), path)
    assert [s.point.setting for s in with_off.schedule] == ["off", "2"]
    assert with_off.average_cfm == pytest.approx(132.0, abs=0.1)
    without_off = plan(1152.0, WEEK_S, candidates_for(reference), path)
    assert [s.point.setting for s in without_off.schedule] == ["1", "2"]
    assert without_off.average_cfm == pytest.approx(130.9, abs=0.1)


def test_budget_below_the_lowest_point_runs_it_and_says_it_cannot_last(reference: FanCurve) -> None:
    result = plan(100.0, WEEK_S, candidates_for(reference), DIY)
    assert [(s.point.setting, s.share) for s in result.schedule] == [("1", 1.0)]
    assert not result.feasible
    assert result.lasts_s == pytest.approx(100.0 / 1.93 * 3600)
    assert result.best_fixed is None
    assert result.clean_air_ft3 == pytest.approx(57 * result.lasts_s / 60)


def test_budget_above_the_highest_point_runs_flat_out(reference: FanCurve) -> None:
    result = plan(10_000.0, 24 * 3600.0, candidates_for(reference), DIY)
    assert [(s.point.setting, s.share) for s in result.schedule] == [("6", 1.0)]
    assert result.feasible
    assert result.best_fixed is not None
    assert result.best_fixed.setting == "6"


def test_pressure_floor_removes_points_that_cannot_hold_it(reference: FanCurve) -> None:
    candidates = candidates_for(reference, allow_off=True, min_flow_cfm=156.0)
    assert "off" not in [p.setting for p in candidates.hull]
    result = plan(1280.0, WEEK_S, candidates, DIY)
    assert [s.point.setting for s in result.schedule] == ["3"]
    assert not result.feasible
    assert result.lasts_s == pytest.approx(1280 / 9.74 * 3600)


def test_unreachable_floor_is_flagged(reference: FanCurve) -> None:
    candidates = candidates_for(reference, min_flow_cfm=500.0)
    assert not candidates.floor_reachable
    result = plan(1280.0, 3600.0, candidates, DIY)
    assert not result.feasible
    assert result.schedule[0].point.setting == "6"


def test_station_paths_count_losses_and_overheads(reference: FanCurve) -> None:
    station_ac = PRESETS["station-ac"]
    assert station_ac.source_power_w(4.12) == pytest.approx(4.12 / (0.86 * 0.86) + 9.5)
    result = plan(1056.0, 72 * 3600.0, candidates_for(reference, allow_off=True), station_ac)
    assert result.average_source_w == pytest.approx(1056.0 / 72.0)


def test_zero_duration_is_rejected(reference: FanCurve) -> None:
    with pytest.raises(ValueError, match="positive"):
        plan(1280.0, 0.0, candidates_for(reference), DIY)


point_values = st.tuples(st.floats(min_value=0.1, max_value=100.0), st.floats(min_value=1.0, max_value=1000.0))


@st.composite
def curves(draw: st.DrawFn) -> FanCurve:
    values = draw(st.lists(point_values, min_size=1, max_size=12, unique_by=lambda v: round(v[0], 6)))
    points = tuple(
        OperatingPoint(str(i + 1), 100.0 * (i + 1) / len(values), power, flow) for i, (power, flow) in enumerate(values)
    )
    return FanCurve(points, continuous=False)


paths = st.builds(
    PowerPath,
    name=st.just("test"),
    store_energy_wh=st.just(1000.0),
    standing_w=st.floats(min_value=0.0, max_value=5.0),
    efficiencies=st.lists(st.floats(min_value=0.5, max_value=1.0), max_size=2).map(tuple),
    controller_draw_w=st.floats(min_value=0.0, max_value=3.0),
)


@settings(max_examples=300, deadline=None)
@given(
    curves(),
    paths,
    st.floats(min_value=1.0, max_value=5000.0),
    st.floats(min_value=3600.0, max_value=60 * 86400.0),
    st.booleans(),
)
def test_plan_properties(
    curve: FanCurve, path: PowerPath, energy_wh: float, duration_s: float, allow_off: bool
) -> None:
    candidates = candidates_for(curve, allow_off=allow_off)
    result = plan(energy_wh, duration_s, candidates, path)
    shares = [s.share for s in result.schedule]
    assert 1 <= len(shares) <= 2
    assert sum(shares) == pytest.approx(1.0)
    assert all(0.0 < share <= 1.0 for share in shares)
    allowed = set(candidates.points) | ({OFF} if allow_off else set())
    assert all(s.point in allowed for s in result.schedule)

    lowest = min(p.power_w for p in allowed)
    if result.fan_budget_w >= lowest - 1e-9:  # a budget that rounds to the lowest point still lasts
        assert result.feasible
        assert result.average_source_w <= result.budget_w * (1 + 1e-9) + 1e-9
    else:
        assert not result.feasible
        assert result.schedule[0].point.power_w == lowest

    fits = [p for p in allowed if path.source_power_w(p.power_w) <= result.budget_w + 1e-9]
    for point in fits:
        assert point.flow_cfm <= result.average_cfm + 1e-6
    if result.best_fixed is not None:
        assert result.best_fixed.flow_cfm <= result.average_cfm + 1e-6

    if result.feasible:
        budget = result.fan_budget_w
        for a, b in itertools.combinations(allowed, 2):
            low, high = sorted((a, b), key=lambda p: p.power_w)
            if low.power_w > budget or high.power_w == low.power_w:
                continue
            share = min(1.0, (budget - low.power_w) / (high.power_w - low.power_w))
            mix_flow = low.flow_cfm + share * (high.flow_cfm - low.flow_cfm)
            assert mix_flow <= result.average_cfm + 1e-6


@given(st.lists(point_values, min_size=1, max_size=30))
def test_hull_is_concave_and_dominates_every_point(values: list[tuple[float, float]]) -> None:
    points = [OperatingPoint(str(i), float(i), p, f) for i, (p, f) in enumerate(values)]
    hull = upper_hull(points)
    powers = [p.power_w for p in hull]
    assert powers == sorted(powers)
    assert all(b.flow_cfm > a.flow_cfm for a, b in itertools.pairwise(hull))
    slopes = [(b.flow_cfm - a.flow_cfm) / (b.power_w - a.power_w) for a, b in itertools.pairwise(hull)]
    assert all(s2 <= s1 + 1e-9 for s1, s2 in itertools.pairwise(slopes))
    for point in points:
        if point.power_w >= hull[0].power_w:
            assert hull_flow_at(hull, point.power_w) >= point.flow_cfm - 1e-6


@given(st.floats(min_value=0.0, max_value=40.0))
def test_hull_flow_at_matches_the_plan(budget: float) -> None:
    curve = load_curve_file(FIXTURE)
    candidates = candidates_for(curve, allow_off=True)
    assume(budget <= candidates.hull[-1].power_w)
    result = plan(budget * 100.0, 100.0 * 3600.0, candidates, DIY)
    assert result.average_cfm == pytest.approx(hull_flow_at(candidates.hull, budget), abs=1e-6)

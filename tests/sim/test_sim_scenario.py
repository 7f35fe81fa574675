"""Scenarios as data: presets scaled to the run, the one-line syntax, and its errors."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.errors import ConfigError
from controller.sim.plant import Disturbances
from controller.sim.scenario import (
    PRESETS,
    Scenario,
    disturbances_at,
    next_change_s,
    parse_scenario,
    preset,
    pressure_available,
    shunt_available,
)

DAY = 86400.0
WEEK = 7 * DAY


def test_outage_never_returns() -> None:
    scenario = preset("outage", WEEK)
    assert disturbances_at(scenario, 0.0) == Disturbances()
    assert disturbances_at(scenario, 10 * WEEK) == Disturbances()
    assert shunt_available(scenario, 3 * DAY)
    assert pressure_available(scenario, 3 * DAY)
    assert next_change_s(scenario, 0.0) == math.inf


def test_grid_returns_at_sixty_percent() -> None:
    scenario = preset("grid-returns", 10 * 3600.0)
    assert scenario.outage_s == pytest.approx(6 * 3600.0)
    assert not disturbances_at(scenario, 6 * 3600.0 - 1).grid_on
    assert disturbances_at(scenario, 6 * 3600.0).grid_on
    assert next_change_s(scenario, 0.0) == pytest.approx(6 * 3600.0)


def test_fan_stall_preset() -> None:
    scenario = preset("fan-stall", WEEK)
    ((start, end),) = scenario.fan_stalls
    assert start == pytest.approx(0.3 * WEEK)
    assert end - start == pytest.approx(0.05 * WEEK)
    assert disturbances_at(scenario, start + 1).fan_stalled
    assert not disturbances_at(scenario, end).fan_stalled
    assert next_change_s(scenario, 0.0) == start
    assert next_change_s(scenario, start) == end


def test_sensor_dropouts_preset_and_short_runs_get_a_minute() -> None:
    scenario = preset("sensor-dropouts", 600.0)
    ((s_start, s_end),) = scenario.shunt_dropouts
    ((p_start, p_end),) = scenario.pressure_dropouts
    assert (s_start, s_end - s_start) == (pytest.approx(120.0), pytest.approx(60.0))
    assert (p_start, p_end - p_start) == (pytest.approx(300.0), pytest.approx(60.0))
    assert not shunt_available(scenario, 150.0)
    assert pressure_available(scenario, 150.0)
    assert not pressure_available(scenario, 330.0)
    assert shunt_available(scenario, 330.0)


def test_door_preset_opens_three_times() -> None:
    scenario = preset("door", 3600.0)
    opened = [t for t in range(0, 3600, 10) if disturbances_at(scenario, float(t)).door_open]
    assert len(opened) == 18
    assert opened[0] == 900


@given(name=st.sampled_from(PRESETS), duration=st.floats(1.0, 1e7))
def test_presets_stay_inside_sensible_times(name: str, duration: float) -> None:
    scenario = preset(name, duration)
    assert scenario.name == name
    for intervals in (scenario.fan_stalls, scenario.shunt_dropouts, scenario.pressure_dropouts, scenario.door_openings):
        for start, end in intervals:
            assert 0.0 <= start < end


def test_unknown_preset_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="one of outage, grid-returns"):
        preset("tornado", WEEK)
    with pytest.raises(ConfigError, match="duration"):
        preset("outage", 0.0)


def test_parse_a_preset() -> None:
    assert parse_scenario("grid-returns", 1000.0) == preset("grid-returns", 1000.0)


def test_parse_items_with_units_and_percentages() -> None:
    scenario = parse_scenario("outage=36 h, stall=10h+5min, door=50%+1min; door=1h+30s", 4 * DAY)
    assert scenario == Scenario(
        name="custom",
        outage_s=36 * 3600.0,
        fan_stalls=((36000.0, 36300.0),),
        door_openings=((3600.0, 3630.0), (2 * DAY, 2 * DAY + 60.0)),
    )


def test_parse_preset_with_extra_items() -> None:
    scenario = parse_scenario("sensor-dropouts, shunt-dropout=1h+10min, outage=never", 10 * 3600.0)
    assert scenario.name == "sensor-dropouts"
    assert scenario.shunt_dropouts == ((3600.0, 4200.0), (7200.0, 9000.0))
    assert scenario.outage_s is None
    assert parse_scenario("grid-returns, pressure-dropout=0%+5%", 1000.0).pressure_dropouts == ((0.0, 50.0),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "a preset"),
        ("hurricane", "hurricane"),
        ("stall=10h", "START\\+LENGTH"),
        ("stall=10 parsecs+1h", "a time from the start"),
        ("door=1h+0s", "positive length"),
        ("outage=-3h", "not negative"),
        ("wind=3 Pa", "KEY one of outage, stall"),
        ("outage=", "outage=TIME: a time from the start"),
    ],
)
def test_parse_errors_name_the_item_and_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse_scenario(text, WEEK, source="--scenario")
    assert str(caught.value).startswith("--scenario: ")

"""The scenario items that make the battery and its shunt differ from the configuration: each one read
from the `--scenario` line, and its effect on the simulated plant and shunt."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from controller.clock import SimulatedClock
from controller.commands import CommandLimits, SetDeadline, SetMode
from controller.errors import ConfigError
from controller.sim.devices import SimulatedDevices, simulated_devices
from controller.sim.plant import BatteryParams, PlantParams
from controller.sim.scenario import (
    Scenario,
    disturbances_at,
    grid_spans,
    latest_deadline_s,
    next_change_s,
    parse_scenario,
    true_plant,
)
from controller.sim.scenario_items import ITEMS, items_help
from controller.snapshot import Mode

DAY = 86400.0
WEEK = 7 * DAY
START = datetime(2026, 1, 1, tzinfo=UTC)


def rig(params: PlantParams, scenario: Scenario) -> tuple[SimulatedClock, SimulatedDevices]:
    clock = SimulatedClock(START)
    devices = simulated_devices(params, scenario, clock)
    asyncio.run(devices.shunt.start())
    return clock, devices


def test_the_new_items_parse_into_the_scenario() -> None:
    scenario = parse_scenario(
        "capacity=80%, soc-offset=+20%, no-soc, current-offset=50 mA, self-discharge=0.1%/day, "
        "grid=60h+12h, grid=10h+1h, at=84h:deadline=1 day, at=1h:mode=eco",
        WEEK,
    )
    assert scenario.capacity_fraction == pytest.approx(0.8)
    assert scenario.soc_offset_pct == 20.0
    assert not scenario.shunt_reports_soc
    assert scenario.current_offset_a == pytest.approx(0.05)
    assert scenario.self_discharge_pct_per_month == pytest.approx(3.0)
    assert scenario.grid_intervals == ((36000.0, 39600.0), (216000.0, 259200.0))
    assert [(c.at_s, c.command, c.text) for c in scenario.commands] == [
        (3600.0, SetMode(Mode.ECO), "mode=eco"),
        (84 * 3600.0, SetDeadline(None, DAY), "deadline=1 day"),
    ]


@pytest.mark.parametrize(
    ("text", "per_month"),
    [("3%/month", 3.0), ("0.1 %/day", 3.0), ("2%/30 days", 2.0), ("0%/month", 0.0), ("1%/week", 30 / 7)],
)
def test_self_discharge_is_read_per_month(text: str, per_month: float) -> None:
    scenario = parse_scenario(f"self-discharge={text}", WEEK)
    assert scenario.self_discharge_pct_per_month == pytest.approx(per_month)


def test_a_negative_offset_and_a_preset_combine() -> None:
    scenario = parse_scenario("grid-returns, soc-offset=-20 %, capacity=1.2", 10 * 3600.0)
    assert scenario.name == "grid-returns"
    assert scenario.outage_s == pytest.approx(6 * 3600.0)
    assert scenario.soc_offset_pct == -20.0
    assert scenario.capacity_fraction == pytest.approx(1.2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("capacity=0%", "capacity = '0%': expected a percentage of the configured capacity from 1 %"),
        ("capacity=lots", "capacity = 'lots': expected a percentage"),
        ("capacity=80 Wh", "capacity = '80 Wh'"),
        ("soc-offset=+120%", "soc-offset = '\\+120%': expected percentage points from -100 %"),
        ("no-soc=yes", "no-soc = 'yes': expected no-soc without a value"),
        ("current-offset=0.05", "current-offset = '0.05': expected a current"),
        ("current-offset=5 V", "current-offset = '5 V'"),
        ("self-discharge=3%", "self-discharge = '3%': expected a percentage per period"),
        ("self-discharge=3%/fortnightish", "self-discharge = '3%/fortnightish'"),
        ("self-discharge=50%/day", "at most 100%/month"),
        ("grid=60h", "grid = '60h': expected an interval START\\+LENGTH"),
        ("grid=60h+0h", "positive length"),
        ("at=84h", "at = '84h': expected TIME:COMMAND=VALUE"),
        ("at=84h:deadline", "expected TIME:COMMAND=VALUE"),
        ("at=soon:deadline=1 day", "at = 'soon': expected a time from the start"),
        ("at=84h:warp=9", "--scenario at=84h: warp = '9': expected a command among mode, speed"),
        ("at=84h:deadline=1 century", "deadline = '1 century': expected an ISO 8601 time"),
        ("at=1h:pressure_floor=40 Pa", "pressure_floor = '40 Pa': expected a pressure from 0 to 19.5 Pa"),
        ("capacity", "capacity = 'capacity': expected capacity=80%"),
    ],
)
def test_bad_items_name_the_item_the_value_and_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse_scenario(text, WEEK, source="--scenario", limits=CommandLimits(20.0))
    assert str(caught.value).startswith("--scenario")


def test_every_item_has_help_and_an_expected_form() -> None:
    shown = items_help()
    for item in ITEMS:
        assert item.syntax in shown
        assert item.help
        assert item.expected


def test_real_capacity_and_start_follow_the_scenario(params: PlantParams) -> None:
    real = true_plant(params, Scenario(capacity_fraction=0.8, soc_offset_pct=20.0, self_discharge_pct_per_month=1.0))
    assert real.battery.capacity_ah == pytest.approx(80.0)
    assert real.battery.initial_soc_pct == 80.0
    assert real.battery.self_discharge_pct_per_month == 1.0
    assert true_plant(params, Scenario(soc_offset_pct=-20.0)).battery.initial_soc_pct == 100.0
    assert true_plant(params, Scenario()) == params


def test_a_smaller_battery_dies_while_its_shunt_still_shows_a_fifth(params_factory: Callable[..., PlantParams]) -> None:
    params = params_factory(controller_draw_w=0.0)
    clock, devices = rig(params, parse_scenario("capacity=80%, self-discharge=0%/month", WEEK))
    devices.plant.set_command(100.0)
    reading = devices.shunt.latest()
    assert reading is not None
    assert reading.soc_pct == 100.0
    while not devices.plant.state.bms_cut:
        clock.advance(600.0)
        last = devices.shunt.latest()
        if not devices.plant.state.bms_cut:
            reading = last
    assert reading is not None
    assert reading.soc_pct is not None
    assert reading.soc_pct == pytest.approx(20.0, abs=1.0)
    assert devices.plant.state.charge_ah < 0.5


@pytest.mark.parametrize(("offset", "true_pct", "shown_pct"), [("+20%", 80.0, 100.0), ("-20%", 100.0, 80.0)])
def test_a_soc_offset_holds_until_the_charger_synchronises_the_shunt(
    params: PlantParams, offset: str, true_pct: float, shown_pct: float
) -> None:
    clock, devices = rig(params, parse_scenario(f"soc-offset={offset}, grid=2h+10h", DAY))
    devices.plant.set_command(50.0)
    reading = devices.shunt.latest()
    assert reading is not None
    assert (devices.plant.state.soc_pct, reading.soc_pct) == (true_pct, shown_pct)
    clock.advance(3600.0)
    reading = devices.shunt.latest()
    assert reading is not None
    assert reading.soc_pct is not None
    assert reading.soc_pct - devices.plant.state.soc_pct == pytest.approx(shown_pct - true_pct, abs=0.5)
    clock.advance(11 * 3600.0)
    reading = devices.shunt.latest()
    assert reading is not None
    assert reading.soc_pct is not None
    assert reading.soc_pct == pytest.approx(devices.plant.state.soc_pct, abs=0.5)


def test_a_shunt_without_soc_reports_voltage_and_current_only(params: PlantParams) -> None:
    clock, devices = rig(params, parse_scenario("no-soc", DAY))
    devices.plant.set_command(50.0)
    clock.advance(60.0)
    reading = devices.shunt.latest()
    assert reading is not None
    assert (reading.soc_pct, reading.consumed_ah, reading.time_to_go_min) == (None, None, None)
    assert reading.voltage_v is not None
    assert reading.voltage_v > 12.0
    assert reading.current_a is not None
    assert reading.current_a < 0.0


def test_a_current_offset_is_reported_and_counted(params_factory: Callable[..., PlantParams]) -> None:
    params = params_factory(controller_draw_w=0.0, battery=BatteryParams(self_discharge_pct_per_month=0.0))
    clock, devices = rig(params, parse_scenario("current-offset=0.05 A", WEEK))
    devices.plant.set_command(50.0)
    clock.advance(10 * 3600.0)
    reading = devices.shunt.latest()
    state = devices.plant.state
    assert reading is not None
    assert reading.current_a is not None
    assert reading.consumed_ah is not None
    assert reading.current_a == pytest.approx(state.current_a + 0.05)
    assert reading.consumed_ah == pytest.approx(state.consumed_ah + 0.5)


def test_self_discharge_drains_an_idle_battery_at_the_given_rate(params_factory: Callable[..., PlantParams]) -> None:
    params = params_factory(controller_draw_w=0.0)
    for text, lost_pct in (("self-discharge=3%/month", 3.0), ("self-discharge=10%/month", 10.0)):
        clock, devices = rig(params, parse_scenario(text, 60 * DAY))
        clock.advance(30 * DAY)
        state = devices.plant.state
        assert 100.0 - state.soc_pct == pytest.approx(lost_pct, rel=1e-6)
        reading = devices.shunt.latest()
        assert reading is not None
        assert reading.soc_pct == 100.0


def test_grid_intervals_switch_the_charger_on_and_off(params: PlantParams) -> None:
    scenario = parse_scenario("grid=60h+12h, grid=10h+2h, outage=150h", WEEK)
    assert not disturbances_at(scenario, 59.9 * 3600).grid_on
    assert disturbances_at(scenario, 60 * 3600).grid_on
    assert not disturbances_at(scenario, 72 * 3600).grid_on
    assert disturbances_at(scenario, 11 * 3600).grid_on
    assert disturbances_at(scenario, 151 * 3600).grid_on
    assert next_change_s(scenario, 13 * 3600) == 60 * 3600
    assert next_change_s(scenario, 60 * 3600) == 72 * 3600
    assert grid_spans(scenario, WEEK) == ((36000.0, 43200.0), (216000.0, 259200.0), (540000.0, WEEK))
    assert grid_spans(scenario, 65 * 3600) == ((36000.0, 43200.0), (216000.0, 234000.0))
    clock, devices = rig(params, parse_scenario("grid=2h+4h", DAY))
    devices.plant.set_command(80.0)
    clock.advance(2 * 3600.0)
    drained = devices.plant.state.charge_ah
    clock.advance(3600.0)
    assert devices.plant.state.charging
    assert devices.plant.state.charge_ah > drained
    clock.advance(4 * 3600.0)
    assert not devices.plant.state.charging


def test_a_moved_deadline_extends_the_run_it_judges() -> None:
    scenario = parse_scenario("at=84h:deadline=5 days, at=10h:deadline=1 h, at=20h:deadline=none", WEEK)
    assert latest_deadline_s(scenario, WEEK) == pytest.approx(84 * 3600 + 5 * DAY)
    assert latest_deadline_s(parse_scenario("at=84h:deadline=1 day", WEEK), WEEK) == WEEK
    assert latest_deadline_s(Scenario(), None) is None

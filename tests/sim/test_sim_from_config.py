"""Plant parameters built from the configuration sections match what the planner is told."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from controller.config.plant import (
    BatterySection,
    FanSection,
    RoomSection,
    parse_battery,
    parse_fan,
    parse_room,
)
from controller.config.reader import Table
from controller.models.power_path import PRESETS
from controller.sim.from_config import fan_callables, plant_params
from controller.sim.plant import Disturbances, initial_state, step


def sections(fan: dict[str, object] | None = None) -> tuple[BatterySection, FanSection, RoomSection]:
    battery = parse_battery(Table({}, "test.toml"))
    fan_section = parse_fan(Table(fan or {}, "test.toml"), Path("."))
    room = parse_room(Table({"leakage_c": "30 CFM", "leakage_n": 0.6}, "test.toml"))
    return battery, fan_section, room


def test_reference_setup() -> None:
    battery, fan, room = sections()
    params = plant_params(battery, fan, room, PRESETS["diy-12v"].with_controller(0.9), initial_soc_pct=80.0)
    assert params.battery.capacity_ah == pytest.approx(100.0)
    assert params.battery.bms_cutoff_v == 10.0
    assert params.battery.initial_soc_pct == 80.0
    assert (params.room.leakage_c_cfm, params.room.leakage_n) == (30.0, 0.6)
    assert params.controller_draw_w == pytest.approx(0.9)
    setting_2 = 100.0 * 2 / 6
    assert params.fan_power_w(setting_2) == pytest.approx(4.12)
    assert params.fan_flow_cfm(setting_2) == pytest.approx(141.0)
    assert params.fan_flow_cfm(5.0) == 0.0


def test_conversion_losses_and_overheads_land_on_the_store() -> None:
    battery, fan, room = sections()
    path = PRESETS["station-dc"].with_controller(0.6, converter_efficiency=0.8)
    params = plant_params(battery, fan, room, path)
    assert params.fan_power_w(100.0) == pytest.approx(29.12 / 0.93)
    assert params.controller_draw_w == pytest.approx(2.5 + 0.6 / 0.8)
    assert params.battery.capacity_ah == pytest.approx(path.store_energy_wh / 12.8)


def test_min_duty_and_kick_start_reach_the_fan() -> None:
    battery, fan, room = sections({"min_duty": "20 %", "kick_start": "35 %"})
    params = plant_params(battery, fan, room, PRESETS["diy-12v"])
    assert (params.fan_stop_below_pct, params.fan_start_pct) == (20.0, 35.0)


def test_fan_callables_are_memoised_and_match_the_curve() -> None:
    _, fan, _ = sections()
    power, flow = fan_callables(fan.curve)
    for command in (0.0, 10.0, 33.3333, 50.0, 99.0, 100.0):
        assert power(command) == fan.curve.power_w(command)
        assert flow(command) == fan.curve.flow_cfm(command)


def test_the_plant_delivers_the_planned_energy() -> None:
    battery, fan, room = sections()
    path = PRESETS["diy-12v"].with_controller(0.9)
    params = plant_params(battery, fan, room, path, self_discharge_pct_per_month=0.0)
    state = initial_state(params)
    rng = random.Random(0)
    setting_2 = 100.0 * 2 / 6
    while not state.bms_cut:
        state = step(state, params, 60.0, setting_2, Disturbances(), rng)
    expected_h = 1280.0 / (4.12 + 0.9)
    assert state.t_s / 3600.0 == pytest.approx(expected_h, rel=0.002)

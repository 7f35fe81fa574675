"""The simulated plant on a simulated clock, and the simulated devices seen through the driver Protocols."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from controller.clock import SimulatedClock
from controller.sim.devices import (
    SimulatedFan,
    SimulatedPlant,
    SimulatedPressureSensor,
    simulated_devices,
)
from controller.sim.plant import BatteryParams, PlantParams, RoomParams
from controller.sim.scenario import Scenario, parse_scenario
from drivers.base import DeviceState, Fan, PressureSensor, Shunt

START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START, start_monotonic=1000.0)


def test_devices_satisfy_the_driver_protocols(params: PlantParams, clock: SimulatedClock) -> None:
    devices = simulated_devices(params, Scenario(), clock)
    shunt: Shunt = devices.shunt
    pressure: PressureSensor = devices.pressure
    fan: Fan = devices.fan
    assert (shunt.stats.state, pressure.stats.state, fan.stats.state) == (DeviceState.STARTING,) * 3


def test_plant_follows_the_clock_in_bounded_sub_steps(params: PlantParams, clock: SimulatedClock) -> None:
    plant = SimulatedPlant(params, Scenario(), clock, max_step_s=10.0)
    assert plant.state.t_s == 0.0
    clock.advance(95.0)
    assert plant.state.t_s == pytest.approx(95.0)
    assert plant.steps == 10
    assert plant.monotonic_at(95.0) == 1095.0
    assert plant.state.t_s == pytest.approx(95.0)
    assert plant.steps == 10


def test_result_does_not_depend_on_polling(params: PlantParams) -> None:
    clocks = [SimulatedClock(START), SimulatedClock(START)]
    plants = [SimulatedPlant(params, Scenario(), c, seed=3) for c in clocks]
    for plant in plants:
        plant.set_command(60.0)
    for _ in range(3600):
        clocks[0].advance(1.0)
        plants[0].advance()
    clocks[1].advance(3600.0)
    a, b = plants[0].state, plants[1].state
    assert a.t_s == pytest.approx(b.t_s)
    assert a.charge_ah == pytest.approx(b.charge_ah, abs=1e-3)
    assert a.flow_cfm == pytest.approx(b.flow_cfm)


def test_commands_apply_from_the_moment_they_are_set(params: PlantParams, clock: SimulatedClock) -> None:
    plant = SimulatedPlant(params, Scenario(), clock)
    clock.advance(600.0)
    idle = plant.state
    assert idle.flow_cfm == 0.0
    plant.set_command(50.0)
    clock.advance(60.0)
    running = plant.state
    assert running.flow_cfm == pytest.approx(247.0)
    assert running.consumed_ah < idle.consumed_ah
    with pytest.raises(ValueError, match="finite"):
        plant.set_command(float("nan"))


def test_sub_steps_stop_at_scenario_edges(params: PlantParams, clock: SimulatedClock) -> None:
    scenario = Scenario(door_openings=((103.0, 104.5),))
    plant = SimulatedPlant(params, scenario, clock, max_step_s=10.0)
    plant.set_command(50.0)
    clock.advance(104.0)
    assert plant.state.door_open
    clock.advance(1.0)
    assert not plant.state.door_open


async def test_shunt_reads_the_battery(params: PlantParams, clock: SimulatedClock) -> None:
    devices = simulated_devices(params, Scenario(), clock)
    assert devices.shunt.latest() is None
    await devices.shunt.start()
    await devices.fan.set_command(50.0)
    clock.advance(600.0)
    reading = devices.shunt.latest()
    assert reading is not None
    assert reading.monotonic_s == clock.monotonic()
    assert reading.current_a is not None
    assert reading.voltage_v is not None
    assert reading.power_w is not None
    assert reading.current_a == pytest.approx(-(9.74 + 0.9) / reading.voltage_v, rel=1e-3)
    assert reading.power_w == pytest.approx(-(9.74 + 0.9))
    assert reading.consumed_ah == pytest.approx(-10.64 / 13.6 * 600 / 3600, rel=0.02)
    assert reading.consumed_ah is not None
    assert reading.soc_pct == pytest.approx(100.0 + reading.consumed_ah, abs=1e-9)
    assert reading.time_to_go_min is not None
    assert devices.shunt.stats.state is DeviceState.OK
    assert devices.shunt.latest() is reading
    await devices.shunt.close()


async def test_shunt_time_to_go_is_victron_like(
    params_factory: Callable[..., PlantParams], clock: SimulatedClock
) -> None:
    params = params_factory(battery=BatteryParams(initial_soc_pct=60.0))
    devices = simulated_devices(params, Scenario(), clock)
    await devices.shunt.start()
    await devices.fan.set_command(50.0)
    for _ in range(3600):
        clock.advance(1.0)
        reading = devices.shunt.latest()
    assert reading is not None
    assert reading.soc_pct is not None
    assert reading.current_a is not None
    expected_min = (reading.soc_pct - 10.0) / 100.0 * 100.0 / -reading.current_a * 60.0
    assert reading.time_to_go_min == pytest.approx(expected_min, rel=0.01)


async def test_shunt_dropout_keeps_the_last_reading_ageing(
    params: PlantParams, clock: SimulatedClock, caplog: pytest.LogCaptureFixture
) -> None:
    scenario = parse_scenario("shunt-dropout=100s+60s", 1000.0)
    devices = simulated_devices(params, scenario, clock)
    await devices.shunt.start()
    clock.advance(99.0)
    before = devices.shunt.latest()
    assert before is not None
    with caplog.at_level(logging.INFO, logger="controller.sim.devices"):
        for _ in range(30):
            clock.advance(1.0)
            assert devices.shunt.latest() is before
        assert clock.monotonic() - before.monotonic_s == pytest.approx(30.0)
        assert devices.shunt.stats.state is DeviceState.STALE
        clock.advance(31.0)
        after = devices.shunt.latest()
    assert after is not None
    assert after.monotonic_s == clock.monotonic()
    assert devices.shunt.stats.state is DeviceState.OK
    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert messages == [
        ("WARNING", "simulated shunt: no data (simulated dropout); keeping the last reading"),
        ("INFO", "simulated shunt: recovered"),
    ]


async def test_shunt_is_unavailable_after_the_bms_cuts(
    params_factory: Callable[..., PlantParams], clock: SimulatedClock
) -> None:
    params = params_factory(battery=BatteryParams(capacity_ah=1.0))
    devices = simulated_devices(params, parse_scenario("outage=3h", 6 * 3600.0), clock)
    await devices.shunt.start()
    await devices.fan.set_command(100.0)
    last = None
    while not devices.plant.state.bms_cut:
        clock.advance(10.0)
        last = devices.shunt.latest() or last
    assert devices.shunt.latest() is last
    assert devices.shunt.stats.state is DeviceState.UNAVAILABLE
    clock.advance(3 * 3600.0)
    reading = devices.shunt.latest()
    assert reading is not None
    assert reading.current_a is not None
    assert reading.current_a > 0.0
    assert reading.time_to_go_min == math.inf
    assert devices.shunt.stats.state is DeviceState.OK


async def test_pressure_sensor_reads_the_room_with_noise(params: PlantParams, clock: SimulatedClock) -> None:
    quiet = PlantParams(
        battery=params.battery,
        room=RoomParams(wind_rms_pa=0.0),
        fan_power_w=params.fan_power_w,
        fan_flow_cfm=params.fan_flow_cfm,
    )
    plant = SimulatedPlant(quiet, Scenario(), clock)
    sensor = SimulatedPressureSensor(plant, noise_pa=0.05, seed=2)
    await sensor.start()
    plant.set_command(100.0 / 3.0)
    clock.advance(60.0)
    expected = (141.0 / 20.0) ** (1 / 0.65)
    values = []
    for _ in range(400):
        clock.advance(1.0)
        reading = sensor.latest()
        assert reading is not None
        values.append(reading.pressure_pa)
    mean = sum(values) / len(values)
    spread = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5
    assert mean == pytest.approx(expected, abs=0.02)
    assert spread == pytest.approx(0.05, rel=0.2)
    assert sensor.stats.readings == 400


async def test_pressure_dropout(params: PlantParams, clock: SimulatedClock) -> None:
    plant = SimulatedPlant(params, parse_scenario("pressure-dropout=10s+20s", 100.0), clock)
    sensor = SimulatedPressureSensor(plant)
    assert sensor.latest() is None
    await sensor.start()
    clock.advance(5.0)
    first = sensor.latest()
    clock.advance(10.0)
    assert sensor.latest() is first
    assert sensor.stats.state is DeviceState.STALE
    clock.advance(20.0)
    fresh = sensor.latest()
    assert fresh is not None
    assert fresh is not first
    assert sensor.stats.state is DeviceState.OK
    await sensor.close()


async def test_fan_reports_command_rpm_and_stall(params: PlantParams, clock: SimulatedClock) -> None:
    plant = SimulatedPlant(params, parse_scenario("stall=100s+60s", 1000.0), clock)
    fan = SimulatedFan(plant)
    await fan.start()
    assert fan.latest() is None
    await fan.set_command(50.0)
    assert plant.command_pct == 50.0
    clock.advance(30.0)
    reading = fan.latest()
    assert reading is not None
    assert (reading.command_pct, reading.stalled) == (50.0, False)
    assert reading.rpm == pytest.approx(1000.0, rel=1e-3)
    seen = []
    for _ in range(150):
        clock.advance(1.0)
        latest = fan.latest()
        assert latest is not None
        seen.append((plant.state.t_s, latest.rpm, latest.stalled))
    stalled_at = [t for t, _, stalled in seen if stalled]
    # The stall starts at 100 s; the tachometer first reads 0 rpm a second later, detection takes 5 s.
    assert stalled_at[0] == pytest.approx(106.0)
    assert stalled_at[-1] == pytest.approx(160.0)
    assert all(rpm == 0.0 for t, rpm, _ in seen if 100.0 < t <= 160.0)
    assert seen[-1][1] == pytest.approx(1000.0, rel=1e-2)
    await fan.set_command(0.0)
    clock.advance(30.0)
    idle = fan.latest()
    assert idle is not None
    assert not idle.stalled
    assert idle.rpm == pytest.approx(0.0, abs=0.1)
    assert fan.stats.readings == 2
    await fan.close()


async def test_fan_commands_are_clamped(params: PlantParams, clock: SimulatedClock) -> None:
    plant = SimulatedPlant(params, Scenario(), clock)
    fan = SimulatedFan(plant)
    await fan.set_command(150.0)
    assert plant.command_pct == 100.0
    await fan.set_command(-5.0)
    assert plant.command_pct == 0.0
    await fan.set_command(40.0)
    await fan.set_command(float("nan"))
    assert plant.command_pct == 40.0
    assert fan.stats.errors == 1
    assert fan.stats.last_error == "rejected command nan"


async def test_a_simulated_week_on_an_accelerated_clock(params: PlantParams) -> None:
    clock = SimulatedClock(START)
    devices = simulated_devices(params, parse_scenario("grid-returns", 7 * 86400.0), clock)
    await devices.shunt.start()
    await devices.pressure.start()
    await devices.fan.set_command(50.0)
    while clock.monotonic() < 7 * 86400.0:
        await clock.sleep(60.0)
        devices.shunt.latest()
        devices.pressure.latest()
    state = devices.plant.state
    assert state.charging
    assert state.soc_pct == pytest.approx(100.0, abs=0.5)
    reading = devices.shunt.latest()
    assert reading is not None
    assert reading.voltage_v == 13.5

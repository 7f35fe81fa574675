"""Simulated plant speed: a week of accelerated outage must cost seconds, so a plant step has to stay near
10 us. Baseline: building one new frozen PlantState (`dataclasses.replace`), the floor any step pays.

Run: .venv/bin/python bench/sim_plant.py [DAYS]   (DAYS of simulated time for the per-tick cases; default 1)
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from controller.clock import SimulatedClock
from controller.models.fan import load_curve_file
from controller.sim.devices import SimulatedDevices, SimulatedPlant, simulated_devices
from controller.sim.plant import Disturbances, PlantParams, initial_state, step
from controller.sim.scenario import preset

REFERENCE = Path(__file__).resolve().parents[1] / "controller" / "data" / "fan-airfanta-3pro-12vdc.csv"
WEEK_S = 7 * 86400.0


def per_call_s(fn: Callable[[], object], repeat: int) -> float:
    """Best of five timings of `repeat` calls."""
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - start) / repeat)
    return best


def reference_params() -> PlantParams:
    """The reference purifier (its discrete settings through the project's fan curve) and a Pi Zero."""
    curve = load_curve_file(REFERENCE)
    return PlantParams(
        fan_power_w=lambda pct: curve.point_at(pct).power_w,
        fan_flow_cfm=lambda pct: curve.point_at(pct).flow_cfm,
        controller_draw_w=0.9,
    )


def per_tick_s(params: PlantParams, tick_s: float, days: float, with_devices: bool) -> tuple[float, int]:
    """Wall seconds per simulated tick (advancing the plant, optionally reading every device) and steps taken."""
    clock = SimulatedClock(datetime(2026, 1, 1, tzinfo=UTC))
    devices = simulated_devices(params, preset("door", days * 86400.0), clock)
    plant: SimulatedPlant = devices.plant
    plant.set_command(50.0)
    asyncio.run(_start(devices))
    ticks = round(days * 86400.0 / tick_s)
    start = time.perf_counter()
    for _ in range(ticks):
        clock.advance(tick_s)
        if with_devices:
            devices.shunt.latest()
            devices.pressure.latest()
            devices.fan.latest()
        else:
            plant.advance()
    return (time.perf_counter() - start) / ticks, plant.steps


async def _start(devices: SimulatedDevices) -> None:
    await devices.shunt.start()
    await devices.pressure.start()
    await devices.fan.start()


def main(days: float = 1.0, repeat: int = 20_000) -> None:
    params = reference_params()
    state = step(initial_state(params), params, 10.0, 50.0, Disturbances(), random.Random(0))
    rng = random.Random(1)
    outage = Disturbances()
    grid = Disturbances(grid_on=True)
    rows = [
        ("baseline: replace(state)", per_call_s(lambda: replace(state, t_s=1.0), repeat)),
        ("step dt=1 s, discharging", per_call_s(lambda: step(state, params, 1.0, 50.0, outage, rng), repeat)),
        ("step dt=60 s, discharging", per_call_s(lambda: step(state, params, 60.0, 50.0, outage, rng), repeat)),
        ("step dt=1 s, charging", per_call_s(lambda: step(state, params, 1.0, 50.0, grid, rng), repeat)),
    ]
    baseline = rows[0][1]
    print(f"{'case':44} {'per call':>12} {'vs baseline':>12}")
    for name, seconds in rows:
        print(f"{name:44} {seconds * 1e6:9.2f} us {seconds / baseline:11.1f}x")
    print()
    print(f"{'per tick, ' + format(days, 'g') + ' simulated day(s)':44} {'per tick':>12} {'week wall time':>15}")
    for tick_s in (1.0, 10.0):
        for with_devices in (False, True):
            seconds, _ = per_tick_s(params, tick_s, days, with_devices)
            label = f"tick {tick_s:g} s, {'plant + 3 device reads' if with_devices else 'plant.advance()'}"
            print(f"{label:44} {seconds * 1e6:9.2f} us {seconds * WEEK_S / tick_s:13.2f} s")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)

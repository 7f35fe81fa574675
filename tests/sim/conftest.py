"""Shared pieces of the simulator tests: the reference fan as two interpolating callables."""

from __future__ import annotations

import bisect
import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from controller.sim.plant import BatteryParams, PlantParams, RoomParams

# A copy of shared/reference/fan-airfanta-3pro-12vdc.csv (see tests/fixtures/README.md).
FAN_CSV = Path(__file__).resolve().parent.parent / "fixtures" / "fan-airfanta-3pro-12vdc.csv"


def _interpolate(xs: list[float], ys: list[float]) -> Callable[[float], float]:
    def at(x: float) -> float:
        if x <= xs[0]:
            return ys[0]
        if x >= xs[-1]:
            return ys[-1]
        i = bisect.bisect_right(xs, x)
        return ys[i - 1] + (ys[i] - ys[i - 1]) * (x - xs[i - 1]) / (xs[i] - xs[i - 1])

    return at


def reference_fan() -> tuple[Callable[[float], float], Callable[[float], float]]:
    """(power_w, flow_cfm) of the reference purifier, linear in command = setting / 6 * 100."""
    lines = [line for line in FAN_CSV.read_text().splitlines() if line and not line.startswith("#")]
    rows = list(csv.DictReader(lines))
    commands = [0.0] + [float(row["setting"]) / 6.0 * 100.0 for row in rows]
    watts = [0.0] + [float(row["watts"]) for row in rows]
    cfm = [0.0] + [float(row["cfm"]) for row in rows]
    return _interpolate(commands, watts), _interpolate(commands, cfm)


def make_params(
    controller_draw_w: float = 0.9,
    battery: BatteryParams | None = None,
    room: RoomParams | None = None,
    fan_spinup_s: float = 3.0,
) -> PlantParams:
    """Plant parameters with the reference fan."""
    power, flow = reference_fan()
    return PlantParams(
        battery=battery or BatteryParams(),
        room=room or RoomParams(),
        fan_power_w=power,
        fan_flow_cfm=flow,
        controller_draw_w=controller_draw_w,
        fan_spinup_s=fan_spinup_s,
    )


@pytest.fixture(scope="session")
def params() -> PlantParams:
    """The reference fan on a 100 Ah pack with a Pi Zero's draw."""
    return make_params()


@pytest.fixture(scope="session")
def params_factory() -> Callable[..., PlantParams]:
    """make_params, for tests that vary the battery or room."""
    return make_params

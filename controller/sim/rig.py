"""A simulated plant and its devices on a simulated clock, built from the configuration: what the daemon under
`cleanroom sim` and `cleanroom calibrate --sim` run against."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from controller.clock import SimulatedClock
from controller.config.loader import Config
from controller.models.power_path import PowerPath
from controller.sim.devices import SimulatedDevices, simulated_devices
from controller.sim.from_config import plant_params
from controller.sim.plant import PlantParams
from controller.sim.scenario import Scenario


@dataclass(frozen=True, slots=True)
class SimRoom:
    """The simulated room's truth (the controller starts from the configuration's belief)."""

    leakage_c_cfm: float
    leakage_n: float
    wind_rms_pa: float = 1.0


@dataclass(frozen=True, slots=True)
class SimulatedRig:
    """The simulated devices and the clock their plant runs on."""

    devices: SimulatedDevices
    clock: SimulatedClock


def simulated_plant(
    config: Config, room: SimRoom, *, power_path: PowerPath | None = None, initial_soc_pct: float = 100.0
) -> PlantParams:
    """The plant that matches the configuration (or another power path), in the simulated room."""
    leaky = replace(config.room, leakage_c_cfm=room.leakage_c_cfm, leakage_n=room.leakage_n)
    return plant_params(
        config.battery,
        config.fan,
        leaky,
        config.power_path if power_path is None else power_path,
        initial_soc_pct=initial_soc_pct,
        wind_rms_pa=room.wind_rms_pa,
    )


def simulated_rig(
    params: PlantParams, scenario: Scenario, *, start_utc: datetime, speed: float | None, seed: int
) -> SimulatedRig:
    """The plant's devices on a simulated clock from `start_utc`, `speed` times real time (None: unpaced)."""
    clock = SimulatedClock(start_utc, speed)
    return SimulatedRig(simulated_devices(params, scenario, clock, seed=seed), clock)

"""Builders for the calibration tests: a simulated plant from the default configuration (the reference
purifier, a 100 Ah battery) in a room of known leakage, with wind and sensor noise on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from controller.calibration.model import Calibration
from controller.calibration.session import CalibrationSession, Devices, Progress, SessionSettings
from controller.calibration.sweep import sweep_plan
from controller.clock import SimulatedClock
from controller.config.loader import Config, parse_config
from controller.config.plant import RoomSection
from controller.config.reader import Table
from controller.sim.devices import SimulatedDevices, simulated_devices
from controller.sim.from_config import plant_params
from controller.sim.scenario import Scenario

START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
STANDING_W = 1.2


def default_config(data: dict[str, object] | None = None) -> Config:
    """The defaults (or a small document) as a loaded configuration."""
    return parse_config(Table(data or {}, "test.toml"), Path.cwd())


@dataclass
class Rig:
    """A simulated plant, its devices and the calibration about to run on them."""

    config: Config
    clock: SimulatedClock
    sim: SimulatedDevices
    devices: Devices
    calibration: Calibration
    settings: SessionSettings

    def session(
        self,
        calibration: Calibration | None = None,
        save: Callable[[Calibration], None] | None = None,
        progress: Callable[[Progress], None] | None = None,
    ) -> CalibrationSession:
        """A session on this rig (a resumed one with `calibration`)."""
        return CalibrationSession(
            self.devices, self.clock, self.settings, calibration or self.calibration, save=save, progress=progress
        )


def rig(
    c_cfm: float = 30.0,
    n: float = 0.6,
    *,
    soc_pct: float = 100.0,
    scenario: Scenario | None = None,
    seed: int = 0,
    wind_pa: float = 1.0,
    config: Config | None = None,
    steps: int | None = None,
    min_fit_pa: float = 2.0,
) -> Rig:
    """A plant in a room with leakage Q = c_cfm * dP^n and STANDING_W of standing draw."""
    config = config or default_config()
    path = replace(config.power_path, standing_w=0.0).with_controller(STANDING_W, 1.0)
    params = plant_params(
        config.battery,
        config.fan,
        RoomSection(c_cfm, n),
        path,
        initial_soc_pct=soc_pct,
        wind_rms_pa=wind_pa,
    )
    clock = SimulatedClock(START)
    sim = simulated_devices(params, scenario or Scenario(), clock, seed=seed)
    calibration = Calibration(
        fan_name=config.fan.curve.name,
        continuous=config.fan.curve.continuous,
        plan=sweep_plan(config.fan.curve, config.fan.min_duty_pct, steps),
        path_efficiency=1.0,
        standing_w=0.0,
        min_fit_pressure_pa=min_fit_pa,
        started_utc=START.isoformat(),
        soc_start_pct=None,
    )
    settings = SessionSettings(
        safe_speed_pct=config.fan.safe_speed_pct,
        stale_after_s=config.control.stale_after_s,
        kick_start_pct=config.fan.kick_start_pct,
        kick_start_s=config.fan.kick_start_s,
    )
    return Rig(config, clock, sim, Devices(sim.shunt, sim.pressure, sim.fan), calibration, settings)

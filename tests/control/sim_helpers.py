"""Build and run short simulations in-process for the control tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from controller.config.loader import Config, parse_config
from controller.config.reader import Table
from controller.sim.rig import SimRoom
from controller.sim.run import Simulation
from controller.sim.scenario import parse_scenario

START = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def config(sections: dict[str, dict[str, object]] | None = None, tick: str = "10 s") -> Config:
    data: dict[str, object] = {"controller": {"tick": tick}}
    for name, values in (sections or {}).items():
        data[name] = {**data.get(name, {}), **values}  # type: ignore[dict-item]
    return parse_config(Table(data, "test"), Path.cwd())


def simulation(
    cfg: Config,
    *,
    duration_s: float,
    scenario: str = "outage",
    room_c: float = 39.0,
    state_path: Path | None = None,
    speed: float | None = None,
    wind_pa: float = 1.0,
) -> Simulation:
    return Simulation(
        config=cfg,
        room=SimRoom(room_c, 0.65, wind_pa),
        scenario=parse_scenario(scenario, duration_s),
        duration_s=duration_s,
        speed=speed,
        seed=3,
        state_path=state_path,
        start_utc=START,
        keep_events=True,
    )


def with_energy(cfg: Config, energy_wh: float) -> Config:
    battery = replace(cfg.battery, capacity_ah=energy_wh / cfg.battery.nominal_v)
    return replace(cfg, battery=battery, power_path=replace(cfg.power_path, store_energy_wh=energy_wh))

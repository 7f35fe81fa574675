"""The devices a command runs against and the clock they run on: the configured [devices], or the simulated
plant in a room given by flags (shared by `cleanroom sim` and `cleanroom calibrate --sim`)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from controller import units
from controller.cli.flags import quantity_flag

if TYPE_CHECKING:
    from controller.calibration.session import Devices
    from controller.clock import Clock
    from controller.config.loader import Config
    from controller.sim.rig import SimRoom
    from drivers.base import Fan


@dataclass(slots=True)
class Rig:
    """The devices to run with and the clock they run on."""

    devices: Devices
    clock: Clock


def sim_room(config: Config, leakage_c: str | None, leakage_n: str | None, wind: str | None, *, prefix: str) -> SimRoom:
    """The simulated room from the `{prefix}room-c`, `{prefix}room-n` and `{prefix}wind` flags, each
    defaulting to the configuration's [room] (and 1 Pa of wind)."""
    from controller.sim.rig import SimRoom

    return SimRoom(
        quantity_flag(f"{prefix}room-c", leakage_c, units.FLOW, 0.1, 1e5) if leakage_c else config.room.leakage_c_cfm,
        quantity_flag(f"{prefix}room-n", leakage_n, units.DIMENSIONLESS, 0.4, 1.0)
        if leakage_n
        else config.room.leakage_n,
        quantity_flag(f"{prefix}wind", wind, units.PRESSURE, 0.0, 50.0) if wind else 1.0,
    )


def simulated_rig(args: argparse.Namespace, config: Config) -> Rig:
    """A simulated plant built from the configuration and the --sim-* flags, on a clock starting now."""
    from datetime import UTC, datetime

    from controller.calibration.session import Devices
    from controller.errors import ConfigError
    from controller.sim.rig import simulated_plant
    from controller.sim.rig import simulated_rig as build_simulated_rig
    from controller.sim.scenario import parse_scenario

    room = sim_room(config, args.sim_room_c, args.sim_room_n, args.sim_wind, prefix="--sim-")
    path = config.power_path
    if args.sim_standing_draw is not None:
        draw = quantity_flag("--sim-standing-draw", args.sim_standing_draw, units.POWER, 0.0, 100.0)
        path = replace(path, standing_w=0.0).with_controller(draw, 1.0)
    params = simulated_plant(
        config,
        room,
        power_path=path,
        initial_soc_pct=quantity_flag("--sim-soc", args.sim_soc, units.FRACTION, 0.0, 100.0),
    )
    scenario = parse_scenario(args.sim_scenario, 86400.0, source="--sim-scenario")
    if scenario.commands:
        raise ConfigError(
            "--sim-scenario", "at", args.sim_scenario, "no at=TIME:COMMAND items (only `cleanroom sim` sends commands)"
        )
    speed = quantity_flag("--sim-speed", args.sim_speed, units.DIMENSIONLESS, 0.01, 1e6) if args.sim_speed else None
    start_utc = datetime.now(UTC).replace(microsecond=0)
    built = build_simulated_rig(params, scenario, start_utc=start_utc, speed=speed, seed=args.seed)
    fan: Fan = built.devices.fan
    driver = getattr(args, "sim_fan_driver", "simulated")
    if driver != "simulated":
        from controller.sim.buttons import default_buttons, pressed_purifier
        from drivers.config import ButtonsFanConfig

        configured = config.devices.fan
        own = isinstance(configured, ButtonsFanConfig) and configured.driver == driver
        buttons = (
            configured if isinstance(configured, ButtonsFanConfig) and own else default_buttons(config.fan, driver)
        )
        fan = pressed_purifier(built.devices.plant, config.fan, buttons, built.clock, seed=args.seed).fan
    return Rig(Devices(built.devices.shunt, built.devices.pressure, fan), built.clock)


def real_rig(config: Config) -> Rig:
    """The configured [devices] on the system clock (a "simulated" role is a ConfigError)."""
    from controller.calibration.session import Devices
    from controller.clock import SystemClock
    from controller.devices import build_fan, build_pressure_sensor, build_shunt

    clock = SystemClock()
    section = config.devices
    return Rig(
        Devices(
            shunt=build_shunt(section, clock=clock.monotonic),
            pressure=build_pressure_sensor(section, clock=clock.monotonic),
            fan=build_fan(section, clock=clock.monotonic, fan=config.fan),
        ),
        clock,
    )

"""`cleanroom sim`: the whole daemon on a simulated battery, fan and room."""

from __future__ import annotations

import argparse
import json
import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from controller import units
from controller.cli.flags import add_service_arguments, quantity_flag
from controller.cli.plan import battery_energy_wh
from controller.cli.rig import sim_room

if TYPE_CHECKING:
    from controller.config.loader import Config

log = logging.getLogger(__name__)

ACCELERATED_TICK_S = 10.0

EPILOG = """\
examples:
  cleanroom sim                                   dashboard on http://127.0.0.1:8080, 60x real time
  cleanroom sim --accelerated --json              a 7-day outage as fast as the CPU allows, then a summary
  cleanroom sim --accelerated --deadline "5 days" --controller-draw "0.9 W" --mode eco --json
  cleanroom sim --speed 600 --scenario grid-returns --mqtt mqtt://127.0.0.1:1883

Scenarios: outage (default), grid-returns, fan-stall, sensor-dropouts, door, or KEY=VALUE items such as
"outage=36h, stall=10h+5min, door=50%+1min" (times as durations or percentages of the run).
Without --accelerated the simulator keeps SQLite history in --state-dir, publishes to the local MQTT
broker when one answers and serves the dashboard; with --accelerated only the flags you give start sinks.
"""


def sim_config(args: argparse.Namespace) -> Config:
    """The configuration file (or the defaults) with the simulator's flags applied."""
    from controller.commands import SETTINGS_BY_NAME, CommandLimits, CommandName
    from controller.config.loader import load_config, parse_config
    from controller.config.reader import Table
    from controller.models.fan import load_curve_file
    from controller.snapshot import Mode

    config = load_config(Path(args.config)) if args.config else parse_config(Table({}, "defaults"), Path.cwd())
    battery, path, fan, control = config.battery, config.power_path, config.fan, config.control
    if args.battery:
        energy_wh = battery_energy_wh(args.battery, battery.nominal_v)
        battery = replace(battery, capacity_ah=energy_wh / battery.nominal_v)
        path = replace(path, store_energy_wh=energy_wh)
    if args.reserve is not None:
        battery = replace(battery, reserve_pct=quantity_flag("--reserve", args.reserve, units.FRACTION, 0.0, 90.0))
    if args.confidence is not None:
        confidence = quantity_flag("--confidence", args.confidence, units.FRACTION, 50.0, 99.9)
        battery = replace(battery, confidence_pct=confidence)
    if args.controller_draw is not None:
        path = path.with_controller(quantity_flag("--controller-draw", args.controller_draw, units.POWER, 0.0, 100.0))
    if args.fan:
        fan = replace(fan, curve=load_curve_file(Path(args.fan)), curve_source=args.fan)
    if args.mode:
        control = replace(control, mode=Mode(args.mode))
    if args.deadline is not None:
        if args.deadline.strip().lower() == "none":
            control = replace(control, deadline_in_s=None, deadline_utc=None)
        else:
            low, high = SETTINGS_BY_NAME[CommandName.DEADLINE].range(CommandLimits()) or (0.0, 366 * 86400.0)
            deadline = quantity_flag("--deadline", args.deadline, units.DURATION, low, high)
            control = replace(control, deadline_in_s=deadline, deadline_utc=None)
    elif control.deadline_in_s is None and control.deadline_utc is None:
        control = replace(control, deadline_in_s=7 * 86400.0)
    if args.min_pressure is not None:
        floor_range = SETTINGS_BY_NAME[CommandName.PRESSURE_FLOOR].range(CommandLimits(control.pressure_cap_pa))
        low, high = floor_range or (0.0, control.pressure_cap_pa)
        floor = quantity_flag("--min-pressure", args.min_pressure, units.PRESSURE, low, high)
        control = replace(
            control, pressure_floor_pa=floor, pressure_setpoint_pa=max(floor, control.pressure_setpoint_pa)
        )
    controller = config.controller
    if args.id:
        controller = replace(controller, controller_id=args.id)
    if args.tick is not None:
        controller = replace(controller, tick_s=quantity_flag("--tick", args.tick, units.DURATION, 0.1, 60.0))
    elif args.accelerated:
        controller = replace(controller, tick_s=ACCELERATED_TICK_S)
    return replace(config, controller=controller, battery=battery, power_path=path, fan=fan, control=control)


def run(args: argparse.Namespace) -> int:
    """Run the simulation and print the summary."""
    import asyncio

    from controller.service import build_sinks, choose_sinks, state_directory
    from controller.sim.run import Simulation
    from controller.sim.scenario import parse_scenario

    config = sim_config(args)
    control = config.control
    if args.duration is not None:
        duration_s = quantity_flag("--duration", args.duration, units.DURATION, 1.0, 366 * 86400.0)
    else:
        duration_s = control.deadline_in_s or 7 * 86400.0
    speed = None
    if not args.accelerated:
        speed = quantity_flag("--speed", args.speed, units.DIMENSIONLESS, 0.01, 1e6) if args.speed else 60.0
    room = sim_room(config, args.room_c, args.room_n, args.wind, prefix="--")
    state_dir = state_directory(
        args, config, Path(os.environ.get("XDG_STATE_HOME", "~/.local/state")) / "cleanroom-sim"
    )
    simulation = Simulation(
        config=config,
        room=room,
        scenario=parse_scenario(args.scenario, duration_s),
        duration_s=duration_s,
        speed=speed,
        seed=args.seed,
        state_path=None,
    )
    live = not args.accelerated
    choice = choose_sinks(
        args,
        db_default=live,
        mqtt_default=(config.mqtt.url or "mqtt://127.0.0.1:1883") if live else None,
        http_default=("127.0.0.1", config.http.port) if live else None,
    )
    summary = asyncio.run(
        simulation.run(
            lambda clock: build_sinks(choice, config, clock, state_dir),
            progress=args.accelerated and not args.quiet,
        )
    )
    report = summary.to_dict()
    print(json.dumps(report, indent=2) if args.json else human_summary(report))
    return 0


def human_summary(report: dict[str, object]) -> str:
    """The summary as lines for a person."""
    lines = [f"{key.replace('_', ' ')}: {'—' if value is None else value}" for key, value in report.items()]
    return "\n".join(lines)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `sim`."""
    parser = subparsers.add_parser(
        "sim",
        help="the whole daemon on a simulated battery, fan and room",
        description="Run the controller against a simulated plant: a LiFePO4 battery with its BMS, the fan's "
        "curve, a leaky room with wind noise, and the controller's own draw. Real time times --speed, or "
        "--accelerated as fast as the CPU allows.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", metavar="FILE", help="start from this configuration file (default: the defaults)")
    parser.add_argument("--fan", metavar="CSV", help="fan curve (default: the reference AirFanta 3Pro)")
    parser.add_argument(
        "--battery", metavar="ENERGY", help='energy stored when full, where the run starts ("1280 Wh", "100 Ah")'
    )
    parser.add_argument("--reserve", metavar="PERCENT", help="energy the plan never spends (default: 10 %%)")
    parser.add_argument(
        "--confidence",
        metavar="PERCENT",
        help="the plan spends the battery estimate's lower bound at this confidence, 50-99.9 %% (default: 90 %%; "
        "the reserve stays a floor)",
    )
    parser.add_argument(
        "--controller-draw", metavar="POWER", help='the controller\'s own draw, e.g. "0.9 W" (default: 0 W)'
    )
    from controller.snapshot import Mode

    modes = tuple(mode.value for mode in Mode)
    parser.add_argument("--mode", choices=modes, help="control mode (default: auto)")
    parser.add_argument(
        "--deadline", metavar="DURATION", help='last this long, e.g. "7 days" (default: 7 days); "none"'
    )
    parser.add_argument("--min-pressure", metavar="PRESSURE", help='the pressure floor, e.g. "5 Pa" (default: 5 Pa)')
    parser.add_argument("--duration", metavar="DURATION", help="how much simulated time to run (default: the deadline)")
    timing = parser.add_mutually_exclusive_group()
    timing.add_argument("--speed", metavar="FACTOR", help="simulated time runs FACTOR times real time (default: 60)")
    timing.add_argument("--accelerated", action="store_true", help="simulated time as fast as the CPU allows")
    parser.add_argument(
        "--scenario", default="outage", metavar="SCENARIO", help="what happens during the run (default: outage)"
    )
    parser.add_argument(
        "--room-c", metavar="FLOW", help='the simulated room\'s leakage C (flow at 1 Pa, default "20 CFM")'
    )
    parser.add_argument("--room-n", metavar="N", help="the simulated room's leakage exponent (default 0.65)")
    parser.add_argument("--wind", metavar="PRESSURE", help='rms wind noise on the pressure (default "1 Pa")')
    parser.add_argument(
        "--tick", metavar="DURATION", help='how often the loop decides (default: "1 s"; "10 s" with --accelerated)'
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed of the wind and sensor noise (default: 0)")
    parser.add_argument("--json", action="store_true", help="print the end-of-run summary as one JSON object")
    parser.add_argument("--quiet", action="store_true", help="no progress line while an accelerated run works")
    add_service_arguments(parser, defaults_note="default with --accelerated: off; else on")
    parser.set_defaults(handler=run)

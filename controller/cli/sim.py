"""`cleanroom sim`: the whole daemon on a simulated battery, fan and room."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from controller import units
from controller.cli.flags import add_service_arguments, quantity_flag
from controller.cli.plan import battery_energy_wh
from controller.cli.rig import sim_room

if TYPE_CHECKING:
    from controller.config.loader import Config
    from controller.sim.buttons import PressedPurifier

log = logging.getLogger(__name__)

ACCELERATED_TICK_S = 10.0
RUN_PREFIX = "run-"
KEPT_RUNS = 10
IN_USE_S = 6 * 3600.0
"""A run directory changed this recently may belong to a simulation still running: it is not removed."""
DEFAULT_SHARE_PERIOD_S = 600.0

EPILOG = """\
examples:
  cleanroom sim                                   dashboard on http://127.0.0.1:8080, 60x real time
  cleanroom sim --accelerated --json              a 7-day outage as fast as the CPU allows, then a summary
  cleanroom sim --accelerated --deadline "5 days" --controller-draw "0.9 W" --mode eco --json
  cleanroom sim --speed 600 --scenario grid-returns --mqtt mqtt://127.0.0.1:1883
  cleanroom sim --accelerated --fan-driver buttons --scenario "outage, missed-press=5%" --json

Scenarios: a preset, outage (default), grid-returns, fan-stall, sensor-dropouts or door, and/or items,
comma-separated, such as "outage=36h, stall=10h+5min, door=50%+1min" or "capacity=80%, at=84h:deadline=1 day"
(times as durations or percentages of the run):
{items}

The summary judges the run against its deadline (deadline_met, deadline_miss_h; clean air up to the deadline,
none after the battery cut out) and against the most air the energy the battery really held allows
(true_bound_cfm, ratio_to_true_bound), computed from the simulated battery, not from what the run drew;
where the grid returned or the deadline moved, also against the best plan for what was known at each moment
(foresight_free_bound_cfm, ratio_to_foresight_free_bound).
Without --accelerated the simulator keeps SQLite history in its state directory, publishes to the local MQTT
broker when one answers and serves the dashboard; with --accelerated only the flags you give start sinks.
Each run starts with a new state directory under ~/.local/state/cleanroom-sim/runs/ (the newest 10 are
kept) unless --state-dir names one; it prints that directory and the command that shows its API token.
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
    if args.fan_driver in ("buttons", "ir") and control.share_period_s == DEFAULT_SHARE_PERIOD_S:
        from controller.config.buttons import button_share_period

        control = button_share_period(control, explicit=False)
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

    from controller.commands import CommandLimits
    from controller.service import build_sinks, choose_sinks, state_directory
    from controller.sim.run import Simulation
    from controller.sim.scenario import latest_deadline_s, parse_scenario

    config = sim_config(args)
    control = config.control
    limits = CommandLimits(control.pressure_cap_pa)
    if args.duration is not None:
        duration_s = quantity_flag("--duration", args.duration, units.DURATION, 1.0, 366 * 86400.0)
        scenario = parse_scenario(args.scenario, duration_s, limits=limits)
    else:
        duration_s = control.deadline_in_s or 7 * 86400.0
        scenario = parse_scenario(args.scenario, duration_s, limits=limits)
        duration_s = latest_deadline_s(scenario, duration_s) or duration_s
    speed = None
    if not args.accelerated:
        speed = quantity_flag("--speed", args.speed, units.DIMENSIONLESS, 0.01, 1e6) if args.speed else 60.0
    room = sim_room(config, args.room_c, args.room_n, args.wind, prefix="--")
    state_dir = state_directory(args, config, None if args.state_dir else fresh_state_dir())
    if not args.quiet:
        from web.tokens import token_command

        kept = "kept across runs" if args.state_dir else "new for this run; --state-dir DIR keeps one across runs"
        print(f"simulator state (history, API token): {state_dir} ({kept})", file=sys.stderr)
        print(f"the API token that dashboard commands need: {token_command(state_dir)}", file=sys.stderr)
    simulation = Simulation(
        config=config,
        room=room,
        scenario=scenario,
        duration_s=duration_s,
        speed=speed,
        seed=args.seed,
        state_path=None,
        fan_driver=args.fan_driver,
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
    if simulation.pressed is not None:
        report.update(pressed_report(simulation.pressed, summary.hours))
    print(json.dumps(report, indent=2) if args.json else human_summary(report))
    return 0


def fresh_state_dir() -> Path:
    """A new state directory for this run under $XDG_STATE_HOME/cleanroom-sim/runs (history, events and
    token of earlier runs stay out of this one's dashboard); only the newest KEPT_RUNS runs are kept."""
    runs = Path(os.environ.get("XDG_STATE_HOME") or "~/.local/state").expanduser() / "cleanroom-sim" / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    earlier = sorted(p for p in runs.iterdir() if p.is_dir() and p.name.startswith(RUN_PREFIX))
    quiet_since = time.time() - IN_USE_S
    for old in earlier[: max(0, len(earlier) - KEPT_RUNS + 1)]:
        if old.stat().st_mtime < quiet_since:
            shutil.rmtree(old, ignore_errors=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(tempfile.mkdtemp(prefix=f"{RUN_PREFIX}{stamp}-", dir=runs))


def pressed_report(pressed: PressedPurifier, hours: float) -> dict[str, object]:
    """What the buttons driver did: presses (per day), corrections, misses, and what it says now."""
    counters = pressed.fan.stats.counters
    presses = counters.get("presses", 0)
    return {
        "fan_presses": presses,
        "fan_presses_per_day": round(presses * 24.0 / hours, 1) if hours > 0 else None,
        "fan_missed_presses": pressed.purifier.missed,
        "fan_corrections": counters.get("corrections", 0),
        "fan_state": pressed.fan.stats.state.value,
        "fan_message": pressed.fan.message,
    }


def human_summary(report: dict[str, object]) -> str:
    """The summary as lines for a person (a list, such as the scenario's commands, one item a line)."""
    lines = []
    for key, value in report.items():
        label = key.replace("_", " ")
        if isinstance(value, list | tuple):
            lines += [f"{label}: {item}" for item in value] if value else [f"{label}: —"]
        else:
            lines.append(f"{label}: {'—' if value is None else value}")
    return "\n".join(lines)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `sim`."""
    from controller.sim.scenario_items import items_help

    parser = subparsers.add_parser(
        "sim",
        help="the whole daemon on a simulated battery, fan and room",
        description="Run the controller against a simulated plant: a LiFePO4 battery with its BMS, the fan's "
        "curve, a leaky room with wind noise, and the controller's own draw. Real time times --speed, or "
        "--accelerated as fast as the CPU allows.",
        epilog=EPILOG.format(items=items_help("  ")),
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
        "--scenario",
        default="outage",
        metavar="SCENARIO",
        help="what happens during the run: a preset and/or items (below; default: outage)",
    )
    _add_plant_arguments(parser)
    parser.add_argument("--seed", type=int, default=0, help="random seed of the wind and sensor noise (default: 0)")
    parser.add_argument("--json", action="store_true", help="print the end-of-run summary as one JSON object")
    parser.add_argument("--quiet", action="store_true", help="no progress line while an accelerated run works")
    add_service_arguments(parser, defaults_note="default with --accelerated: off; else on")
    parser.set_defaults(handler=run)


def _add_plant_arguments(parser: argparse.ArgumentParser) -> None:
    """The simulated room, tick and fan driver."""
    parser.add_argument(
        "--room-c", metavar="FLOW", help='the simulated room\'s leakage C (flow at 1 Pa, default "20 CFM")'
    )
    parser.add_argument("--room-n", metavar="N", help="the simulated room's leakage exponent (default 0.65)")
    parser.add_argument("--wind", metavar="PRESSURE", help='rms wind noise on the pressure (default "1 Pa")')
    parser.add_argument(
        "--tick", metavar="DURATION", help='how often the loop decides (default: "1 s"; "10 s" with --accelerated)'
    )
    parser.add_argument(
        "--fan-driver",
        choices=("simulated", "buttons", "ir"),
        default="simulated",
        help="simulated: the plant's own fan; buttons: the real buttons driver pressing a simulated purifier "
        "(the configuration's [devices.fan] buttons, or one button cycling off and every setting); ir: the real "
        "ir driver sending a remote's codes (one per setting and off) through a fake ir-ctl; both verified by "
        "the simulated shunt, share period 30 min unless the configuration sets one (default: simulated)",
    )

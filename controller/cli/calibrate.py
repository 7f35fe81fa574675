"""`cleanroom calibrate`: measure the fan's draw per setting and the room's leakage, write a calibration file."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from controller import units
from controller.cli.calibrate_output import ProgressLine, json_result, output_path
from controller.cli.flags import quantity_flag
from controller.cli.rig import Rig, real_rig, simulated_rig
from controller.errors import MISSING_VALUE, ConfigError

if TYPE_CHECKING:
    from controller.calibration.model import Calibration
    from controller.calibration.session import CalibrationSession, SessionSettings
    from controller.config.loader import Config

EPILOG = """\
examples:
  cleanroom calibrate --config /etc/cleanroom/config.toml
  cleanroom calibrate --config /etc/cleanroom/config.toml --resume      continue an interrupted run
  cleanroom calibrate --sim --sim-room-c "30 CFM" --sim-room-n 0.6 --json

The fan goes OFF briefly to measure the baseline draw (the controller and everything else on the battery),
then runs every setting (a discrete fan) or --steps duty cycles (a continuous fan), waiting at each until
the battery draw and the room's pressure have settled. A sensor fault, a stalled fan, Ctrl-C or SIGTERM
leave the fan at the safe speed ([fan] safe_speed) with the results so far in OUTPUT's .partial.json;
--resume continues from there. The file goes to --output, else calibration.json in the state directory
([controller] state_dir, /var/lib/cleanroom by default; ~/.local/state/cleanroom-sim with --sim and no
--config). Then add to the configuration the path it prints:

  [calibration]
  file = "/var/lib/cleanroom/calibration.json"

and `cleanroom run` uses the measured fan curve, room leakage and baseline draw.
"""


def partial_path(output: Path) -> Path:
    """Where the partial results of a run towards `output` are kept."""
    return output.with_name(f"{output.stem}.partial{output.suffix or '.json'}")


def load_configuration(args: argparse.Namespace) -> Config:
    """The configuration file, or the defaults with --sim."""
    from controller.config.loader import load_config, parse_config
    from controller.config.reader import Table

    if args.config:
        return load_config(Path(args.config))
    if not args.sim:
        raise ConfigError(
            "command line", "--config", MISSING_VALUE, "a configuration file with a [devices] table (or --sim)"
        )
    return parse_config(Table({}, "defaults"), Path.cwd())


def session_settings(args: argparse.Namespace, config: Config) -> SessionSettings:
    """The session's settings from the flags and the configuration."""
    from controller.calibration.session import SessionSettings
    from controller.calibration.settling import MeasureCriteria, SettlingCriteria

    d = units.DURATION
    return SessionSettings(
        safe_speed_pct=config.fan.safe_speed_pct,
        sample_s=quantity_flag("--sample-interval", args.sample_interval, d, 0.05, 60.0),
        settling=SettlingCriteria(
            window_s=quantity_flag("--settle-window", args.settle_window, d, 1.0, 3600.0),
            timeout_s=quantity_flag("--settle-timeout", args.settle_timeout, d, 1.0, 86400.0),
        ),
        measure=MeasureCriteria(
            min_s=quantity_flag("--measure-min", args.measure_min, d, 0.5, 86400.0),
            max_s=quantity_flag("--measure-max", args.measure_max, d, 0.5, 86400.0),
        ),
        stale_after_s=config.control.stale_after_s,
        min_soc_pct=quantity_flag("--min-soc", args.min_soc, units.FRACTION, 0.0, 100.0),
        force=args.force,
        kick_start_pct=config.fan.kick_start_pct,
        kick_start_s=config.fan.kick_start_s,
    )


def starting_calibration(args: argparse.Namespace, config: Config, rig: Rig, partial: Path) -> Calibration:
    """A fresh calibration for the configured fan, or the saved partial one with --resume."""
    from controller.calibration import store
    from controller.calibration.model import Calibration
    from controller.calibration.sweep import sweep_plan

    fan = config.fan
    steps = None
    if args.steps is not None:
        if not fan.curve.continuous:
            raise ConfigError(
                "command line", "--steps", args.steps, "no --steps for a discrete fan (each setting is measured)"
            )
        if not 2 <= args.steps <= 100:
            raise ConfigError("command line", "--steps", args.steps, "from 2 to 100 duty cycles")
        steps = args.steps
    try:
        plan = sweep_plan(fan.curve, fan.min_duty_pct, steps)
    except ValueError as exc:
        raise ConfigError(config.source, "fan.min_duty", f"{fan.min_duty_pct:g} %", str(exc)) from exc
    min_fit = quantity_flag("--min-fit-pressure", args.min_fit_pressure, units.PRESSURE, 0.0, 1000.0)
    if args.resume:
        saved = store.load(partial)
        if [(p.setting, p.command_pct) for p in saved.plan] != [(p.setting, p.command_pct) for p in plan]:
            raise ConfigError(
                str(partial),
                "plan",
                ", ".join(p.setting for p in saved.plan),
                "the same sweep as now (" + ", ".join(p.setting for p in plan) + "); start afresh without --resume",
            )
        return replace(saved, min_fit_pressure_pa=min_fit)
    return Calibration(
        fan_name=fan.curve.name,
        continuous=fan.curve.continuous,
        plan=plan,
        path_efficiency=config.power_path.efficiency,
        standing_w=config.power_path.standing_w,
        min_fit_pressure_pa=min_fit,
        started_utc=rig.clock.utc_now().isoformat(),
        soc_start_pct=None,
    )


async def _calibrate(session: CalibrationSession, terminated: list[bool]) -> Calibration:
    """Run the session; SIGTERM cancels it like Ctrl-C (the session makes the fan safe and saves) and is
    noted in `terminated`."""
    import asyncio

    task = asyncio.current_task()
    loop = asyncio.get_running_loop()

    def terminate() -> None:
        terminated.append(True)
        if task is not None:
            task.cancel()

    loop.add_signal_handler(signal.SIGTERM, terminate)
    try:
        return await session.run()
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def run(args: argparse.Namespace) -> int:
    """Calibrate, write the file, print the report."""
    from controller.calibration import store
    from controller.calibration.session import CalibrationSession

    config = load_configuration(args)
    output = output_path(args.output, config.controller.state_dir, simulated=args.sim and not args.config)
    partial = partial_path(output)
    target_pa = (
        quantity_flag("--target-pressure", args.target_pressure, units.PRESSURE, 0.0, 1000.0)
        if args.target_pressure
        else config.control.pressure_floor_pa
    )
    settings = session_settings(args, config)
    rig = simulated_rig(args, config) if args.sim else real_rig(config)
    calibration = starting_calibration(args, config, rig, partial)
    if args.resume and not args.quiet:
        print(
            f"resuming {partial}: {len(calibration.steps)} of {len(calibration.plan)} steps measured"
            + ("" if calibration.baseline is None else f", baseline {calibration.baseline.power_w:.3f} W"),
            file=sys.stderr,
        )
    progress = ProgressLine(args.quiet)
    session = CalibrationSession(
        rig.devices, rig.clock, settings, calibration, save=lambda c: store.save(partial, c), progress=progress
    )
    result = _run_session(session, settings, partial, progress)
    if isinstance(result, int):
        return result
    _write_and_report(args, config, rig, result, output, target_pa)
    return 0


def _run_session(
    session: CalibrationSession, settings: SessionSettings, partial: Path, progress: ProgressLine
) -> Calibration | int:
    """The finished calibration, or the exit status after saying why the run stopped early."""
    import asyncio

    from controller.calibration.fit import FitError
    from controller.calibration.session import CalibrationAborted, CalibrationRefused

    terminated: list[bool] = []
    try:
        result = asyncio.run(_calibrate(session, terminated))
    except (KeyboardInterrupt, asyncio.CancelledError):
        progress.done()
        print(
            f"cleanroom calibrate: interrupted; the fan is at the safe speed ({settings.safe_speed_pct:g} %) and "
            f"{len(session.calibration.steps)} of {len(session.calibration.plan)} steps are saved in {partial}; "
            "continue with --resume",
            file=sys.stderr,
        )
        return 128 + (signal.SIGTERM if terminated else signal.SIGINT)
    except CalibrationAborted as exc:
        progress.done()
        print(f"cleanroom calibrate: {exc}; partial results: {partial}", file=sys.stderr)
        return 3
    except CalibrationRefused as exc:
        progress.done()
        devices = session.devices
        said = [(role, device.stats.last_error) for role, device in (("battery monitor", devices.shunt),
                ("pressure sensor", devices.pressure), ("fan", devices.fan))]  # fmt: skip
        reasons = "".join(f"; {role}: {error}" for role, error in said if error)
        print(f"cleanroom calibrate: {exc}{reasons}", file=sys.stderr)
        return 2
    except FitError as exc:
        progress.done()
        print(
            f"cleanroom calibrate: {exc}. The fan is at the safe speed; every step is saved in {partial} "
            "(re-fit with --resume and another --min-fit-pressure)",
            file=sys.stderr,
        )
        return 3
    progress.done()
    return result


def _write_and_report(
    args: argparse.Namespace, config: Config, rig: Rig, result: Calibration, output: Path, target_pa: float
) -> None:
    """Write the calibration file, drop the partial one and print the report (or the --json object)."""
    from controller.calibration import store
    from controller.calibration.config import apply_calibration, section_from
    from controller.calibration.report import build_report, render

    store.save(output, result)
    partial_path(output).unlink(missing_ok=True)
    section = section_from(result, str(output))
    fan, _, path = apply_calibration(section, config.fan, config.room, config.power_path)
    soc = rig.devices.shunt.latest()
    report = build_report(result, fan.curve, config.battery, path, target_pa, None if soc is None else soc.soc_pct)
    if args.json:
        print(json.dumps(json_result(result, output, report), indent=2))
    else:
        print(render(report, result))
        print(f'\nWritten to {output}. Use it with, in the configuration file:\n\n[calibration]\nfile = "{output}"')


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `calibrate`."""
    parser = subparsers.add_parser(
        "calibrate",
        help="measure the fan's draw per setting and the room's leakage; write a calibration file",
        description="Step the fan through its settings, wait for the battery draw and the room's pressure "
        "to settle at each, record the fan's watts (battery draw minus the fan-off baseline), the pressure "
        "and the rpm, fit the room's leakage Q = C x dP^n, and write a calibration file that the "
        "configuration's [calibration] file = ... makes `cleanroom run` use.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_run_arguments(parser)
    _add_timing_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    _add_simulation_arguments(parser.add_argument_group("simulation"))
    parser.set_defaults(handler=run)


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Where from, where to, and when to refuse or leave a step out."""
    parser.add_argument("--config", metavar="FILE", help="configuration file (its [devices], [fan], [battery])")
    parser.add_argument(
        "--output", metavar="FILE", help="calibration file to write (default: calibration.json in the state directory)"
    )
    parser.add_argument("--resume", action="store_true", help="continue from the partial results of an earlier run")
    parser.add_argument("--steps", type=int, metavar="N", help="duty cycles to sweep for a continuous fan (default 8)")
    parser.add_argument(
        "--target-pressure", metavar="PRESSURE", help="the pressure to hold (default: [control] pressure_floor)"
    )
    parser.add_argument(
        "--min-soc", default="30 %", metavar="PERCENT", help="refuse below this state of charge (default: %(default)s)"
    )
    parser.add_argument("--force", action="store_true", help="run even when the battery's state of charge is unknown")
    parser.add_argument(
        "--min-fit-pressure",
        default="2 Pa",
        metavar="PRESSURE",
        help="steps below this pressure stay out of the leakage fit (default: %(default)s)",
    )


def _add_timing_arguments(parser: argparse.ArgumentParser) -> None:
    """How often to sample, how long to wait for settling and how long to average."""
    parser.add_argument(
        "--sample-interval", default="1 s", metavar="DURATION", help="sampling period (default: %(default)s)"
    )
    parser.add_argument(
        "--settle-window",
        default="60 s",
        metavar="DURATION",
        help="settled when this window is steady (default: %(default)s)",
    )
    parser.add_argument(
        "--settle-timeout",
        default="5 min",
        metavar="DURATION",
        help="measure anyway after this long (default: %(default)s)",
    )
    parser.add_argument(
        "--measure-min",
        default="5 min",
        metavar="DURATION",
        help="average each step at least this long (default: %(default)s)",
    )
    parser.add_argument(
        "--measure-max",
        default="15 min",
        metavar="DURATION",
        help="...and at most this long when the pressure is noisy (default: %(default)s)",
    )


def _add_simulation_arguments(sim: argparse._ArgumentGroup) -> None:
    """The --sim plant: its room, wind, battery, standing draw, faults, pace and noise seed."""
    sim.add_argument("--sim", action="store_true", help="calibrate the simulated plant instead of the real devices")
    sim.add_argument("--sim-room-c", metavar="FLOW", help="simulated room's leakage C, CFM at 1 Pa (default: [room])")
    sim.add_argument("--sim-room-n", metavar="N", help="simulated room's leakage exponent (default: [room])")
    sim.add_argument("--sim-wind", default="1 Pa", metavar="PRESSURE", help="rms wind noise (default: %(default)s)")
    sim.add_argument(
        "--sim-soc", default="100 %", metavar="PERCENT", help="battery charge at the start (default: %(default)s)"
    )
    sim.add_argument(
        "--sim-standing-draw",
        metavar="POWER",
        help="everything but the fan on the simulated battery (default: the [power_path]'s)",
    )
    sim.add_argument(
        "--sim-scenario",
        default="outage",
        metavar="SCENARIO",
        help='faults during the run, e.g. "pressure-dropout=40min+5min" (times from the start; see cleanroom sim)',
    )
    sim.add_argument(
        "--sim-speed",
        metavar="FACTOR",
        help="simulated time runs FACTOR times real time (default: as fast as possible)",
    )
    sim.add_argument(
        "--sim-fan-driver",
        choices=("simulated", "buttons", "ir"),
        default="simulated",
        help="buttons/ir: step the settings by pressing a simulated purifier with the real driver, its presses "
        "checked against the power (default: simulated)",
    )
    sim.add_argument("--seed", type=int, default=0, help="random seed of the wind and sensor noise (default: 0)")

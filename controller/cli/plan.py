"""`cleanroom plan`: how long the battery runs the fan on each setting, and the best schedule for a target."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from controller import units
from controller.cli.flags import quantity_flag
from controller.errors import ConfigError
from controller.models.power_path import PRESETS

EPILOG = """\
examples:
  cleanroom plan --target "7 days"
  cleanroom plan --fan my-fan.csv --battery "100 Ah" --controller-draw "0.9 W" --target "5 days" --json
  cleanroom plan --path station-ac --target 72h --allow-off
  cleanroom plan --target "2 days" --room-leakage "10 CFM" --pressure-cap "25 Pa"

The fan CSV has the columns setting,watts,cfm ('#' starts a comment). Settings written as duty cycles
("40%") describe a continuous PWM fan; other labels are the discrete settings of a purifier.
"""


def battery_energy_wh(text: str, nominal_v: float = 12.8) -> float:
    """An energy ("1280 Wh", "1.28 kWh") or a charge at the nominal LiFePO4 voltage ("100 Ah")."""
    expected = 'an energy such as "1280 Wh" or "1.28 kWh", or a charge such as "100 Ah" (at 12.8 V), above 0'
    try:
        value = units.parse(text, units.ENERGY)
    except units.UnitError:
        try:
            value = units.parse(text, units.CHARGE) * nominal_v
        except units.UnitError as exc:
            raise ConfigError("command line", "--battery", text, expected) from exc
    if not value > 0:
        raise ConfigError("command line", "--battery", text, expected)
    return value


def build_report(args: argparse.Namespace) -> tuple[dict[str, object], str]:
    """The JSON report and the human table for the parsed flags."""
    from controller.config.plant import REFERENCE_FAN
    from controller.models.fan import load_curve_file
    from controller.planner import TightRoom, candidates_for, plan, tight_room
    from controller.report import render_table, settings_rows, target_object

    curve = load_curve_file(Path(args.fan)) if args.fan else load_curve_file(REFERENCE_FAN)
    path = PRESETS[args.path]
    draw_w = quantity_flag("--controller-draw", args.controller_draw, units.POWER, 0.0)
    path = path.with_controller(draw_w)
    stored_wh = battery_energy_wh(args.battery) if args.battery else path.store_energy_wh
    reserve_pct = default_reserve_pct() if args.reserve is None else reserve_flag(args.reserve)
    energy_wh = stored_wh * (100.0 - reserve_pct) / 100.0
    room = _room_flags(args)
    cap_cfm = float("inf") if room is None else room[0] * room[2] ** room[1]
    candidates = candidates_for(curve, allow_off=args.allow_off, max_flow_cfm=cap_cfm)
    report: dict[str, object] = {
        "source_wh": stored_wh,
        "reserve_pct": reserve_pct,
        "usable_wh": round(energy_wh, 3),
        "path": path.name,
        "controller_draw_w": draw_w,
        "allow_off": args.allow_off,
        "settings": settings_rows(curve, path, energy_wh, candidates),
        "hull": [p.setting for p in candidates.hull],
        "target": None,
    }
    notice: TightRoom | None = None
    if args.target:
        duration_s = quantity_flag("--target", args.target, units.DURATION, 0.0, low_exclusive=True)
        schedule = plan(energy_wh, duration_s, candidates, path)
        report["target"] = target_object(schedule)
        if room is not None:
            notice = tight_room(schedule, candidates, curve, room[2])
    table = render_table(report, path)
    if room is not None:
        report["tight_room"] = None if notice is None else notice.message
        if notice is not None:
            table += f"\nTight room: {notice.message}\n"
    return report, table


def default_reserve_pct() -> float:
    """The reserve `run` and `sim` keep when the configuration names none ([battery] reserve's default)."""
    from controller.config.plant import DEFAULT_RESERVE_PCT

    return DEFAULT_RESERVE_PCT


def reserve_flag(text: str) -> float:
    """--reserve, in percent of the stored energy (the range [battery] reserve accepts)."""
    return quantity_flag("--reserve", text, units.FRACTION, 0.0, 90.0)


def _room_flags(args: argparse.Namespace) -> tuple[float, float, float] | None:
    """(C in CFM at 1 Pa, n, the pressure cap in Pa) when --room-leakage is given, else None."""
    if not args.room_leakage:
        return None
    c_cfm = quantity_flag("--room-leakage", args.room_leakage, units.FLOW, 0.0, low_exclusive=True)
    n = quantity_flag("--leakage-n", args.leakage_n, units.DIMENSIONLESS, 0.4, 1.0)
    cap_pa = quantity_flag("--pressure-cap", args.pressure_cap, units.PRESSURE, 0.0, low_exclusive=True)
    return c_cfm, n, cap_pa


UNREACHABLE = 1
"""Exit status when the target cannot be met (2 is a bad flag, as for every command)."""


def run(args: argparse.Namespace) -> int:
    """Print the report; a target that cannot be met is said first, and ends with UNREACHABLE."""
    from controller.report import unreachable_message

    report, table = build_report(args)
    problem = unreachable_message(report)
    if problem is not None and args.json:
        print(f"cleanroom plan: {problem}", file=sys.stderr, flush=True)
    print(json.dumps(report, indent=2) if args.json else table)
    return UNREACHABLE if problem is not None else 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `plan`."""
    parser = subparsers.add_parser(
        "plan",
        help="runtime and clean-air table for a battery, fan and power path; the best schedule for a target",
        description="Runtime and clean air per fan setting on a stored energy, and the energy-optimal "
        "schedule (time-sharing between two settings) that lasts a target duration with the most clean air.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--fan", metavar="CSV", help="fan curve file (default: the reference AirFanta 3Pro on 12 V)")
    parser.add_argument(
        "--path",
        metavar="PRESET",
        choices=tuple(PRESETS),
        default="diy-12v",
        help=f"power path from the store to the fan: {', '.join(PRESETS)} (default: %(default)s)",
    )
    parser.add_argument(
        "--battery", metavar="ENERGY", help='stored energy, e.g. "1280 Wh" or "100 Ah" (default: the preset\'s)'
    )
    parser.add_argument(
        "--controller-draw",
        metavar="POWER",
        default="0 W",
        help='the controller\'s own draw on the store, e.g. "0.9 W" for a Pi Zero 2 W (default: %(default)s)',
    )
    parser.add_argument(
        "--reserve",
        metavar="PERCENT",
        help="stored energy the plan never spends, as run and sim keep it (default: [battery] reserve's 10 %%)",
    )
    parser.add_argument(
        "--target",
        metavar="DURATION",
        help='how long it must last, e.g. "7 days", "36 h"; a target no setting reaches exits with status 1',
    )
    parser.add_argument(
        "--allow-off",
        action="store_true",
        help="let the schedule switch the fan off part of the time (only when no minimum pressure is needed)",
    )
    parser.add_argument(
        "--room-leakage",
        metavar="FLOW",
        help='the room\'s leakage C (the flow at 1 Pa), e.g. "39 CFM": plans under the pressure cap and says '
        "when the cap leaves energy unspent",
    )
    parser.add_argument("--leakage-n", metavar="N", default="0.65", help="the leakage exponent (default: %(default)s)")
    parser.add_argument(
        "--pressure-cap", metavar="PRESSURE", default="25 Pa", help="the pressure cap (default: %(default)s)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.set_defaults(handler=run)

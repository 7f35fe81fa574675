"""`cleanroom`: the command-line entry point. Each subcommand lives in its own module of this package
with a `register(subparsers)` that adds its parser and sets `handler`; heavy imports happen in the
handler, so `cleanroom --help` stays fast on a Pi Zero.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from controller.errors import CleanroomError

SUBCOMMANDS: tuple[str, ...] = ("plan", "check_config", "sim", "run", "calibrate", "probe", "learn_ir", "token")

DESCRIPTION = """\
Keep a battery-backed clean room at positive pressure with the most clean air the battery allows.

Start here:
  cleanroom plan --target "7 days"      how long the battery runs the fan, and the best schedule
  cleanroom sim                         the whole daemon on a simulated battery, fan and room
  cleanroom check-config FILE           validate a configuration file
Every command has its own --help.
"""


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="cleanroom", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="how much to log on standard error (default: %(default)s)",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"controller.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; a CleanroomError becomes a one-line message and exit status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        status: int = args.handler(args)
    except CleanroomError as exc:
        print(f"cleanroom {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return status

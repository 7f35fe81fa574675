"""`cleanroom check-config FILE`: validate a configuration file and print the resolved values."""

from __future__ import annotations

import argparse
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

from controller.errors import CleanroomError, ConfigError

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    """Load the file (errors exit 2 with file, key, value and expectation) and print what it resolves to."""
    from controller.config.control import check_deadline_horizon
    from controller.config.describe import describe
    from controller.config.loader import load_config

    try:
        config = load_config(Path(args.file))
    except CleanroomError:
        raise
    except Exception as exc:  # a hostile file gets a one-line answer, never a traceback (--log-level DEBUG shows it)
        log.debug("reading %s failed", args.file, exc_info=True)
        raise ConfigError(
            args.file, "(file)", f"{type(exc).__name__}: {exc}", "a file this version can read (please report it)"
        ) from exc
    check_deadline_horizon(config.control, config.source, datetime.now(UTC))
    resolved = describe(config)
    if args.json:
        print(json.dumps(resolved, indent=2))
        return 0
    print(f"{args.file}: valid")
    assert isinstance(resolved, dict)
    for section, values in resolved.items():
        if section == "source":
            continue
        print(f"\n[{section}]")
        if isinstance(values, dict):
            for key, value in values.items():
                if isinstance(value, dict) and "points" in value:
                    print(f"  {key} = {value['kind']}, {len(value['points'])} points:")
                    for point in value["points"]:
                        print("    " + ", ".join(f"{k} {v}" for k, v in point.items()))
                else:
                    print(f"  {key} = {value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `check-config`."""
    parser = subparsers.add_parser(
        "check-config",
        help="validate a configuration file and print the resolved values",
        description="Validate a cleanroom TOML configuration file. Every quantity is written with its unit "
        '("100 Ah", "5 Pa", "7 days"); a wrong unit, a missing key or an out-of-range value is reported with '
        "the file, the key, the value and what was expected. See deploy/config.example.toml.",
    )
    parser.add_argument("file", metavar="FILE", help="the TOML configuration file")
    parser.add_argument("--json", action="store_true", help="print the resolved values as JSON")
    parser.set_defaults(handler=run)

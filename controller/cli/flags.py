"""Quantities given on the command line: parsed with their units, checked against a range, and refused
with the flag, the value and what was expected."""

from __future__ import annotations

import argparse
import math

from controller import units
from controller.errors import ConfigError


def quantity_flag(
    flag: str, text: str, kind: units.Kind, low: float, high: float = math.inf, *, low_exclusive: bool = False
) -> float:
    """The flag's value in the kind's internal unit."""
    if math.isinf(high):
        bounds = f"{'above' if low_exclusive else 'at least'} {units.show_limit(low, kind)}"
    else:
        bounds = f"from {units.show_limit(low, kind)} to {units.show_limit(high, kind)}"
    expected = f"a {kind.name} such as {kind.examples}, {bounds}"
    try:
        value = units.parse(text, kind)
    except units.UnitError as exc:
        raise ConfigError("command line", flag, text, expected) from exc
    inside = units.within(value, low, high)
    if inside is None or (low_exclusive and value <= low) or math.isnan(value):
        raise ConfigError("command line", flag, text, expected)
    return inside


def add_service_arguments(parser: argparse.ArgumentParser, *, defaults_note: str) -> None:
    """The flags shared by `run` and `sim`."""
    parser.add_argument("--id", metavar="NAME", help="controller id: MQTT topic level and history column")
    parser.add_argument(
        "--db",
        metavar="URL",
        help="history database as an SQLAlchemy URL (sqlite:///path or postgresql+psycopg://...); "
        f"'none' to keep no history ({defaults_note})",
    )
    parser.add_argument(
        "--mqtt",
        metavar="URL",
        help="MQTT broker, mqtt://user:pass@host:port, mqtts:// for TLS, mqtt5:// or mqtts5:// for MQTT 5; "
        f"'none' for no MQTT ({defaults_note})",
    )
    parser.add_argument(
        "--http",
        metavar="HOST:PORT",
        help=f"serve the dashboard and API here, e.g. 127.0.0.1:8080; 'none' for no web server ({defaults_note})",
    )
    parser.add_argument("--state-dir", metavar="DIR", help="battery state, API token and the default SQLite history")

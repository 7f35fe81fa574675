"""Quantities given on the command line: parsed with their units, checked against a range, and refused
with the flag, the value and what was expected."""

from __future__ import annotations

import math

from controller import units
from controller.errors import ConfigError


def quantity_flag(
    flag: str, text: str, kind: units.Kind, low: float, high: float = math.inf, *, low_exclusive: bool = False
) -> float:
    """The flag's value in the kind's internal unit."""
    unit = "%" if kind is units.FRACTION else ("" if kind is units.DIMENSIONLESS else f" {kind.unit}")
    if math.isinf(high):
        bounds = f"{'above' if low_exclusive else 'at least'} {low:g}{unit}"
    else:
        bounds = f"from {low:g}{unit} to {high:g}{unit}"
    expected = f"a {kind.name} such as {kind.examples}, {bounds}"
    try:
        value = units.parse(text, kind)
    except units.UnitError as exc:
        raise ConfigError("command line", flag, text, expected) from exc
    too_low = value <= low if low_exclusive else value < low
    if too_low or value > high or math.isnan(value):
        raise ConfigError("command line", flag, text, expected)
    return value

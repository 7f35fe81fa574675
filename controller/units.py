"""Quantities with units at the edges (config, CLI, commands, display); plain SI floats inside.

Each quantity kind has one internal unit, which the names inside the code carry as a suffix:
power `_w`, energy `_wh`, charge `_ah`, voltage `_v`, current `_a`, pressure `_pa`, flow `_cfm`,
volume `_ft3`, time `_s`, fraction `_pct` (0-100) and ratios as plain floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import pint


@cache
def registry() -> Any:
    """The one pint registry of the process (created lazily so that nothing happens at import)."""
    ureg: Any = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    ureg.define("CFM = foot ** 3 / minute = cfm")
    ureg.define("inWC = inH2O = inwc")
    return ureg


@dataclass(frozen=True, slots=True)
class Kind:
    """A quantity kind: the internal unit every value of the kind is converted to."""

    name: str
    unit: str
    examples: str


POWER = Kind("power", "W", '"0.9 W", "4.12 W"')
ENERGY = Kind("energy", "Wh", '"1280 Wh", "1.28 kWh"')
CHARGE = Kind("charge", "Ah", '"100 Ah"')
VOLTAGE = Kind("voltage", "V", '"12.8 V", "14000 mV"')
CURRENT = Kind("current", "A", '"0.5 A", "200 mA"')
PRESSURE = Kind("pressure", "Pa", '"5 Pa", "0.02 inWC"')
FLOW = Kind("flow", "CFM", '"141 CFM", "4 m**3/min"')
VOLUME = Kind("volume", "ft**3", '"1000 ft**3", "30 m**3"')
DURATION = Kind("duration", "s", '"7 days", "36 h", "90 min"')
FRACTION = Kind("fraction", "percent", '"20 %", "0.2"')
FREQUENCY = Kind("frequency", "Hz", '"25 kHz"')
TEMPERATURE = Kind("temperature", "degC", '"25 degC"')
DIMENSIONLESS = Kind("number", "dimensionless", '"0.65"')


@dataclass(frozen=True, slots=True)
class Unit:
    """One published unit: the suffix that names and topics carry (`power_w`), the symbol people read,
    Home Assistant's `unit_of_measurement`, Prometheus's spelled-out base unit (with the factor from this
    unit to it: Prometheus wants joules not watt-hours, ratios not percent), and the kind that parses it."""

    suffix: str
    symbol: str
    home_assistant: str
    prometheus: str
    kind: Kind
    prometheus_scale: float = 1.0


VOLT = Unit("v", "V", "V", "volts", VOLTAGE)
AMPERE = Unit("a", "A", "A", "amperes", CURRENT)
WATT = Unit("w", "W", "W", "watts", POWER)
WATT_HOUR = Unit("wh", "Wh", "Wh", "joules", ENERGY, prometheus_scale=3600.0)
AMPERE_HOUR = Unit("ah", "Ah", "Ah", "coulombs", CHARGE, prometheus_scale=3600.0)
PERCENT = Unit("pct", "%", "%", "ratio", FRACTION, prometheus_scale=0.01)
PASCAL = Unit("pa", "Pa", "Pa", "pascals", PRESSURE)
SECOND = Unit("s", "s", "s", "seconds", DURATION)
CFM = Unit("cfm", "CFM", "ft³/min", "cubic_meters_per_second", FLOW, prometheus_scale=0.3048**3 / 60.0)
CUBIC_FOOT = Unit("ft3", "ft³", "ft³", "cubic_meters", VOLUME, prometheus_scale=0.3048**3)
RPM = Unit("rpm", "rpm", "rpm", "rpm", DIMENSIONLESS)

UNITS: tuple[Unit, ...] = (VOLT, AMPERE, WATT, WATT_HOUR, AMPERE_HOUR, PERCENT, PASCAL, SECOND, CFM, CUBIC_FOOT, RPM)


def show(value: float, unit: Unit, digits: int = 1) -> str:
    """A value for people: '29.0 %', '5.5 Pa', durations as '20.0 h' or '42 min'."""
    if unit is SECOND:
        if abs(value) >= 3600.0:
            return f"{value / 3600.0:.1f} h"
        return f"{value / 60.0:.0f} min"
    return f"{value:.{digits}f} {unit.symbol}"


def show_bound(value: float, unit: Unit) -> str:
    """A range end for people, without trailing zeros: '24.5 Pa', '100 %', '366 days'."""
    if unit is SECOND:
        for seconds, name in ((86400.0, "day"), (3600.0, "h"), (60.0, "min")):
            if value >= seconds and value % seconds == 0:
                count = value / seconds
                return f"{count:g} {name}{'s' if name == 'day' and count != 1 else ''}"
        return f"{value:g} s"
    return f"{value:g} {unit.symbol}"


class UnitError(ValueError):
    """A text that is not a quantity of the wanted kind; the message says what was expected."""


def parse(text: str | float | int, kind: Kind) -> float:
    """Parse '12.8 V' (or a bare number for fractions and plain numbers) into the kind's internal unit."""
    ureg = registry()
    if isinstance(text, bool):
        raise UnitError(f"a {kind.name} such as {kind.examples}")
    if isinstance(text, int | float):
        if kind in (FRACTION, DIMENSIONLESS):
            return float(text) * (100.0 if kind is FRACTION else 1.0)
        raise UnitError(f"a {kind.name} with a unit, such as {kind.examples}")
    try:
        quantity = ureg.Quantity(text.strip())
    except Exception as exc:  # pint raises several unrelated types for bad text
        raise UnitError(f"a {kind.name} such as {kind.examples}") from exc
    if not isinstance(quantity, ureg.Quantity):
        raise UnitError(f"a {kind.name} such as {kind.examples}")
    has_unit = quantity.units != ureg.dimensionless
    if kind is FRACTION and quantity.dimensionless:
        return float(quantity.to("percent").magnitude) if has_unit else float(quantity.magnitude) * 100.0
    if kind is not DIMENSIONLESS and not has_unit:
        raise UnitError(f"a {kind.name} with a unit, such as {kind.examples}")
    try:
        return float(quantity.to(kind.unit).magnitude)
    except (pint.DimensionalityError, pint.UndefinedUnitError) as exc:
        raise UnitError(f"a {kind.name} such as {kind.examples}, not {quantity.units:~}") from exc


def format_duration(seconds: float | None) -> str:
    """'3 d 4 h', '5 h 12 min', '42 min' or '—' for an unknown duration."""
    if seconds is None or seconds != seconds:
        return "—"
    if seconds == float("inf"):
        return "∞"
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins} min"
    return f"{mins} min"

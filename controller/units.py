"""Quantities with units at the edges (config, CLI, commands, display); plain SI floats inside.

Each quantity kind has one internal unit, which the names inside the code carry as a suffix:
power `_w`, energy `_wh`, charge `_ah`, voltage `_v`, current `_a`, pressure `_pa`, flow `_cfm`,
volume `_ft3`, time `_s`, fraction `_pct` (0-100) and ratios as plain floats.
"""

from __future__ import annotations

import logging
import math
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CACHE_ENV = "CLEANROOM_CACHE_DIR"


def cache_folder() -> Path | None:
    """Where pint keeps its parsed definition files: $CLEANROOM_CACHE_DIR, systemd's $CACHE_DIRECTORY, or
    the user's cache directory (~/.cache/cleanroom/pint); None when none of them can be created."""
    base = os.environ.get(CACHE_ENV) or os.environ.get("CACHE_DIRECTORY")
    if base:
        folder = Path(base.split(":")[0]) / "pint"
    else:
        folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cleanroom" / "pint"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK) else None


@cache
def registry() -> Any:
    """The one pint registry of the process, built on first use (pint costs ~20 MB and, on a Pi Zero, seconds
    to import and parse its definitions, so `--help` never pays for it); the parsed definitions are cached on
    disk, which makes later starts several times faster. A cache another process is writing at that very
    moment (or a stale one) costs a slow start, never a failure."""
    import pint

    folder = cache_folder()
    try:
        ureg: Any = pint.UnitRegistry(autoconvert_offset_to_baseunit=True, cache_folder=folder)
    except Exception as exc:  # a torn or foreign pickle in the cache: pint's own parser is always right
        log.warning("pint's cache in %s is unreadable (%s); parsing the definitions", folder, exc)
        ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    ureg.define("CFM = foot ** 3 / minute = cfm")
    ureg.define("inWC = inH2O = inwc")
    return ureg


@dataclass(frozen=True, slots=True)
class Kind:
    """A quantity kind: the internal unit every value of the kind is converted to."""

    name: str
    unit: str
    examples: str
    common: tuple[tuple[str, float], ...] = ()
    """Units people type most, with their exact factor to `unit`: read without loading pint (a test holds
    each factor to pint's), so a daemon whose configuration says "7 days" never pays pint's memory."""


POWER = Kind("power", "W", '"0.9 W", "4.12 W"', (("mW", 1e-3), ("kW", 1e3)))
ENERGY = Kind("energy", "Wh", '"1280 Wh", "1.28 kWh"', (("kWh", 1e3), ("mWh", 1e-3)))
CHARGE = Kind("charge", "Ah", '"100 Ah"', (("mAh", 1e-3),))
VOLTAGE = Kind("voltage", "V", '"12.8 V", "14000 mV"', (("mV", 1e-3),))
CURRENT = Kind("current", "A", '"0.5 A", "200 mA"', (("mA", 1e-3),))
PRESSURE = Kind("pressure", "Pa", '"5 Pa", "0.02 inWC"', (("kPa", 1e3), ("hPa", 1e2)))
FLOW = Kind("flow", "CFM", '"141 CFM", "4 m**3/min"')
VOLUME = Kind("volume", "ft**3", '"1000 ft**3", "30 m**3"')
DURATION = Kind(
    "duration",
    "s",
    '"7 days", "36 h", "90 min"',
    (
        ("ms", 1e-3),
        ("sec", 1.0),
        ("second", 1.0),
        ("seconds", 1.0),
        ("min", 60.0),
        ("minute", 60.0),
        ("minutes", 60.0),
        ("h", 3600.0),
        ("hour", 3600.0),
        ("hours", 3600.0),
        ("day", 86400.0),
        ("days", 86400.0),
        ("week", 604800.0),
        ("weeks", 604800.0),
    ),
)
FRACTION = Kind("fraction", "percent", '"20 %", "0.2"')
FREQUENCY = Kind("frequency", "Hz", '"25 kHz"', (("kHz", 1e3),))
TEMPERATURE = Kind("temperature", "degC", '"25 degC"')
DIMENSIONLESS = Kind("number", "dimensionless", '"0.65"')

KINDS: tuple[Kind, ...] = (
    POWER,
    ENERGY,
    CHARGE,
    VOLTAGE,
    CURRENT,
    PRESSURE,
    FLOW,
    VOLUME,
    DURATION,
    FRACTION,
    FREQUENCY,
    TEMPERATURE,
    DIMENSIONLESS,
)


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


def plain_number(value: float, *, grouping: bool = True) -> str:
    """A number for people: thousands separators, no exponent, no trailing zeros ('1,000,000', '0.05', '24.5')."""
    if not math.isfinite(value):
        return str(value)
    if value != 0 and abs(value) < 1e-6:
        return f"{value:g}"
    text = (f"{value:,.6f}" if grouping else f"{value:.6f}").rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


SHOWN_TOLERANCE = 5e-7
"""Half the last decimal `plain_number` shows: a range end typed as a message shows it is inside the range."""


def within(value: float, low: float, high: float) -> float | None:
    """The value, clamped into [low, high] when it is outside only by the rounding of the ends as shown (so
    the ends a message states are accepted), or None when it is outside."""
    if not low - SHOWN_TOLERANCE <= value <= high + SHOWN_TOLERANCE:
        return None
    return min(max(value, low), high)


def _duration_bound(value: float) -> str:
    for seconds, name in ((86400.0, "day"), (3600.0, "h"), (60.0, "min")):
        if value >= seconds and value % seconds == 0:
            count = value / seconds
            return f"{plain_number(count)} {name}{'s' if name == 'day' and count != 1 else ''}"
    return f"{plain_number(value)} s"


def show_bound(value: float, unit: Unit) -> str:
    """A range end for people, without trailing zeros or exponents: '24.5 Pa', '100 %', '366 days'."""
    if unit is SECOND:
        return _duration_bound(value)
    return f"{plain_number(value)} {unit.symbol}"


def show_limit(value: float, kind: Kind) -> str:
    """A range end of a quantity kind for people: '366 days', '90 %', '1,000,000 Wh'; a plain number (often a
    count or an address) without separators: '0.65', '65535'."""
    if kind is DURATION:
        return _duration_bound(value)
    if kind is DIMENSIONLESS:
        return plain_number(value, grouping=False)
    symbol = next((unit.symbol for unit in UNITS if unit.kind is kind), kind.unit)
    return f"{plain_number(value)} {symbol}"


class UnitError(ValueError):
    """A text that is not a quantity of the wanted kind; the message says what was expected."""


MAX_QUANTITY_CHARS = 64
"""Longest text read as a quantity; longer input is refused before any parsing."""

_NUMBER = r"[+-]?(?:[0-9]{1,24}(?:\.[0-9]{0,24})?|\.[0-9]{1,24})(?:[eE][+-]?[0-9]{1,3})?"
_UNIT_NAME = r"(?:%|[A-Za-z\u00b0\u00b5][A-Za-z0-9_\u00b0\u00b5]{0,23})"
_UNIT_FACTOR = rf"{_UNIT_NAME}(?:\s?(?:\*\*|\^)\s?[+-]?[0-9])?"
_QUANTITY = re.compile(
    rf"(?P<number>{_NUMBER})\s{{0,4}}(?P<unit>{_UNIT_FACTOR}(?:\s?[*/]\s?{_UNIT_FACTOR}){{0,3}})?",
    re.ASCII,
)
_FACTOR = re.compile(rf"(?P<op>[*/]?)\s?(?P<name>{_UNIT_NAME})(?:\s?(?:\*\*|\^)\s?(?P<power>[+-]?[0-9]))?\s?")


def parse_number(text: str) -> float | None:
    """A bare number by the strict grammar (ASCII digits, optional sign, fraction and exponent; finite), or
    None when the text is not one. No 'nan', 'inf', underscores or other scripts' digits."""
    if len(text) > MAX_QUANTITY_CHARS:
        return None
    match = _QUANTITY.fullmatch(text.strip())
    if match is None or match["unit"] is not None:
        return None
    value = float(match["number"])
    return value if math.isfinite(value) else None


def _unit_of(text: str) -> Any:
    """The pint unit of a text that matched the grammar's unit part: names looked up one by one and
    combined here (pint's expression evaluator never sees the input)."""
    ureg = registry()
    unit: Any = ureg.dimensionless
    for factor in _FACTOR.finditer(text):
        name = "percent" if factor["name"] == "%" else factor["name"]
        one: Any = ureg.Unit(name)
        power = int(factor["power"]) if factor["power"] else 1
        unit = unit / one**power if factor["op"] == "/" else unit * one**power
    return unit


def _quantity(text: str, kind: Kind) -> tuple[float, str | None]:
    """The magnitude and unit text (None for a bare number) of a text, by the strict grammar."""
    wanted = f"a {kind.name} such as {kind.examples}"
    if len(text) > MAX_QUANTITY_CHARS:
        raise UnitError(f"{wanted} (at most {MAX_QUANTITY_CHARS} characters)")
    match = _QUANTITY.fullmatch(text.strip())
    if match is None:
        raise UnitError(f"{wanted}: a number and a unit name")
    magnitude = float(match["number"])
    if not math.isfinite(magnitude):
        raise UnitError(f"{wanted} (a finite number)")
    unit: str | None = match["unit"]
    return magnitude, unit


def parse(text: str | float | int, kind: Kind) -> float:
    """Parse '12.8 V' (or a bare number for fractions and plain numbers) into the kind's internal unit.

    Text is read by a strict grammar (a number and a unit name, or a few names joined by * and / with
    single-digit powers), bounded in length before any parsing, in linear time."""
    if isinstance(text, bool):
        raise UnitError(f"a {kind.name} such as {kind.examples}")
    if isinstance(text, int | float):
        try:
            number = float(text)
        except OverflowError as exc:
            raise UnitError(f"a {kind.name} such as {kind.examples} (a finite number)") from exc
        if not math.isfinite(number):
            raise UnitError(f"a {kind.name} such as {kind.examples} (a finite number)")
        if kind in (FRACTION, DIMENSIONLESS):
            return number * (100.0 if kind is FRACTION else 1.0)
        raise UnitError(f"a {kind.name} with a unit, such as {kind.examples}")
    magnitude, unit_text = _quantity(text, kind)
    if unit_text is None:
        if kind is FRACTION:
            return magnitude * 100.0
        if kind is DIMENSIONLESS:
            return magnitude
        raise UnitError(f"a {kind.name} with a unit, such as {kind.examples}")
    if unit_text == kind.unit or (kind is FRACTION and unit_text == "%"):
        return magnitude  # already in the internal unit: `cleanroom plan` and the defaults never load pint
    for common_unit, factor in kind.common:
        if unit_text == common_unit:
            return _finite(magnitude * factor, kind)
    ureg = registry()
    from pint.errors import PintError

    try:
        unit = _unit_of(unit_text)
    except (PintError, ValueError, TypeError) as exc:
        raise UnitError(f"a {kind.name} such as {kind.examples}, not the unit {unit_text!r}") from exc
    try:
        quantity = ureg.Quantity(magnitude, unit)
        value = float(quantity.to("percent" if kind is FRACTION else kind.unit).magnitude)
    except (PintError, ValueError, ZeroDivisionError, OverflowError) as exc:
        raise UnitError(f"a {kind.name} such as {kind.examples}, not {unit:~}") from exc
    return _finite(value, kind)


def _finite(value: float, kind: Kind) -> float:
    if not math.isfinite(value):
        raise UnitError(f"a {kind.name} such as {kind.examples} (a finite number)")
    return value


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

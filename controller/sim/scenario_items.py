"""The `--scenario` grammar's KEY=VALUE items: one row per item, with the syntax and help text that
`cleanroom sim --help` shows and that an error about the item repeats.

Each row's `apply` reads the item's value and returns the scenario with the item added; a value it cannot
read raises a ConfigError naming the item, the value and what was expected.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from controller import units
from controller.commands import Command, CommandLimits, CommandName, parse_command
from controller.errors import ConfigError

if TYPE_CHECKING:
    from controller.sim.scenario import Scenario

Interval = tuple[float, float]
SECONDS_PER_MONTH = 30.0 * 86400.0
EXPECTED_TIME = 'a time from the start such as "36 h", "90 min" or "60%" (of the run)'
EXPECTED_INTERVAL = 'an interval START+LENGTH such as "10h+5min" or "30%+1min"'


@dataclass(frozen=True, slots=True)
class TimedCommand:
    """A command the simulated user sends at a time from the start of the run."""

    at_s: float
    command: Command
    text: str
    """The item as written (COMMAND=VALUE), for the summary."""


@dataclass(frozen=True, slots=True)
class Reading:
    """Where an item is read: the source (a flag or file) for error messages, and the run's length that
    percentages of the run refer to."""

    source: str
    duration_s: float
    limits: CommandLimits


@dataclass(frozen=True, slots=True)
class Item:
    """One KEY=VALUE item of the grammar (or a bare KEY when `flag`)."""

    key: str
    syntax: str
    help: str
    expected: str
    apply: Callable[[Scenario, str, Reading], Scenario]
    flag: bool = False


def time_s(text: str, reading: Reading, key: str) -> float:
    """A time from the start of the run: a duration with a unit or a percentage of the run."""
    stripped = text.strip()
    try:
        if stripped.endswith("%"):
            seconds = units.parse(stripped, units.FRACTION) / 100.0 * reading.duration_s
        else:
            seconds = units.parse(stripped, units.DURATION)
    except (ValueError, units.UnitError) as exc:
        raise ConfigError(reading.source, key, text, EXPECTED_TIME) from exc
    if not math.isfinite(seconds) or seconds < 0.0:
        raise ConfigError(reading.source, key, text, EXPECTED_TIME + ", not negative")
    return seconds


def interval(text: str, reading: Reading, key: str) -> Interval:
    """START+LENGTH as (start, end) in seconds from the start of the run."""
    start, plus, length = text.partition("+")
    if not plus or not start.strip() or not length.strip():
        raise ConfigError(reading.source, key, text, EXPECTED_INTERVAL)
    begin = time_s(start, reading, key)
    span = time_s(length, reading, key)
    if span <= 0.0:
        raise ConfigError(reading.source, key, text, EXPECTED_INTERVAL + " with a positive length")
    return (begin, begin + span)


def _quantity(text: str, kind: units.Kind, low: float, high: float, reading: Reading, item: Item) -> float:
    try:
        value = units.parse(text.strip(), kind)
    except units.UnitError as exc:
        raise ConfigError(reading.source, item.key, text, item.expected) from exc
    if not low <= value <= high:
        raise ConfigError(reading.source, item.key, text, item.expected)
    return value


def _add(intervals: tuple[Interval, ...], more: Interval) -> tuple[Interval, ...]:
    return tuple(sorted((*intervals, more)))


def _outage(scenario: Scenario, value: str, reading: Reading) -> Scenario:
    if value.strip().lower() == "never":
        return replace(scenario, outage_s=None)
    return replace(scenario, outage_s=time_s(value, reading, "outage"))


def _interval_item(field: str, key: str) -> Callable[[Scenario, str, Reading], Scenario]:
    def apply(scenario: Scenario, value: str, reading: Reading) -> Scenario:
        changes: dict[str, Any] = {field: _add(getattr(scenario, field), interval(value, reading, key))}
        return replace(scenario, **changes)

    return apply


def _capacity(scenario: Scenario, value: str, reading: Reading) -> Scenario:
    percent = _quantity(value, units.FRACTION, 1.0, 200.0, reading, ITEMS_BY_KEY["capacity"])
    return replace(scenario, capacity_fraction=percent / 100.0)


def _soc_offset(scenario: Scenario, value: str, reading: Reading) -> Scenario:
    points = _quantity(value, units.FRACTION, -100.0, 100.0, reading, ITEMS_BY_KEY["soc-offset"])
    return replace(scenario, soc_offset_pct=points)


def _no_soc(scenario: Scenario, value: str, reading: Reading) -> Scenario:
    return replace(scenario, shunt_reports_soc=False)


def _current_offset(scenario: Scenario, value: str, reading: Reading) -> Scenario:
    amperes = _quantity(value, units.CURRENT, -100.0, 100.0, reading, ITEMS_BY_KEY["current-offset"])
    return replace(scenario, current_offset_a=amperes)


def _missed_press(scenario: Scenario, value: str, reading: Reading) -> Scenario:
    if not value.strip().endswith("%"):
        raise ConfigError(reading.source, "missed-press", value, ITEMS_BY_KEY["missed-press"].expected)
    percent = _quantity(value, units.FRACTION, 0.0, 100.0, reading, ITEMS_BY_KEY["missed-press"])
    return replace(scenario, missed_press=percent / 100.0)


def _period_s(text: str) -> float:
    """A period such as "month", "30 days" or "2 months"; a month is the plant's 30 days."""
    words = text.split()
    count = units.parse_number(words[0]) if words else None
    name = " ".join(words[1:] if count is not None else words).lower()
    if name in ("month", "months"):
        return (1.0 if count is None else count) * SECONDS_PER_MONTH
    return units.parse(text if count is not None else f"1 {text}", units.DURATION)


def _self_discharge(scenario: Scenario, value: str, reading: Reading) -> Scenario:
    item = ITEMS_BY_KEY["self-discharge"]
    amount, slash, per = value.partition("/")
    if not slash or not per.strip():
        raise ConfigError(reading.source, item.key, value, item.expected)
    percent = _quantity(amount, units.FRACTION, 0.0, 100.0, reading, item)
    try:
        period_s = _period_s(per.strip())
    except units.UnitError as exc:
        raise ConfigError(reading.source, item.key, value, item.expected) from exc
    if not period_s >= 60.0:
        raise ConfigError(reading.source, item.key, value, item.expected)
    per_month = percent * SECONDS_PER_MONTH / period_s
    if per_month > 100.0:
        raise ConfigError(reading.source, item.key, value, item.expected)
    return replace(scenario, self_discharge_pct_per_month=per_month)


def _grid(scenario: Scenario, value: str, reading: Reading) -> Scenario:
    return replace(scenario, grid_intervals=_add(scenario.grid_intervals, interval(value, reading, "grid")))


def _at(scenario: Scenario, value: str, reading: Reading) -> Scenario:
    item = ITEMS_BY_KEY["at"]
    when, colon, command = value.partition(":")
    name, equals, raw = command.partition("=")
    if not colon or not equals or not when.strip() or not name.strip():
        raise ConfigError(reading.source, item.key, value, item.expected)
    at_s = time_s(when, reading, item.key)
    where = f"{reading.source} at={when.strip()}"
    parsed = parse_command(name.strip(), raw.strip(), where, reading.limits)
    timed = TimedCommand(at_s, parsed, f"{name.strip()}={raw.strip()}")
    return replace(scenario, commands=tuple(sorted((*scenario.commands, timed), key=lambda c: c.at_s)))


_COMMANDS = ", ".join(name.value for name in CommandName)

ITEMS: tuple[Item, ...] = (
    Item("outage", "outage=TIME", "the grid returns at TIME for good (never: it does not)", EXPECTED_TIME, _outage),
    Item("stall", "stall=START+LENGTH", "the fan is blocked", EXPECTED_INTERVAL, _interval_item("fan_stalls", "stall")),
    Item(
        "shunt-dropout",
        "shunt-dropout=START+LENGTH",
        "the battery monitor is silent",
        EXPECTED_INTERVAL,
        _interval_item("shunt_dropouts", "shunt-dropout"),
    ),
    Item(
        "pressure-dropout",
        "pressure-dropout=START+LENGTH",
        "the pressure sensor is silent",
        EXPECTED_INTERVAL,
        _interval_item("pressure_dropouts", "pressure-dropout"),
    ),
    Item("door", "door=START+LENGTH", "the door is open", EXPECTED_INTERVAL, _interval_item("door_openings", "door")),
    Item(
        "capacity",
        "capacity=80%",
        "the battery really holds this share of the configured capacity (the shunt is not told)",
        'a percentage of the configured capacity from 1 % to 200 %, such as "80%"',
        _capacity,
    ),
    Item(
        "soc-offset",
        "soc-offset=+20%",
        "the shunt's state of charge reads this many points high (+) or low (-) at the start; with +, the "
        "battery really starts at 100 % minus it; a charge to full synchronises the shunt",
        'percentage points from -100 % to +100 %, such as "+20%" or "-20%"',
        _soc_offset,
    ),
    Item(
        "no-soc",
        "no-soc",
        "the shunt reports voltage and current only (no state of charge, no consumed Ah)",
        "no value",
        _no_soc,
        flag=True,
    ),
    Item(
        "current-offset",
        "current-offset=0.05 A",
        "the shunt's current reads this much high (+: less discharge than real), so its count drifts",
        'a current from -100 A to 100 A, such as "0.05 A" or "-50 mA"',
        _current_offset,
    ),
    Item(
        "self-discharge",
        "self-discharge=3%/month",
        "the battery loses this share of its capacity over time (default 3%/month; a shunt cannot see it)",
        'a percentage per period, such as "3%/month", "0.1%/day" or "2%/30 days" (a month is 30 days; '
        "at most 100%/month)",
        _self_discharge,
    ),
    Item("grid", "grid=START+LENGTH", "the grid is back for this interval (repeatable)", EXPECTED_INTERVAL, _grid),
    Item(
        "missed-press",
        "missed-press=5%",
        "a purifier driven by --fan-driver buttons or ir misses this share of its presses",
        'a probability as a percentage between 0% and 100%, such as "5%"',
        _missed_press,
    ),
    Item(
        "at",
        "at=TIME:COMMAND=VALUE",
        f"send a command at TIME through the daemon's command path, e.g. at=84h:deadline=1 day ({_COMMANDS})",
        f"TIME:COMMAND=VALUE such as 84h:deadline=1 day, with COMMAND one of {_COMMANDS}",
        _at,
    ),
)
ITEMS_BY_KEY: dict[str, Item] = {item.key: item for item in ITEMS}


def items_help(indent: str = "  ", columns: int = 110) -> str:
    """The items as help lines: syntax, then what it does (wrapped under itself)."""
    width = max(len(item.syntax) for item in ITEMS)
    hanging = " " * (len(indent) + width + 2)
    return "\n".join(
        textwrap.fill(item.help, columns, initial_indent=f"{indent}{item.syntax:<{width}}  ", subsequent_indent=hanging)
        for item in ITEMS
    )

"""Scenarios as data: when the grid is down, when the fan stalls, when sensors drop out, when the door opens.

A scenario is a frozen value of timed intervals (seconds from the start of the run). Presets are scaled
to the run's duration; `parse_scenario` reads a preset name and/or explicit intervals from one line of
text, e.g. ``"grid-returns"``, ``"outage=36h, stall=10h+5min, door=50%+1min"``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from controller import units
from controller.errors import ConfigError
from controller.sim.plant import Disturbances

Interval = tuple[float, float]

PRESETS = ("outage", "grid-returns", "fan-stall", "sensor-dropouts", "door")


@dataclass(frozen=True, slots=True)
class Scenario:
    """What happens to the plant during a run; all times in seconds from the start."""

    name: str = "outage"
    outage_s: float | None = None
    """The grid is off from 0 until outage_s, then back for good; None: it never returns."""
    fan_stalls: tuple[Interval, ...] = ()
    shunt_dropouts: tuple[Interval, ...] = ()
    pressure_dropouts: tuple[Interval, ...] = ()
    door_openings: tuple[Interval, ...] = ()
    missed_press: float = 0.0
    """The probability that a pressed purifier misses one press (`cleanroom sim --fan-driver buttons`)."""


def _inside(intervals: tuple[Interval, ...], t_s: float) -> bool:
    return any(start <= t_s < end for start, end in intervals)


def disturbances_at(scenario: Scenario, t_s: float) -> Disturbances:
    """The disturbances in force at t_s."""
    return Disturbances(
        grid_on=scenario.outage_s is not None and t_s >= scenario.outage_s,
        fan_stalled=_inside(scenario.fan_stalls, t_s),
        door_open=_inside(scenario.door_openings, t_s),
    )


def shunt_available(scenario: Scenario, t_s: float) -> bool:
    """Whether the battery monitor answers at t_s."""
    return not _inside(scenario.shunt_dropouts, t_s)


def pressure_available(scenario: Scenario, t_s: float) -> bool:
    """Whether the pressure sensor answers at t_s."""
    return not _inside(scenario.pressure_dropouts, t_s)


def next_change_s(scenario: Scenario, t_s: float) -> float:
    """The first time after t_s at which the disturbances change (inf when nothing changes any more)."""
    edges: list[float] = []
    if scenario.outage_s is not None:
        edges.append(scenario.outage_s)
    for intervals in (scenario.fan_stalls, scenario.door_openings):
        for start, end in intervals:
            edges.append(start)
            edges.append(end)
    return min((edge for edge in edges if edge > t_s), default=math.inf)


def preset(name: str, duration_s: float) -> Scenario:
    """A named scenario scaled to a run of duration_s seconds.

    - ``outage``: the grid stays off for the whole run.
    - ``grid-returns``: the grid comes back at 60 % of the run.
    - ``fan-stall``: the fan is blocked from 30 % of the run for 5 % of it (at least a minute).
    - ``sensor-dropouts``: the shunt goes silent at 20 % and the pressure sensor at 50 %, each for 5 %
      of the run (at least a minute).
    - ``door``: the door opens for a minute at 25 %, 50 % and 75 % of the run.
    """
    if not duration_s > 0.0 or not math.isfinite(duration_s):
        raise ConfigError("scenario", "duration", duration_s, "a positive, finite duration in seconds")
    d = duration_s
    span = max(60.0, 0.05 * d)
    if name == "outage":
        return Scenario(name=name)
    if name == "grid-returns":
        return Scenario(name=name, outage_s=0.6 * d)
    if name == "fan-stall":
        return Scenario(name=name, fan_stalls=((0.3 * d, 0.3 * d + span),))
    if name == "sensor-dropouts":
        return Scenario(
            name=name,
            shunt_dropouts=((0.2 * d, 0.2 * d + span),),
            pressure_dropouts=((0.5 * d, 0.5 * d + span),),
        )
    if name == "door":
        return Scenario(name=name, door_openings=tuple((f * d, f * d + 60.0) for f in (0.25, 0.5, 0.75)))
    raise ConfigError("scenario", "name", name, "one of " + ", ".join(PRESETS))


_KEYS = {
    "outage": "outage_s",
    "stall": "fan_stalls",
    "shunt-dropout": "shunt_dropouts",
    "pressure-dropout": "pressure_dropouts",
    "door": "door_openings",
    "missed-press": "missed_press",
}
_EXPECTED_TIME = 'a time from the start such as "36 h", "90 min" or "60%" (of the run)'
_EXPECTED_INTERVAL = 'an interval START+LENGTH such as "10h+5min" or "30%+1min"'


def _time(text: str, duration_s: float, source: str, key: str) -> float:
    stripped = text.strip()
    try:
        if stripped.endswith("%"):
            seconds = float(stripped[:-1]) / 100.0 * duration_s
        else:
            seconds = units.parse(stripped, units.DURATION)
    except (ValueError, units.UnitError) as exc:
        raise ConfigError(source, key, text, _EXPECTED_TIME) from exc
    if not math.isfinite(seconds) or seconds < 0.0:
        raise ConfigError(source, key, text, _EXPECTED_TIME + ", not negative")
    return seconds


def _interval(text: str, duration_s: float, source: str, key: str) -> Interval:
    start, plus, length = text.partition("+")
    if not plus or not start.strip() or not length.strip():
        raise ConfigError(source, key, text, _EXPECTED_INTERVAL)
    begin = _time(start, duration_s, source, key)
    span = _time(length, duration_s, source, key)
    if span <= 0.0:
        raise ConfigError(source, key, text, _EXPECTED_INTERVAL + " with a positive length")
    return (begin, begin + span)


def _probability(text: str, source: str, key: str) -> float:
    expected = 'a probability as a percentage such as "5%"'
    stripped = text.strip()
    try:
        value = float(stripped[:-1]) / 100.0 if stripped.endswith("%") else math.nan
    except ValueError as exc:
        raise ConfigError(source, key, text, expected) from exc
    if not 0.0 <= value <= 1.0:
        raise ConfigError(source, key, text, expected + " between 0% and 100%")
    return value


def _sorted(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    return tuple(sorted(intervals))


def parse_scenario(text: str, duration_s: float, source: str = "--scenario") -> Scenario:
    """Read a scenario from one line: an optional preset name, then KEY=VALUE items, comma-separated.

    Keys: ``outage=TIME`` (the grid returns at TIME; ``never`` for no return), and the repeatable
    intervals ``stall``, ``shunt-dropout``, ``pressure-dropout``, ``door`` as ``START+LENGTH``. Times are
    durations with units (``36 h``) or percentages of the run (``60%``). ``missed-press=5%``: a pressed
    purifier (``--fan-driver buttons``) misses that share of its presses.
    """
    items = [item.strip() for item in re.split(r"[,;]", text) if item.strip()]
    if not items:
        raise ConfigError(source, "scenario", text, "a preset (" + ", ".join(PRESETS) + ") or KEY=VALUE items")
    scenario = Scenario(name="custom")
    if "=" not in items[0]:
        if items[0] not in PRESETS:
            raise ConfigError(source, "scenario", items[0], "a preset (" + ", ".join(PRESETS) + ") or KEY=VALUE items")
        scenario = preset(items[0], duration_s)
        items = items[1:]
    added: dict[str, list[Interval]] = {name: [] for name in _KEYS.values()}
    outage, missed = scenario.outage_s, scenario.missed_press
    for item in items:
        key, _, value = (part.strip() for part in item.partition("="))
        if key not in _KEYS or not value:
            raise ConfigError(source, key or item, value or item, "KEY=VALUE with KEY one of " + ", ".join(_KEYS))
        if key == "outage":
            outage = None if value.lower() == "never" else _time(value, duration_s, source, key)
        elif key == "missed-press":
            missed = _probability(value, source, key)
        else:
            added[_KEYS[key]].append(_interval(value, duration_s, source, key))
    return replace(
        scenario,
        outage_s=outage,
        missed_press=missed,
        fan_stalls=_sorted([*scenario.fan_stalls, *added["fan_stalls"]]),
        shunt_dropouts=_sorted([*scenario.shunt_dropouts, *added["shunt_dropouts"]]),
        pressure_dropouts=_sorted([*scenario.pressure_dropouts, *added["pressure_dropouts"]]),
        door_openings=_sorted([*scenario.door_openings, *added["door_openings"]]),
    )

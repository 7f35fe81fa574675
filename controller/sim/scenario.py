"""Scenarios as data: when the grid is down, when the fan stalls, when sensors drop out, when the door opens.

A scenario is a frozen value of timed intervals (seconds from the start of the run), the ways the battery
and its shunt differ from the configuration, and commands a simulated user sends. Presets are scaled to the
run's duration; `parse_scenario` reads a preset name and/or items from one line of text, e.g.
``"grid-returns"``, ``"outage=36h, stall=10h+5min, door=50%+1min"``, ``"capacity=80%, at=84h:deadline=1 day"``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from controller.commands import CommandLimits, SetDeadline
from controller.errors import ConfigError
from controller.sim.plant import Disturbances, PlantParams
from controller.sim.scenario_items import ITEMS, ITEMS_BY_KEY, Interval, Reading, TimedCommand

__all__ = ["PRESETS", "Interval", "Scenario", "TimedCommand", "parse_scenario", "preset"]

PRESETS = ("outage", "grid-returns", "fan-stall", "sensor-dropouts", "door")
_EXPECTED_SCENARIO = "a preset (" + ", ".join(PRESETS) + ") or KEY=VALUE items"
_EXPECTED_KEY = "KEY=VALUE with KEY one of " + ", ".join(item.key for item in ITEMS)


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
    grid_intervals: tuple[Interval, ...] = ()
    """The grid is back during these intervals (besides from `outage_s` on)."""
    capacity_fraction: float = 1.0
    """The battery's real capacity relative to the configured one (the shunt counts against the configured)."""
    soc_offset_pct: float = 0.0
    """The shunt's state-of-charge error at the start, in percentage points (+: it reads high)."""
    shunt_reports_soc: bool = True
    current_offset_a: float = 0.0
    """Added to every current the shunt reports (and counts)."""
    self_discharge_pct_per_month: float | None = None
    """None: the plant's own (3 %/month unless configured otherwise)."""
    commands: tuple[TimedCommand, ...] = ()
    """Commands a simulated user sends during the run, in time order."""
    missed_press: float = 0.0
    """The probability that a pressed purifier misses one press (`cleanroom sim --fan-driver buttons`)."""


def _inside(intervals: tuple[Interval, ...], t_s: float) -> bool:
    return any(start <= t_s < end for start, end in intervals)


def grid_on(scenario: Scenario, t_s: float) -> bool:
    """Whether the grid (and so the charger) is on at t_s."""
    returned = scenario.outage_s is not None and t_s >= scenario.outage_s
    return returned or _inside(scenario.grid_intervals, t_s)


def grid_spans(scenario: Scenario, horizon_s: float) -> tuple[Interval, ...]:
    """The (merged) intervals of [0, horizon_s] during which the grid is on."""
    spans = [(max(0.0, a), min(b, horizon_s)) for a, b in scenario.grid_intervals if a < horizon_s and b > 0.0]
    if scenario.outage_s is not None and scenario.outage_s < horizon_s:
        spans.append((max(0.0, scenario.outage_s), horizon_s))
    merged: list[Interval] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        elif end > start:
            merged.append((start, end))
    return tuple(merged)


def true_plant(configured: PlantParams, scenario: Scenario) -> PlantParams:
    """The plant as it really is: the configured battery scaled to its real capacity, starting where the
    shunt's offset says it really is (a shunt reading high means less charge), with the scenario's
    self-discharge."""
    battery = configured.battery
    start = min(100.0, max(0.0, battery.initial_soc_pct - scenario.soc_offset_pct))
    discharge = scenario.self_discharge_pct_per_month
    real = replace(
        battery,
        capacity_ah=battery.capacity_ah * scenario.capacity_fraction,
        initial_soc_pct=start,
        self_discharge_pct_per_month=battery.self_discharge_pct_per_month if discharge is None else discharge,
    )
    return replace(configured, battery=real)


def shunt_start_soc_pct(true_start_soc_pct: float, scenario: Scenario) -> float:
    """What the shunt says at the start: the truth plus its offset, within 0-100 %."""
    return min(100.0, max(0.0, true_start_soc_pct + scenario.soc_offset_pct))


def latest_deadline_s(scenario: Scenario, deadline_s: float | None) -> float | None:
    """The latest deadline the run may be judged against: the configured one or one a timed command sets."""
    moved = [
        c.at_s + c.command.in_s
        for c in scenario.commands
        if isinstance(c.command, SetDeadline) and c.command.in_s is not None
    ]
    candidates = [d for d in (deadline_s, *moved) if d is not None]
    return max(candidates) if candidates else None


def disturbances_at(scenario: Scenario, t_s: float) -> Disturbances:
    """The disturbances in force at t_s."""
    return Disturbances(
        grid_on=grid_on(scenario, t_s),
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
    for intervals in (scenario.fan_stalls, scenario.door_openings, scenario.grid_intervals):
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


def parse_scenario(
    text: str, duration_s: float, source: str = "--scenario", limits: CommandLimits | None = None
) -> Scenario:
    """Read a scenario from one line: an optional preset name, then items, comma-separated.

    Items are KEY=VALUE (or a bare KEY for a flag such as ``no-soc``), one row each in
    `controller.sim.scenario_items.ITEMS`; times are durations with units (``36 h``) or percentages of the
    run (``60%``). `limits` bound the values of ``at=TIME:COMMAND=VALUE`` commands like the daemon's.
    """
    items = [item.strip() for item in re.split(r"[,;]", text) if item.strip()]
    if not items:
        raise ConfigError(source, "scenario", text, _EXPECTED_SCENARIO)
    scenario = Scenario(name="custom")
    if items[0] in PRESETS:
        scenario = preset(items[0], duration_s)
        items = items[1:]
    elif "=" not in items[0] and items[0] not in ITEMS_BY_KEY:
        raise ConfigError(source, "scenario", items[0], _EXPECTED_SCENARIO)
    reading = Reading(source, duration_s, limits or CommandLimits())
    for item in items:
        key, equals, value = (part.strip() for part in item.partition("="))
        row = ITEMS_BY_KEY.get(key)
        if row is None:
            raise ConfigError(source, key or item, value or item, _EXPECTED_KEY)
        if row.flag and equals:
            raise ConfigError(source, key, value, f"{row.syntax} without a value")
        if not row.flag and not value:
            raise ConfigError(source, key, value or item, f"{row.syntax}: {row.expected}")
        scenario = row.apply(scenario, value, reading)
    return scenario

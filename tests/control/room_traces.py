"""Recorded-style room traces for the room-pressure estimator and the step: a fan at a steady setting
blowing into a leaky room, wind (an Ornstein-Uhlenbeck process) with sharp gusts on top, sensor noise,
and the events a real room sees: a door opened, the fan switched off at its own switch, a blocked rotor,
a leak that grows. Seeded, so every run sees the same trace."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

Interval = tuple[float, float]

FAN_CFM = 141.0
FAN_W = 4.12
ROOM_C_CFM = 39.0
ROOM_N = 0.65
MAX_RPM = 1000.0
STALL_DRAW = 0.1
"""A blocked rotor's draw as a share of its running draw (the electronics keep drawing)."""


@dataclass(frozen=True, slots=True)
class Happenings:
    """What happens to the room and the fan, in seconds from the start of the trace."""

    doors: tuple[Interval, ...] = ()
    switched_off: tuple[Interval, ...] = ()
    stalls: tuple[Interval, ...] = ()
    leak_start_s: float | None = None
    leak_ramp_s: float = 1800.0
    leak_factor: float = 3.0
    tachometer: bool = True
    power: bool = True


@dataclass(frozen=True, slots=True)
class Tick:
    """One second of the trace: the sensor's reading, the truth behind it and what the fan reports."""

    t_s: float
    raw_pa: float
    true_pa: float
    """The room's real pressure (wind included, sensor noise not)."""
    rpm: float | None
    tach_stalled: bool
    fan_w: float | None
    """The fan's measured draw (None without a power reading)."""


def _inside(intervals: tuple[Interval, ...], t_s: float) -> bool:
    return any(start <= t_s < end for start, end in intervals)


def room_c(happenings: Happenings, t_s: float) -> float:
    """The room's true leakage at t_s (a door multiplies it a hundredfold)."""
    c = ROOM_C_CFM
    if happenings.leak_start_s is not None and t_s > happenings.leak_start_s:
        grown = min(1.0, (t_s - happenings.leak_start_s) / happenings.leak_ramp_s)
        c *= 1.0 + (happenings.leak_factor - 1.0) * grown
    return c * (100.0 if _inside(happenings.doors, t_s) else 1.0)


CALM = Happenings()


def trace(duration_s: float, happenings: Happenings = CALM, seed: int = 15) -> Iterator[Tick]:
    """One reading a second for `duration_s`."""
    rng = random.Random(seed)
    wind = 0.0
    gust, gust_until = 0.0, -1.0
    rotor = 1.0
    still_since: float | None = None
    decay = math.exp(-1.0 / 20.0)
    for second in range(int(duration_s)):
        t = float(second)
        wind = wind * decay + math.sqrt(1.0 - decay * decay) * rng.gauss(0.0, 1.0)
        if t >= gust_until and rng.random() < 1.0 / 120.0:
            gust, gust_until = rng.choice((-1.0, 1.0)) * rng.uniform(1.5, 3.5), t + rng.randint(1, 3)
        elif t >= gust_until:
            gust = 0.0
        stopped = _inside(happenings.switched_off, t) or _inside(happenings.stalls, t)
        rotor = 0.0 if _inside(happenings.stalls, t) else rotor * math.exp(-1.0 / 3.0) if stopped else 1.0
        flow = FAN_CFM * rotor
        true_pa = (flow / room_c(happenings, t)) ** (1.0 / ROOM_N) + wind + gust
        still_since = (still_since if still_since is not None else t) if rotor < 0.015 else None
        draw = FAN_W * (STALL_DRAW if _inside(happenings.stalls, t) else 0.0 if stopped else 1.0)
        yield Tick(
            t_s=t,
            raw_pa=true_pa + rng.gauss(0.0, 0.05),
            true_pa=true_pa,
            rpm=MAX_RPM * rotor if happenings.tachometer else None,
            tach_stalled=happenings.tachometer and still_since is not None and t - still_since >= 5.0,
            fan_w=draw + rng.gauss(0.0, 0.05) if happenings.power else None,
        )

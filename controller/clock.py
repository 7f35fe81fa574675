"""Injected time: a monotonic clock for control, UTC wall time for records.

The simulator swaps in `SimulatedClock`, so a week of control runs in seconds with the same code.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What the loop and the sinks may ask about time."""

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps."""
        ...

    def utc_now(self) -> datetime:
        """Wall-clock time, timezone-aware UTC (may jump when NTP syncs)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait this many seconds of this clock's time."""
        ...


class SystemClock:
    """The real clocks of the machine."""

    def monotonic(self) -> float:
        """time.monotonic()."""
        return time.monotonic()

    def utc_now(self) -> datetime:
        """datetime.now(UTC)."""
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        """asyncio.sleep."""
        await asyncio.sleep(max(0.0, seconds))


class SimulatedClock:
    """Simulated time that runs `speed` times faster than real time, or as fast as the CPU allows.

    With speed=None (accelerated) a sleep advances time at once and yields to other tasks, so that
    sinks still run between ticks.
    """

    def __init__(self, start_utc: datetime, speed: float | None = None, start_monotonic: float = 0.0) -> None:
        self._start_utc = start_utc
        self._now = start_monotonic
        self._origin = start_monotonic
        self.speed = speed

    def monotonic(self) -> float:
        """Simulated seconds."""
        return self._now

    def utc_now(self) -> datetime:
        """The simulated wall clock."""
        return self._start_utc + timedelta(seconds=self._now - self._origin)

    def advance(self, seconds: float) -> None:
        """Move time forward without waiting (for tests)."""
        self._now += max(0.0, seconds)

    async def sleep(self, seconds: float) -> None:
        """Advance simulated time; wait seconds/speed of real time when a speed is set."""
        if self.speed is None:
            await asyncio.sleep(0)
        else:
            await asyncio.sleep(max(0.0, seconds) / self.speed)
        self._now += max(0.0, seconds)

"""The loop every polled driver shares: read with a timeout, retry with jittered backoff, classify
errors into the DriverStats counters, keep the newest good reading, never let an exception out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Generic, TypeVar

from drivers.base import DriverStats
from drivers.health import Health
from drivers.runtime import Backoff, RetryPolicy, Service, TaskOwner

R = TypeVar("R")


class PollingDriver(Service, Generic[R]):
    """Subclasses implement `_read()` (one reading, raising DeviceError subclasses) and `_disconnect()`."""

    def __init__(
        self,
        name: str,
        logger: logging.Logger,
        *,
        clock: Callable[[], float],
        interval_s: float,
        stale_after_s: float,
        retries: int,
        backoff: Backoff | None,
    ) -> None:
        self._log = logger
        self._clock = clock
        self._health = Health(name, logger, clock, stale_after_s)
        self.stats: DriverStats = self._health.stats
        self.interval_s = interval_s
        self._retry = RetryPolicy(retries, backoff or Backoff())
        self._backoff = self._retry.backoff
        self._latest: R | None = None
        self._tasks = TaskOwner(name)

    @property
    def retries(self) -> int:
        """Retries after a failed reading before the poll gives up until the next interval."""
        return self._retry.retries

    async def _read(self) -> R:
        raise NotImplementedError

    async def _disconnect(self) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        """Start polling in the background."""
        if not self._tasks.running:
            await self._tasks.start()
            self._tasks.spawn(self._run)

    async def close(self) -> None:
        """Stop polling and release the device."""
        await self._tasks.close()
        await self._safe_disconnect()

    def latest(self) -> R | None:
        """The newest valid reading, or None before the first one."""
        self._health.check_stale()
        return self._latest

    async def poll_once(self) -> R | None:
        """One reading with up to `retries` retries; None (and the reason in stats.last_error) on failure."""
        reading = await self._retry.run(self._read, self._health, self._safe_disconnect)
        if reading is None:
            self._health.check_stale()
            return None
        self._latest = reading
        return reading

    async def _safe_disconnect(self) -> None:
        try:
            await self._disconnect()
        except Exception:
            self._log.debug("%s: error while disconnecting", self._health.name, exc_info=True)

    async def _run(self) -> None:
        while True:
            reading = await self.poll_once()
            delay = self.interval_s if reading is not None else max(self.interval_s, self._backoff.next_delay())
            await asyncio.sleep(delay)

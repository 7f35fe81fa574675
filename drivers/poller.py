"""The loop every polled driver shares: read with a timeout, retry with jittered backoff, classify
errors into the DriverStats counters, keep the newest good reading, never let an exception out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Generic, TypeVar

from drivers.base import DeviceTimeout, DeviceUnavailable, DriverStats, ProtocolError
from drivers.health import Health
from drivers.retry import Backoff

R = TypeVar("R")


class PollingDriver(Generic[R]):
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
        self.retries = retries
        self._backoff = backoff or Backoff()
        self._latest: R | None = None
        self._task: asyncio.Task[None] | None = None

    async def _read(self) -> R:
        raise NotImplementedError

    async def _disconnect(self) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        """Start polling in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self._health.name)

    async def close(self) -> None:
        """Stop polling and release the device."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):
            await self._disconnect()

    def latest(self) -> R | None:
        """The newest valid reading, or None before the first one."""
        self._health.check_stale()
        return self._latest

    async def poll_once(self) -> R | None:
        """One reading with up to `retries` retries; None (and the reason in stats.last_error) on failure."""
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self._backoff.next_delay())
            try:
                reading = await self._read()
            except DeviceTimeout as exc:
                self._health.timeout(str(exc))
            except ProtocolError as exc:
                self._health.corrupt(str(exc))
            except DeviceUnavailable as exc:
                self._health.unavailable(str(exc))
                await self._safe_disconnect()
            except Exception as exc:  # a driver bug must not kill the daemon; counted and retried
                self._log.exception("%s: unexpected error", self._health.name)
                self._health.unavailable(f"unexpected {type(exc).__name__}: {exc}")
                await self._safe_disconnect()
            else:
                self._latest = reading
                self._health.ok()
                self._backoff.reset()
                return reading
        self._health.check_stale()
        return None

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

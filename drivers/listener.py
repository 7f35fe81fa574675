"""The shell every driver shares whose device sends readings by itself (a VE.Direct stream, Bluetooth
advertisements, a power station's notifications): one background task runs sessions, a failed session is
sorted into the driver's Health and retried after a backoff, the newest reading is kept and goes stale."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Generic, TypeVar

from drivers.base import DeviceUnavailable, DriverStats
from drivers.health import Health
from drivers.runtime import Backoff, Service, TaskOwner

R = TypeVar("R")


class ListeningDriver(Service, Generic[R]):
    """Subclasses implement `_session()`: open the device, publish readings, raise when it is lost."""

    def __init__(
        self,
        name: str,
        logger: logging.Logger,
        *,
        clock: Callable[[], float],
        stale_after_s: float,
        backoff: Backoff,
    ) -> None:
        self._clock = clock
        self._health = Health(name, logger, clock, stale_after_s)
        self.stats: DriverStats = self._health.stats
        self._backoff = backoff
        self._latest: R | None = None
        self._tasks = TaskOwner(name)
        self._new_reading = asyncio.Event()

    async def start(self) -> None:
        """Start the background task (opening the device happens there, with retries)."""
        if not self._tasks.running:
            await self._tasks.start()
            self._tasks.spawn(self._run)

    async def close(self) -> None:
        """Stop and release the device."""
        await self._tasks.close()

    def latest(self) -> R | None:
        """The newest valid reading, or None before the first one."""
        self._health.check_stale()
        return self._latest

    async def wait_for_reading(self, timeout_s: float) -> R | None:
        """The next valid reading, or None if none arrives within timeout_s (for probes and tests)."""
        self._new_reading.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._new_reading.wait()
                return self._latest
        return None

    def _publish(self, reading: R) -> None:
        self._latest = reading
        self._new_reading.set()
        self._health.ok()
        self._backoff.reset()

    async def _session(self) -> None:
        raise NotImplementedError

    async def _run(self) -> None:
        while True:
            try:
                await self._session()
            except DeviceUnavailable as exc:
                self._health.unavailable(str(exc))
            except Exception as exc:  # a driver or library bug must not kill the daemon; counted and retried
                self._health.unexpected(exc)
            await asyncio.sleep(self._backoff.next_delay())

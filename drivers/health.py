"""State and counters of one driver, with the logging rules of the house in one place: one WARNING when
the device degrades (stale data, corrupt messages), one ERROR when it becomes unavailable, one INFO when
it recovers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from drivers.base import DeviceState, DriverStats


class Health:
    """Owns a driver's DriverStats and moves its state."""

    def __init__(self, name: str, logger: logging.Logger, clock: Callable[[], float], stale_after_s: float) -> None:
        self.name = name
        self.stats = DriverStats()
        self._log = logger
        self._clock = clock
        self.stale_after_s = stale_after_s
        self.last_ok_s: float | None = None
        self._since_s = clock()
        self._warned = False

    def count(self, counter: str, amount: int = 1) -> None:
        """Bump a named counter in stats.counters."""
        self.stats.counters[counter] = self.stats.counters.get(counter, 0) + amount

    def ok(self) -> None:
        """A valid reading (or an applied command) just happened."""
        previous = self.stats.state
        self.stats.readings += 1
        self.last_ok_s = self._clock()
        self.stats.state = DeviceState.OK
        if previous in (DeviceState.STALE, DeviceState.UNAVAILABLE):
            self._log.info("%s: recovered", self.name)
        self._warned = False

    def corrupt(self, reason: str) -> None:
        """Bytes arrived but did not form a valid message."""
        self.stats.corrupt += 1
        self.stats.errors += 1
        self.stats.last_error = reason
        self._log.debug("%s: rejected message: %s", self.name, reason)
        if not self._warned and self.stats.state is DeviceState.OK:
            self._log.warning("%s: corrupt data (%s); keeping the last good reading", self.name, reason)
            self._warned = True

    def timeout(self, reason: str) -> None:
        """The device did not answer in time."""
        self.stats.timeouts += 1
        self.stats.errors += 1
        self.stats.last_error = reason
        self._log.debug("%s: timeout: %s", self.name, reason)
        self.check_stale()

    def unavailable(self, reason: str) -> None:
        """The device cannot be reached; logged once per outage."""
        self.stats.errors += 1
        self.stats.last_error = reason
        if self.stats.state is not DeviceState.UNAVAILABLE:
            self._log.error("%s: unavailable: %s", self.name, reason)
        self.stats.state = DeviceState.UNAVAILABLE

    def unexpected(self, exc: Exception) -> None:
        """A driver bug: logged with its traceback (call it from the except block), counted as unavailable."""
        self._log.exception("%s: unexpected error", self.name)
        self.unavailable(f"unexpected {type(exc).__name__}: {exc}")

    def reconnected(self) -> None:
        """A connection was (re)opened."""
        self.stats.reconnects += 1

    def check_stale(self) -> None:
        """Mark the data stale when no valid reading arrived for stale_after_s."""
        if self.stats.state is DeviceState.UNAVAILABLE:
            return
        now = self._clock()
        reference = self.last_ok_s if self.last_ok_s is not None else self._since_s
        if now - reference > self.stale_after_s and self.stats.state is not DeviceState.STALE:
            self.stats.state = DeviceState.STALE
            self._log.warning("%s: no valid data for %.1f s; marked stale", self.name, now - reference)

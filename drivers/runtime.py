"""The runtime every driver, fake and sink shares: background tasks owned by one `asyncio.TaskGroup`,
one backoff, and one retry policy that sorts device errors into the driver's Health.

Generic on purpose (it imports nothing but drivers.base and drivers.health), so that the controller's
shells (MQTT, the recorder) and the web sink use it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self, TypeVar

from drivers.base import DeviceTimeout, DeviceUnavailable, ProtocolError
from drivers.health import Health

T = TypeVar("T")

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Backoff:
    """Capped exponential delays from an injected (seedable) random source.

    Attempt n waits initial_s * factor**n, capped at max_s, scaled by 1 ± jitter; with `full_jitter`
    ("full jitter", for many clients reconnecting to one restarted server) it waits a uniform time
    between initial_s and that ceiling instead.
    """

    initial_s: float = 0.5
    max_s: float = 30.0
    factor: float = 2.0
    jitter: float = 0.2
    full_jitter: bool = False
    rng: random.Random = field(default_factory=random.Random)
    attempts: int = 0

    def delay(self, attempt: int) -> float:
        """The wait before attempt `attempt` (0-based), without counting it."""
        ceiling = min(self.max_s, self.initial_s * self.factor ** min(attempt, 60))
        if self.full_jitter:
            return self.initial_s + self.rng.random() * max(0.0, ceiling - self.initial_s)
        return max(0.0, ceiling * (1.0 + self.jitter * (2.0 * self.rng.random() - 1.0)))

    def next_delay(self) -> float:
        """The delay before the next attempt (and count the attempt)."""
        delay = self.delay(self.attempts)
        self.attempts += 1
        return delay

    def reset(self) -> None:
        """Back to the shortest delay after a success."""
        self.attempts = 0


def backoff_delay(attempt: int, min_s: float, max_s: float, rng: random.Random) -> float:
    """The full-jitter wait before reconnect attempt `attempt` (0-based), between min_s and
    min(max_s, min_s * 2**attempt)."""
    return Backoff(initial_s=min_s, max_s=max_s, full_jitter=True, rng=rng).delay(attempt)


@dataclass(slots=True)
class RetryPolicy:
    """Up to `retries` more attempts after the first, `backoff` between them. Each failure lands in Health
    by its class: DeviceTimeout is a timeout, ProtocolError a corrupt message, DeviceUnavailable an
    unavailable device (which also runs `on_unavailable`, e.g. closing the link so that the next attempt
    reconnects); any other exception is a driver bug, logged with its traceback, counted as unavailable
    and retried all the same, because a driver bug must not kill the daemon."""

    retries: int
    backoff: Backoff

    async def run(
        self,
        operation: Callable[[], Awaitable[T]],
        health: Health,
        on_unavailable: Callable[[], Awaitable[None]],
    ) -> T | None:
        """The operation's result, or None when every attempt failed (the reasons are in health.stats)."""
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self.backoff.next_delay())
            try:
                result = await operation()
            except DeviceTimeout as exc:
                health.timeout(str(exc))
            except ProtocolError as exc:
                health.corrupt(str(exc))
            except DeviceUnavailable as exc:
                health.unavailable(str(exc))
                await on_unavailable()
            except Exception as exc:
                health.unexpected(exc)
                await on_unavailable()
            else:
                health.ok()
                self.backoff.reset()
                return result
        return None


class Service:
    """An async context manager over `start()` and `close()`: `async with driver: ...`."""

    async def start(self) -> None:
        """Open the device or connection and start the background work."""
        raise NotImplementedError

    async def close(self) -> None:
        """Stop the background work and release the device or connection."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class TaskOwner(Service):
    """A component's background tasks, run in one asyncio.TaskGroup: `start()` enters the group, `spawn()`
    adds a task, `close()` cancels them and waits for them (the one place that does). A task that raises
    ends alone (it never cancels its siblings or the task that started the group): its error is logged, or,
    for a task spawned with `propagate=True`, raised by `close()` to the owner's supervisor."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._group: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._failures: list[Exception] = []

    @property
    def running(self) -> bool:
        """Whether the group is open."""
        return self._group is not None

    async def start(self) -> None:
        """Enter the task group (once; later calls do nothing)."""
        if self._group is None:
            group = asyncio.TaskGroup()
            await group.__aenter__()
            self._group = group

    def spawn(
        self, work: Callable[[], Coroutine[Any, Any, None]], name: str | None = None, *, propagate: bool = False
    ) -> asyncio.Task[None]:
        """Run `work()` in the group (which must be open)."""
        if self._group is None:
            raise RuntimeError(f"{self.name}: spawn() before start()")
        task = self._group.create_task(self._guarded(work, propagate), name=name or self.name)
        self._tasks.append(task)
        task.add_done_callback(self._forget)
        return task

    def _forget(self, task: asyncio.Task[None]) -> None:
        with contextlib.suppress(ValueError):
            self._tasks.remove(task)

    async def _guarded(self, work: Callable[[], Coroutine[Any, Any, None]], propagate: bool) -> None:
        try:
            await work()
        except Exception as exc:
            if propagate:
                self._failures.append(exc)
            else:
                log.exception("%s: background task failed", self.name)

    async def wait(self, timeout_s: float | None = None) -> bool:
        """Wait up to timeout_s for every task to end by itself; whether they all did."""
        if not self._tasks:
            return True
        _done, pending = await asyncio.wait(list(self._tasks), timeout=timeout_s)
        return not pending

    async def wait_for(
        self, tasks: list[asyncio.Task[None]], timeout_s: float | None = None
    ) -> set[asyncio.Task[None]]:
        """Wait up to timeout_s for these tasks to end by themselves; the ones that did."""
        if not tasks:
            return set()
        done, _pending = await asyncio.wait(tasks, timeout=timeout_s)
        return done

    async def close(self) -> None:
        """Cancel every task and wait until they have finished; then raise the first error of a task spawned
        with `propagate=True`."""
        group, self._group = self._group, None
        if group is None:
            return
        for task in list(self._tasks):
            task.cancel()
        await group.__aexit__(None, None, None)
        failures, self._failures = self._failures, []
        if failures:
            raise failures[0]


async def cancel_and_wait(task: asyncio.Task[Any], *, expected: tuple[type[Exception], ...] = ()) -> None:
    """Cancel one task and wait until it has finished: its cancellation (and the `expected` errors it may end
    with) stay here, anything else it raised propagates, and so does a cancellation of the caller."""
    task.cancel()
    await asyncio.wait([task])
    if not task.cancelled():
        error = task.exception()
        if error is not None and not isinstance(error, expected):
            raise error

"""Waiting in tests for something that another task, thread or process brings about.

One helper, in an async and a sync form: poll `probe` until it returns something truthy and return that,
or fail the test after `timeout_s` with the last value the probe returned. Tests that can await an
event or advance a simulated clock do that instead; these are for conditions with nothing to await.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, overload

T = TypeVar("T")

Description = str | Callable[[], str]


def _failure(what: Description, timeout_s: float, last: object) -> AssertionError:
    description = what() if callable(what) else what
    return AssertionError(f"{description} not reached within {timeout_s:g} s; last value: {last!r}")


@overload
async def eventually(
    probe: Callable[[], Awaitable[T]],
    *,
    timeout_s: float = ...,
    interval_s: float = ...,
    what: Description = ...,
    wake: asyncio.Event | None = ...,
) -> T: ...


@overload
async def eventually(
    probe: Callable[[], T],
    *,
    timeout_s: float = ...,
    interval_s: float = ...,
    what: Description = ...,
    wake: asyncio.Event | None = ...,
) -> T: ...


async def eventually(
    probe: Callable[[], object],
    *,
    timeout_s: float = 10.0,
    interval_s: float = 0.01,
    what: Description = "condition",
    wake: asyncio.Event | None = None,
) -> object:
    """Await until `probe()` is truthy and return its value; fail with the last value after `timeout_s`.

    `probe` may be a coroutine function (one that fetches over HTTP, say). `what` names the condition in
    the failure message (a callable is asked only on failure, for context such as what has been
    received so far). With `wake`, the wait between probes ends early when the event is set (by a
    receiver, on each message), so `interval_s` can be long.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        value = probe()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise _failure(what, timeout_s, value)
        if wake is None:
            await asyncio.sleep(min(interval_s, remaining))
        else:
            wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), min(interval_s, remaining))


def eventually_sync(
    probe: Callable[[], T], *, timeout_s: float = 10.0, interval_s: float = 0.01, what: Description = "condition"
) -> T:
    """`eventually` for code without an event loop (waiting for a subprocess, a socket, a thread)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _failure(what, timeout_s, value)
        time.sleep(min(interval_s, remaining))

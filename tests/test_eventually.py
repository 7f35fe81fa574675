"""The one polling helper of the tests: it returns the first truthy value, or fails naming the last one."""

from __future__ import annotations

import asyncio
import itertools
import threading

import pytest

from tests.eventually import eventually, eventually_sync


async def test_returns_the_first_truthy_value() -> None:
    counter = itertools.count()
    assert await eventually(lambda: [n for n in [next(counter)] if n >= 3]) == [3]


async def test_awaits_a_coroutine_probe() -> None:
    calls: list[int] = []

    async def fetch() -> int | None:
        calls.append(1)
        await asyncio.sleep(0)
        return len(calls) if len(calls) == 2 else None

    assert await eventually(fetch) == 2


async def test_failure_names_the_condition_and_the_last_value() -> None:
    counter = itertools.count()
    with pytest.raises(AssertionError, match=r"^queue drained not reached within 0.05 s; last value: \[\]$"):
        await eventually(lambda: [n for n in [next(counter)] if n < 0], timeout_s=0.05, what="queue drained")


async def test_a_callable_description_is_asked_on_failure() -> None:
    seen: list[str] = ["a", "b"]
    with pytest.raises(AssertionError, match=r"^reply \(received: a, b\) not reached within 0.02 s; last value: 0$"):
        await eventually(lambda: 0, timeout_s=0.02, what=lambda: f"reply (received: {', '.join(seen)})")


def test_sync_form_waits_for_a_thread() -> None:
    done = threading.Event()
    threading.Timer(0.01, done.set).start()
    assert eventually_sync(done.is_set, timeout_s=30.0) is True


def test_sync_form_fails_with_the_last_value() -> None:
    with pytest.raises(AssertionError, match=r"^socket open not reached within 0.02 s; last value: None$"):
        eventually_sync(lambda: None, timeout_s=0.02, what="socket open")

"""Helpers shared by the driver tests: waiting for a condition with a deadline, fast backoff."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from pathlib import Path

from drivers.runtime import Backoff

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "vedirect"
BMV700 = FIXTURES / "vedirect-bmv700.dump"
SMARTSHUNT = FIXTURES / "vedirect-smartshunt.dump"


async def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0, what: str = "condition") -> None:
    """Poll `condition` until it holds; fail the test after timeout_s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def fast_backoff(seed: int = 1) -> Backoff:
    """Short, seeded backoff so that recovery tests are quick and repeatable."""
    return Backoff(initial_s=0.01, max_s=0.05, rng=random.Random(seed))

"""The shared runtime: task ownership in a TaskGroup, the retry policy's error classes, one backoff, and
drivers and fakes as async context managers."""

from __future__ import annotations

import asyncio
import logging
import random
from pathlib import Path

import pytest

from drivers.base import DeviceState, DeviceTimeout, DeviceUnavailable, ProtocolError
from drivers.fakes.sysfs_pwm import PwmSysfsFake
from drivers.fakes.vedirect import VEDirectFake, constant
from drivers.health import Health
from drivers.pwm import PwmFan
from drivers.runtime import Backoff, RetryPolicy, TaskOwner, backoff_delay, cancel_and_wait
from drivers.vedirect.driver import VEDirectShunt
from tests.drivers.helpers import fast_backoff
from tests.eventually import eventually

log = logging.getLogger("tests.runtime")


async def test_close_cancels_every_task_and_waits_for_it() -> None:
    cleaned: list[str] = []

    async def forever(name: str) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cleaned.append(name)

    owner = TaskOwner("test")
    await owner.start()
    tasks = [owner.spawn(lambda n=n: forever(n), n) for n in ("a", "b")]  # type: ignore[misc]
    await asyncio.sleep(0)
    await owner.close()
    assert sorted(cleaned) == ["a", "b"]
    assert all(task.cancelled() for task in tasks)
    assert not owner.running


async def test_a_failing_task_is_logged_and_leaves_its_siblings_and_owner_running(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sibling_done = asyncio.Event()

    async def broken() -> None:
        raise RuntimeError("driver bug")

    async def sibling() -> None:
        await asyncio.sleep(0.01)
        sibling_done.set()

    async with TaskOwner("test") as owner:
        owner.spawn(broken, "broken")
        owner.spawn(sibling, "sibling")
        await asyncio.wait_for(sibling_done.wait(), 10)
    assert "test: background task failed" in caplog.text
    assert "driver bug" in caplog.text


async def test_a_propagating_task_failure_is_raised_by_close() -> None:
    async def broken() -> None:
        raise RuntimeError("connection bug")

    owner = TaskOwner("test")
    await owner.start()
    task = owner.spawn(broken, propagate=True)
    await asyncio.wait([task])
    with pytest.raises(RuntimeError, match="connection bug"):
        await owner.close()


async def test_wait_lets_tasks_end_by_themselves() -> None:
    stop = asyncio.Event()
    ended: list[bool] = []

    async def until_stopped() -> None:
        await stop.wait()
        ended.append(True)

    async with TaskOwner("test") as owner:
        owner.spawn(until_stopped)
        assert not await owner.wait(0.01)
        stop.set()
        assert await owner.wait(10)
    assert ended == [True]


async def test_cancel_and_wait_keeps_expected_errors_and_raises_others() -> None:
    async def forever() -> None:
        await asyncio.Event().wait()

    async def fails(error: Exception) -> None:
        raise error

    await cancel_and_wait(asyncio.create_task(forever()))
    expected = asyncio.create_task(fails(ProtocolError("x")))
    await asyncio.sleep(0)
    await cancel_and_wait(expected, expected=(ProtocolError,))
    other = asyncio.create_task(fails(ValueError("y")))
    await asyncio.sleep(0)
    with pytest.raises(ValueError, match="y"):
        await cancel_and_wait(other, expected=(ProtocolError,))


async def test_retry_policy_sorts_errors_by_class_into_health() -> None:
    health = Health("dev", log, lambda: 0.0, stale_after_s=5.0)
    errors: list[Exception] = [DeviceTimeout("slow"), ProtocolError("crc"), DeviceUnavailable("gone"), KeyError("bug")]
    closed: list[int] = []

    async def operation() -> float:
        if errors:
            raise errors.pop(0)
        return 1.5

    async def on_unavailable() -> None:
        closed.append(1)

    policy = RetryPolicy(retries=4, backoff=fast_backoff())
    assert await policy.run(operation, health, on_unavailable) == 1.5
    stats = health.stats
    assert (stats.timeouts, stats.corrupt, stats.errors, stats.readings) == (1, 1, 4, 1)
    assert closed == [1, 1]
    assert stats.state is DeviceState.OK
    assert policy.backoff.attempts == 0

    errors.extend([DeviceTimeout("slow")] * 2)
    assert await RetryPolicy(retries=1, backoff=fast_backoff()).run(operation, health, on_unavailable) is None


def test_one_backoff_two_jitters() -> None:
    proportional = Backoff(initial_s=1.0, max_s=8.0, jitter=0.0)
    assert [proportional.next_delay() for _ in range(5)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    proportional.reset()
    assert proportional.next_delay() == 1.0
    rng = random.Random(3)
    delays = [backoff_delay(n, 1.0, 60.0, rng) for n in range(40)]
    assert delays[0] == 1.0
    assert all(1.0 <= d <= min(60.0, 2.0**n) for n, d in enumerate(delays))


async def test_drivers_and_fakes_are_async_context_managers(tmp_path: Path) -> None:
    fake = VEDirectFake(constant(), interval_s=0.01, link=tmp_path / "usb-Victron")
    async with fake, VEDirectShunt(fake.port, by_id_dir=tmp_path, backoff=fast_backoff()) as shunt:
        await eventually(lambda: shunt.latest() is not None, what="a reading")
    assert shunt.stats.state is DeviceState.OK
    sysfs = PwmSysfsFake(tmp_path / "class" / "pwm")
    async with sysfs, PwmFan(sysfs_root=sysfs.root, refresh_s=0.01) as fan:
        await fan.set_command(40)
        assert fan.latest() is not None

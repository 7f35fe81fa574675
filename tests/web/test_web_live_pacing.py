"""The live stream's pacing (`web.live.stream_deliveries`) on a real hub: at most one state per push
interval however fast snapshots come, always the newest, and every event exactly once."""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import replace

from controller.hub import SnapshotHub
from controller.snapshot import Event, EventKind
from tests.web.web_rig import START_UTC, make_snapshot
from web.live import PUSH_SLACK, SnapshotEncoder, stream_deliveries

PUSH_S = 0.1


async def _publish_fast(hub: SnapshotHub, count: int) -> None:
    for i in range(count):
        hub.publish(replace(make_snapshot(100 + i), events=(Event(EventKind.DOOR_OPEN, f"door {i}", START_UTC),)))
        await asyncio.sleep(0.01)


async def test_a_fast_publisher_is_paced_to_the_push_interval_and_loses_no_event() -> None:
    hub = SnapshotHub()
    subscription = hub.subscribe("phone", coalesce=True)
    publishing = asyncio.create_task(_publish_fast(hub, 60))
    loop = asyncio.get_running_loop()
    sent_at: list[float] = []
    states: list[float] = []
    doors: list[str] = []
    stream = stream_deliveries(subscription, SnapshotEncoder(), PUSH_S, max_messages=None)
    async for text in stream:
        for block in text.split("\n\n"):
            lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            if lines.get("event") == "events":
                doors += [e["message"] for e in json.loads(lines["data"])]
            elif lines.get("event") == "state":
                states.append(json.loads(lines["data"])["monotonic_s"])
                sent_at.append(loop.time())
        if states and states[-1] == make_snapshot(159).monotonic_s:
            break
    await stream.aclose()
    await publishing
    gaps = [b - a for a, b in itertools.pairwise(sent_at)]
    assert min(gaps) >= (1.0 - PUSH_SLACK) * PUSH_S
    assert len(states) < 60
    assert states == sorted(states)
    assert doors == [f"door {i}" for i in range(60)]


async def test_waiting_takes_nothing_and_a_closed_hub_ends_the_wait() -> None:
    hub = SnapshotHub()
    subscription = hub.subscribe("phone", coalesce=True)
    waiting = asyncio.create_task(subscription.wait())
    await asyncio.sleep(0)
    assert not waiting.done()
    hub.publish(make_snapshot(1))
    await asyncio.wait_for(waiting, 10)
    await asyncio.wait_for(subscription.wait(), 10)  # still there: waiting took nothing
    delivery = subscription.get_nowait()
    assert delivery is not None
    assert delivery.snapshot.monotonic_s == make_snapshot(1).monotonic_s
    hub.close()
    await asyncio.wait_for(subscription.wait(), 10)
    assert subscription.get_nowait() is None

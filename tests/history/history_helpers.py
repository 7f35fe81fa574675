"""Plausible snapshots for feeding the recorder, and a way to run it to completion."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime

from controller.command_bus import CommandBus
from controller.history.recorder import Recorder
from controller.hub import SnapshotHub
from controller.sim.snapshots import DISCHARGE_START_UTC, discharging_snapshot
from controller.snapshot import Event, Snapshot

START = DISCHARGE_START_UTC
make_snapshot = discharging_snapshot


def series(
    controller_id: str,
    seconds: float,
    tick_s: float,
    start_s: float = 0.0,
    wall: Callable[[float], datetime] | None = None,
    events: Mapping[int, tuple[Event, ...]] | None = None,
) -> list[Snapshot]:
    """Snapshots every tick_s from start_s for `seconds`; `wall` maps monotonic to wall time."""
    out = []
    count = round(seconds / tick_s)
    for index in range(count + 1):
        mono = start_s + index * tick_s
        snapshot = make_snapshot(controller_id, mono, wall(mono) if wall else None)
        if events and index in events:
            snapshot = replace(snapshot, events=events[index])
        out.append(snapshot)
    return out


async def record(recorder: Recorder, snapshots: Iterable[Snapshot], hub: SnapshotHub | None = None) -> SnapshotHub:
    """Run the recorder over the snapshots until the hub closes (everything flushed)."""
    hub = hub or SnapshotHub()
    task = asyncio.create_task(recorder.run(hub, CommandBus()))
    await asyncio.sleep(0)
    for snapshot in snapshots:
        hub.publish(snapshot)
        await asyncio.sleep(0)
    hub.close()
    await asyncio.wait_for(task, 120)
    return hub

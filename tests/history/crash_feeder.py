"""A stand-in daemon for the crash test: a hub fed with snapshots at 1 s of simulated time per tick (up to
500 times real time, never faster than the recorder writes its batches) and the real recorder. It prints
its progress so that the test knows what was committed when it kills the process with SIGKILL.

Usage: python tests/history/crash_feeder.py URL CONTROLLER_ID
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace

from controller.clock import SimulatedClock
from controller.command_bus import CommandBus
from controller.history.config import HistorySection
from controller.history.recorder import build_recorder
from controller.hub import SnapshotHub
from tests.history.history_helpers import START, make_snapshot

SECTION = replace(HistorySection(), sample_interval_s=1.0, batch_interval_s=30.0)


async def main(url: str, controller_id: str) -> None:
    clock = SimulatedClock(START, speed=500.0)
    recorder = build_recorder(url, controller_id, SECTION, clock, "/nonexistent")
    hub = SnapshotHub()
    async with asyncio.TaskGroup() as group:
        group.create_task(recorder.run(hub, CommandBus()))
        published = 0
        while True:
            hub.publish(make_snapshot(controller_id, clock.monotonic(), clock.utc_now()))
            published += 1
            await asyncio.sleep(0)
            await recorder.drained()  # a batch is written long before the next one is due, as at 1 tick per second
            stats = recorder.stats
            print(f"published={published} written={stats.samples_written}", flush=True)
            await clock.sleep(1.0)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))

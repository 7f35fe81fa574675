"""An unreachable database: rows wait in a bounded buffer, the condition reaches the hub, history catches up."""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url

from controller.clock import SimulatedClock
from controller.command_bus import CommandBus
from controller.history.config import HistorySection
from controller.history.reader import HistoryUnavailable
from controller.history.recorder import build_recorder
from controller.history.schema import samples
from controller.hub import SnapshotHub
from controller.snapshot import AlertKind
from drivers.runtime import cancel_and_wait
from tests.eventually import eventually
from tests.history.history_helpers import START, series


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class TcpRelay:
    """A real TCP relay in front of PostgreSQL that the test opens (reachable) and closes (refused)."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port = port
        self.target = target
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def open(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        for task in list(self.tasks):
            await cancel_and_wait(task)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        for coro in (pipe(reader, up_writer), pipe(up_reader, writer)):
            task = asyncio.create_task(coro)
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)


def _backlog(hub: SnapshotHub) -> bool | None:
    for condition in hub.conditions:
        if condition.kind is AlertKind.HISTORY_BACKLOG:
            return condition.active
    return None


def _count(url: str, controller_id: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        value = connection.execute(
            select(func.count()).select_from(samples).where(samples.c.controller_id == controller_id)
        ).scalar()
    engine.dispose()
    return int(value or 0)


async def test_postgresql_behind_a_closed_port_buffers_then_catches_up(pg_url: str, controller_id: str) -> None:
    port = _free_port()
    relayed = make_url(pg_url).set(port=port).render_as_string(hide_password=False)
    section = replace(
        HistorySection(), sample_interval_s=1.0, batch_interval_s=10.0, buffer_rows=300, retry_interval_s=0.05
    )
    recorder = build_recorder(relayed, controller_id, section, SimulatedClock(START), "/nonexistent")
    hub = SnapshotHub()
    task = asyncio.create_task(recorder.run(hub, CommandBus()))
    snapshots = series(controller_id, 999, 1.0)
    for snapshot in snapshots[:600]:
        hub.publish(snapshot)
        await asyncio.sleep(0)
    await eventually(lambda: _backlog(hub) is True, timeout_s=30.0)
    assert recorder.stats.dropped_rows > 0
    assert recorder.stats.pending_rows <= section.buffer_rows
    condition = next(c for c in hub.conditions if c.kind is AlertKind.HISTORY_BACKLOG)
    assert "rows waiting" in condition.message
    assert f":{port}/" in condition.message
    assert condition.values["dropped_rows"] == float(recorder.stats.dropped_rows)
    assert recorder.stats.samples_written == 0
    with pytest.raises(HistoryUnavailable):
        recorder.reader.samples(controller_id, START, snapshots[-1].timestamp_utc)

    relay = TcpRelay(port, ("127.0.0.1", 5432))
    await relay.open()
    try:
        await eventually(lambda: _backlog(hub) is False, timeout_s=60)
        for snapshot in snapshots[600:]:
            hub.publish(snapshot)
            await asyncio.sleep(0)
        hub.close()
        await asyncio.wait_for(task, 60)
    finally:
        await relay.close()
    written = _count(pg_url, controller_id)
    assert written == recorder.stats.samples_written
    assert written == recorder.stats.samples_queued - recorder.stats.dropped_rows
    direct = create_engine(pg_url)
    with direct.connect() as connection:
        oldest, newest = connection.execute(
            select(func.min(samples.c.timestamp_utc), func.max(samples.c.timestamp_utc)).where(
                samples.c.controller_id == controller_id
            )
        ).one()
    direct.dispose()
    assert newest == snapshots[-1].timestamp_utc
    # the oldest samples of the outage were the ones dropped
    assert oldest > START


@pytest.fixture
def blocked_state_dir(tmp_path: Path) -> str:
    """A path where the state directory should be, taken by a plain file."""
    blocker = tmp_path / "state"
    blocker.write_text("a file where the state directory should be\n")
    return str(blocker)


async def test_sqlite_whose_directory_cannot_be_created_catches_up(controller_id: str, blocked_state_dir: str) -> None:
    blocker = blocked_state_dir
    section = replace(HistorySection(), sample_interval_s=1.0, batch_interval_s=10.0, retry_interval_s=0.05)
    recorder = build_recorder(None, controller_id, section, SimulatedClock(START), blocker)
    hub = SnapshotHub()
    task = asyncio.create_task(recorder.run(hub, CommandBus()))
    snapshots = series(controller_id, 120, 1.0)
    for snapshot in snapshots:
        hub.publish(snapshot)
        await asyncio.sleep(0)
    await eventually(lambda: _backlog(hub) is True, timeout_s=30.0)
    assert recorder.stats.write_failures >= 1
    os.remove(blocker)
    os.mkdir(blocker)
    await eventually(lambda: _backlog(hub) is False, timeout_s=30.0)
    hub.close()
    await task
    assert _count(f"sqlite:///{blocker}/history.sqlite3", controller_id) == 121
    assert recorder.stats.dropped_rows == 0

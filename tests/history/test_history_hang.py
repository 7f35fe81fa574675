"""A PostgreSQL server that accepts connections but stops answering (a real proxy in front of the machine's
PostgreSQL that stops forwarding): the history_backlog condition is reported with a message and values that
follow the backlog, stopping does not wait on the hung server, and nothing is lost: the rows that could not
be written are kept in the backlog file and written by the next run."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, distinct, func, select
from sqlalchemy.engine import make_url

from controller.clock import SimulatedClock
from controller.command_bus import CommandBus
from controller.history.backlog import FILE_NAME
from controller.history.config import HistorySection
from controller.history.reader import HistoryUnavailable
from controller.history.recorder import build_recorder
from controller.history.schema import samples
from controller.hub import SnapshotHub
from controller.snapshot import AlertKind, Snapshot
from drivers.fakes.stalling_proxy import StallingProxy
from tests.eventually import eventually
from tests.history.history_helpers import START, record, series

SECTION = replace(HistorySection(), sample_interval_s=1.0, batch_interval_s=5.0, timeout_s=2.0, retry_interval_s=0.2)


def _backlog_values(hub: SnapshotHub) -> dict[str, float | None]:
    for condition in hub.conditions:
        if condition.kind is AlertKind.HISTORY_BACKLOG and condition.active:
            return condition.values
    return {}


def _distinct_sample_times(url: str, controller_id: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        count = connection.execute(
            select(func.count(distinct(samples.c.timestamp_utc))).where(samples.c.controller_id == controller_id)
        ).scalar()
    engine.dispose()
    return int(count or 0)


async def _publish(hub: SnapshotHub, snapshots: list[Snapshot]) -> None:
    for snapshot in snapshots:
        hub.publish(snapshot)
        await asyncio.sleep(0)


async def test_postgresql_that_stops_answering_keeps_every_row(pg_url: str, controller_id: str, tmp_path: Path) -> None:
    snapshots = series(controller_id, 299, 1.0)
    with StallingProxy(("127.0.0.1", 5432)) as proxy:
        proxied = make_url(pg_url).set(port=proxy.port).render_as_string(hide_password=False)
        recorder = build_recorder(proxied, controller_id, SECTION, SimulatedClock(START), str(tmp_path))
        hub = SnapshotHub()
        task = asyncio.create_task(recorder.run(hub, CommandBus()))
        await _publish(hub, snapshots[:60])
        await eventually(lambda: recorder.stats.samples_written > 0, timeout_s=60.0)

        proxy.stall()
        await _publish(hub, snapshots[60:180])
        first = await eventually(lambda: _backlog_values(hub), timeout_s=60.0, what="history_backlog reported")
        condition = next(c for c in hub.conditions if c.kind is AlertKind.HISTORY_BACKLOG)
        assert f":{proxy.port}/" in condition.message
        assert "rows waiting" in condition.message
        first_pending = first["pending_rows"]
        assert first_pending is not None
        assert first_pending > 0

        with pytest.raises(HistoryUnavailable):  # a reader (the dashboard's chart) is ended, not left hanging
            await asyncio.wait_for(
                asyncio.to_thread(recorder.reader.samples, controller_id, START, snapshots[-1].timestamp_utc), 30
            )

        await _publish(hub, snapshots[180:240])
        grown = await eventually(
            lambda: (_backlog_values(hub).get("pending_rows") or 0) > first_pending,
            timeout_s=60.0,
            what="the backlog's size in the condition grows with the backlog",
        )
        assert grown
        assert str(int(_backlog_values(hub).get("pending_rows") or 0)) in condition_message(hub)

        hub.close()
        await asyncio.wait_for(task, 30.0)  # bounded by STOP_WRITE_S; a hung wait would end this test here
        assert recorder.stats.rows_saved_at_stop > 0
        saved = json.loads((tmp_path / FILE_NAME).read_text())
        assert len(saved["samples"]) > 0

    second = build_recorder(pg_url, controller_id, SECTION, SimulatedClock(START), str(tmp_path))
    await record(second, snapshots[240:])
    assert not (tmp_path / FILE_NAME).exists()
    assert _distinct_sample_times(pg_url, controller_id) == len(snapshots)


def condition_message(hub: SnapshotHub) -> str:
    return next(c.message for c in hub.conditions if c.kind is AlertKind.HISTORY_BACKLOG)


async def test_sqlite_locked_by_another_writer_waits_its_busy_timeout_then_backlogs(
    controller_id: str, tmp_path: Path
) -> None:
    """Another process holding SQLite's write lock: the recorder waits the busy timeout, not forever."""
    import sqlite3

    url = f"sqlite:///{tmp_path}/history.sqlite3"
    section = replace(SECTION, timeout_s=1.0)
    recorder = build_recorder(url, controller_id, section, SimulatedClock(START), str(tmp_path))
    hub = SnapshotHub()
    task = asyncio.create_task(recorder.run(hub, CommandBus()))
    snapshots = series(controller_id, 119, 1.0)
    await _publish(hub, snapshots[:20])
    await eventually(lambda: recorder.stats.samples_written > 0, timeout_s=60.0)
    holder = sqlite3.connect(tmp_path / "history.sqlite3", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        await _publish(hub, snapshots[20:80])
        await eventually(lambda: _backlog_values(hub), timeout_s=60.0, what="history_backlog reported")
        await eventually(lambda: recorder.stats.write_failures >= 1, timeout_s=60.0, what="a write failed")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    await eventually(lambda: not _backlog_values(hub), timeout_s=60.0, what="history_backlog cleared")
    await _publish(hub, snapshots[80:])
    hub.close()
    await asyncio.wait_for(task, 30.0)
    assert _distinct_sample_times(url, controller_id) == len(snapshots)

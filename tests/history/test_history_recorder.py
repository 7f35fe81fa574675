"""The recorder on real SQLite and real PostgreSQL: batches, aggregates, events, settings, the reader."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Table, create_engine, func, select, text

from controller.clock import SimulatedClock
from controller.command_bus import CommandBus
from controller.history.config import HistorySection
from controller.history.recorder import build_recorder
from controller.history.schema import config_changes, events, samples, samples_1m
from controller.hub import SnapshotHub
from controller.snapshot import AlertKind, Event, EventKind, Mode, Severity
from tests.eventually import eventually
from tests.history.history_helpers import START, make_snapshot, record, series


def _section(**overrides: object) -> HistorySection:
    return replace(HistorySection(), **overrides)  # type: ignore[arg-type]


def _count(url: str, table: Table, controller_id: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        value = connection.execute(
            select(func.count()).select_from(table).where(table.c.controller_id == controller_id)
        ).scalar()
    engine.dispose()
    return int(value or 0)


async def test_samples_aggregates_events_and_settings(db_url: str, controller_id: str, tmp_path: object) -> None:
    alert = Event(
        EventKind.ALERT_RAISED,
        "pressure 1.8 Pa below floor 2.5 Pa",
        START + timedelta(seconds=100),
        Severity.WARNING,
        AlertKind.PRESSURE_LOW,
        {"pressure_pa": 1.8, "floor_pa": 2.5, "nan": float("nan")},
    )
    snapshots = series(controller_id, 600, 1.0, events={100: (alert,)})
    snapshots[300] = replace(snapshots[300], mode=Mode.ECO, pressure_floor_pa=4.0)
    snapshots[300:] = [replace(s, mode=Mode.ECO, pressure_floor_pa=4.0) for s in snapshots[300:]]
    section = _section(sample_interval_s=5.0, batch_interval_s=30.0)
    recorder = build_recorder(db_url, controller_id, section, SimulatedClock(START), str(tmp_path))
    await record(recorder, snapshots)

    assert _count(db_url, samples, controller_id) == 121  # 0, 5, ..., 600 s
    assert recorder.stats.samples_written == 121
    assert _count(db_url, samples_1m, controller_id) == 11  # ten whole minutes and the partial last one
    end = START + timedelta(hours=1)
    points = recorder.reader.samples(controller_id, START, end, max_points=500)
    assert len(points) == 121
    assert points[0]["timestamp_utc"] == START.isoformat()
    assert points[1]["timestamp_utc"] == (START + timedelta(seconds=5)).isoformat()
    assert points[0]["soc_pct"] == pytest.approx(snapshots[0].soc_pct)
    assert points[-1]["mode"] == "eco"

    # 121 full-rate rows do not fit in 100 points: the eleven one-minute aggregates come back instead
    coarse = recorder.reader.samples(controller_id, START, START + timedelta(minutes=10), max_points=100)
    assert len(coarse) == 11
    assert {p["resolution_s"] for p in coarse} == {60}
    pressures = [s.pressure_pa for s in snapshots[:60] if s.pressure_pa is not None]
    assert coarse[0]["pressure_pa_min"] == pytest.approx(min(pressures))
    assert coarse[0]["pressure_pa_max"] == pytest.approx(max(pressures))
    assert coarse[0]["pressure_pa"] == pytest.approx(sum(pressures) / len(pressures))
    assert coarse[-1]["mode"] == "eco"

    listed = recorder.reader.events(controller_id, START, end)
    assert [e["kind"] for e in listed] == ["alert_raised"]
    assert listed[0]["alert_kind"] == "pressure_low"
    assert listed[0]["timestamp_utc"] == (START + timedelta(seconds=100)).isoformat()
    assert listed[0]["values"] == {"pressure_pa": 1.8, "floor_pa": 2.5, "nan": None}

    changes = recorder.reader.config_changes(controller_id, START, end)
    newest = {(c["key"], c["old_value"], c["new_value"]) for c in changes[-2:]}
    assert newest == {("mode", "auto", "eco"), ("pressure_floor_pa", "2.5", "4")}
    assert len(changes) == 6  # four settings at start, two changes


async def test_aggregated_points_when_range_is_long(db_url: str, controller_id: str, tmp_path: object) -> None:
    section = _section(sample_interval_s=10.0)
    snapshots = series(controller_id, 3 * 3600, 10.0)
    recorder = build_recorder(db_url, controller_id, section, SimulatedClock(START), str(tmp_path))
    await record(recorder, snapshots)
    end = START + timedelta(minutes=179, seconds=59)  # 180 one-minute rows into 60 points of 3 minutes
    points = recorder.reader.samples(controller_id, START, end, max_points=60)
    assert len(points) == 60
    assert all(p["resolution_s"] == 180 for p in points)
    times = [str(p["timestamp_utc"]) for p in points]
    assert times == sorted(times)
    in_first = [s.power_w for s in snapshots if s.monotonic_s < 180 and s.power_w is not None]
    assert points[0]["power_w_min"] == pytest.approx(min(in_first))
    assert points[0]["power_w_max"] == pytest.approx(max(in_first))


async def test_writes_only_at_batch_boundaries(db_url: str, controller_id: str, tmp_path: object) -> None:
    section = _section(sample_interval_s=1.0, batch_interval_s=30.0)
    recorder = build_recorder(db_url, controller_id, section, SimulatedClock(START), str(tmp_path))
    hub = SnapshotHub()
    task = asyncio.create_task(recorder.run(hub, CommandBus()))
    for snapshot in series(controller_id, 95, 1.0):
        hub.publish(snapshot)
        await asyncio.sleep(0)
    # handovers at 30, 60 and 90 s: snapshots 0..90 are written, 91..95 wait for the next batch
    await eventually(lambda: recorder.stats.samples_written == 91, timeout_s=30.0)
    assert _count(db_url, samples, controller_id) == 91
    hub.close()
    await task
    assert _count(db_url, samples, controller_id) == 96


async def test_several_controllers_share_one_database(db_url: str, controller_id: str, tmp_path: Path) -> None:
    """Two controllers, each with its own state directory, write to one database at once.

    Both are left to prepare the database and write what they were handed before their hubs close: the
    stop bound (STOP_WRITE_S) would otherwise decide, on a loaded machine, whether the last rows reach the
    database or the backlog file, and this test is about the shared database, not about stopping.
    """
    other = f"{controller_id}-b"
    section = _section(sample_interval_s=10.0, retry_interval_s=0.2)
    recorders = []
    for name in (controller_id, other):
        state_dir = tmp_path / name
        state_dir.mkdir()
        recorders.append(build_recorder(db_url, name, section, SimulatedClock(START), str(state_dir)))
    first = recorders[0]
    hubs = [SnapshotHub(), SnapshotHub()]
    tasks = [asyncio.create_task(r.run(hub, CommandBus())) for r, hub in zip(recorders, hubs, strict=True)]
    feeds = [series(controller_id, 300, 10.0), [replace(s, soc_pct=42.0) for s in series(other, 600, 10.0)]]
    for hub, feed in zip(hubs, feeds, strict=True):
        for snapshot in feed:
            hub.publish(snapshot)
            await asyncio.sleep(0)
    await eventually(lambda: all(r.store.prepared and r.backlog == 0 for r in recorders), timeout_s=60.0)
    for hub in hubs:
        hub.close()
    await asyncio.wait_for(asyncio.gather(*tasks), 120)
    assert [r.stats.rows_saved_at_stop for r in recorders] == [0, 0]
    assert _count(db_url, samples, controller_id) == 31
    assert _count(db_url, samples, other) == 61
    points = first.reader.samples(other, START, START + timedelta(hours=1))
    assert {p["soc_pct"] for p in points} == {42.0}


async def test_default_database_is_sqlite_wal_in_the_state_dir(controller_id: str, tmp_path: object) -> None:
    state_dir = f"{tmp_path}/state"
    section = _section(sample_interval_s=5.0)
    recorder = build_recorder(None, controller_id, section, SimulatedClock(START), state_dir)
    await record(recorder, series(controller_id, 60, 1.0))
    engine = create_engine(f"sqlite:///{state_dir}/history.sqlite3")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(select(func.count()).select_from(samples)).scalar() == 13
    engine.dispose()


async def test_reader_rejects_naive_or_reversed_ranges(controller_id: str, tmp_path: object) -> None:
    recorder = build_recorder(None, controller_id, HistorySection(), SimulatedClock(START), str(tmp_path))
    await record(recorder, [make_snapshot(controller_id, 0.0)])
    with pytest.raises(ValueError, match="timezone-aware"):
        recorder.reader.samples(controller_id, START.replace(tzinfo=None), START)
    with pytest.raises(ValueError, match="before start_utc"):
        recorder.reader.events(controller_id, START, START - timedelta(seconds=1))
    assert _count(f"sqlite:///{tmp_path}/history.sqlite3", events, controller_id) == 0
    assert _count(f"sqlite:///{tmp_path}/history.sqlite3", config_changes, controller_id) == 4


async def test_events_are_the_newest_in_range_oldest_first(controller_id: str, tmp_path: object) -> None:
    marks = {i * 10: (Event(EventKind.DOOR_OPEN, f"door {i}", START + timedelta(seconds=i * 10)),) for i in range(30)}
    recorder = build_recorder(None, controller_id, HistorySection(), SimulatedClock(START), str(tmp_path))
    await record(recorder, series(controller_id, 300, 1.0, events=marks))
    listed = recorder.reader.events(controller_id, START, START + timedelta(hours=1), limit=5)
    assert [e["message"] for e in listed] == [f"door {i}" for i in range(25, 30)]
    assert set(listed[0]) == set(marks[0][0].to_dict())

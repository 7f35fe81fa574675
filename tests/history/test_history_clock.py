"""Clock safety: a Pi without a real-time clock boots with a wrong date, then NTP steps the clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, create_engine, select

from controller.clock import SimulatedClock
from controller.history import HistorySection, build_recorder
from controller.history.rows import epoch_minute
from controller.history.schema import samples, samples_1m
from controller.history.timeline import Timeline, place
from tests.history.history_helpers import START, record, series

WRONG_BOOT = datetime(2020, 1, 1, 0, 0, 17, tzinfo=UTC)
SYNC_AT_S = 300.0


def _wall_with_ntp_step(boot: datetime) -> object:
    def wall(mono: float) -> datetime:
        base = boot if mono < SYNC_AT_S else START
        return base + timedelta(seconds=mono)

    return wall


def _rows(url: str, table: Table, controller_id: str) -> list[dict[str, Any]]:
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = (
            connection.execute(select(table).where(table.c.controller_id == controller_id).order_by(table.c.id))
            .mappings()
            .all()
        )
    engine.dispose()
    return [dict(r) for r in rows]


def test_timeline_follows_monotonic_and_reports_steps() -> None:
    timeline = Timeline(threshold_s=5.0, repair_window_s=3600.0)
    timeline, first, jump = place(timeline, WRONG_BOOT, 10.0)
    assert (first, jump) == (WRONG_BOOT, None)
    # the wall clock slews by 3 s: below the threshold, the record time keeps following the monotonic clock
    timeline, second, jump = place(timeline, WRONG_BOOT + timedelta(seconds=23), 30.0)
    assert (second, jump) == (WRONG_BOOT + timedelta(seconds=20), None)
    timeline, third, jump = place(timeline, START, 40.0)
    assert third == START
    assert jump is not None
    assert jump.repair
    assert jump.delta_s == (START - (WRONG_BOOT + timedelta(seconds=30))).total_seconds()
    assert (jump.segment_start_utc, jump.segment_end_utc) == (WRONG_BOOT, WRONG_BOOT + timedelta(seconds=20))
    _, fourth, jump = place(timeline, START + timedelta(seconds=2), 41.0)
    assert (fourth, jump) == (START + timedelta(seconds=1), None)


def test_a_long_segment_is_not_restamped() -> None:
    timeline = Timeline(threshold_s=5.0, repair_window_s=60.0)
    timeline, _, _ = place(timeline, WRONG_BOOT, 0.0)
    timeline, _, _ = place(timeline, WRONG_BOOT + timedelta(seconds=120), 120.0)
    _, _, jump = place(timeline, START, 121.0)
    assert jump is not None
    assert not jump.repair


async def test_ntp_step_after_boot_restamps_history(db_url: str, controller_id: str, tmp_path: object) -> None:
    section = replace(HistorySection(), sample_interval_s=5.0, batch_interval_s=30.0)
    snapshots = series(controller_id, 900, 1.0, wall=_wall_with_ntp_step(WRONG_BOOT))  # type: ignore[arg-type]
    recorder = build_recorder(db_url, controller_id, section, SimulatedClock(START), str(tmp_path))
    await record(recorder, snapshots)

    rows = _rows(db_url, samples, controller_id)
    times = [r["timestamp_utc"] for r in rows]
    assert len(rows) == 181
    assert times[0] == START
    assert times == [START + timedelta(seconds=5 * i) for i in range(181)]
    assert recorder.stats.clock_jumps == 1
    assert recorder.stats.rows_restamped > 0

    minutes = [r["epoch_min"] for r in _rows(db_url, samples_1m, controller_id)]
    assert min(minutes) >= epoch_minute(START) - 1
    assert max(minutes) <= epoch_minute(START + timedelta(seconds=900))
    assert len(set(minutes)) >= 15

    events = recorder.reader.events(controller_id, START, START + timedelta(hours=1))
    jumps = [e for e in events if e["kind"] == "clock_jump"]
    assert len(jumps) == 1
    values = jumps[0]["values"]
    assert isinstance(values, dict)
    assert values["delta_s"] == (START - WRONG_BOOT).total_seconds()
    assert values["restamped"] == "yes"
    points = recorder.reader.samples(controller_id, START, START + timedelta(minutes=15), max_points=1000)
    assert [p["timestamp_utc"] for p in points] == [t.isoformat() for t in times]


async def test_clock_booted_in_the_future_is_pulled_back(db_url: str, controller_id: str, tmp_path: object) -> None:
    future = datetime(2038, 1, 1, tzinfo=UTC)
    section = replace(HistorySection(), sample_interval_s=10.0, batch_interval_s=30.0)
    snapshots = series(controller_id, 600, 1.0, wall=_wall_with_ntp_step(future))  # type: ignore[arg-type]
    recorder = build_recorder(db_url, controller_id, section, SimulatedClock(START), str(tmp_path))
    await record(recorder, snapshots)
    times = [r["timestamp_utc"] for r in _rows(db_url, samples, controller_id)]
    assert times == [START + timedelta(seconds=10 * i) for i in range(61)]


async def test_restored_clock_overlapping_the_last_run_leaves_that_run_alone(
    db_url: str, controller_id: str, tmp_path: object
) -> None:
    """fake-hwclock restores the last saved time, which can lie inside the previous run's history."""
    section = replace(HistorySection(), sample_interval_s=10.0, batch_interval_s=30.0)
    first = build_recorder(db_url, controller_id, section, SimulatedClock(START), str(tmp_path))
    await record(first, series(controller_id, 600, 1.0))
    before = [r["timestamp_utc"] for r in _rows(db_url, samples, controller_id)]

    restored = START + timedelta(seconds=300)
    true_boot = START + timedelta(hours=2)

    def wall(mono: float) -> datetime:
        return (restored if mono < SYNC_AT_S else true_boot) + timedelta(seconds=mono)

    second = build_recorder(db_url, controller_id, section, SimulatedClock(START), str(tmp_path))
    await record(second, series(controller_id, 600, 1.0, wall=wall))
    after = [r["timestamp_utc"] for r in _rows(db_url, samples, controller_id)]
    assert after[: len(before)] == before
    assert after[len(before) :] == [true_boot + timedelta(seconds=10 * i) for i in range(61)]

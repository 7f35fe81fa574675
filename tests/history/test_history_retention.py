"""Retention with downsampling: full rate for a window, one-minute aggregates for longer, and queries that
pick the table that still holds the range."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import create_engine, func, select

from controller.clock import SimulatedClock
from controller.history.config import HistorySection
from controller.history.recorder import build_recorder
from controller.history.schema import samples, samples_1m
from controller.snapshot import Event, EventKind
from tests.history.history_helpers import START, record, series

DAY_S = 86_400.0


async def test_nine_days_keep_seven_at_full_rate(db_url: str, controller_id: str, tmp_path: object) -> None:
    # Nine days are published as fast as the CPU allows (about 26,000 rows): the buffer must hold them all,
    # or on a loaded machine the bound (tested in test_history_unreachable) drops the oldest on purpose.
    section = replace(
        HistorySection(),
        sample_interval_s=60.0,
        batch_interval_s=3600.0,
        raw_retention_s=7 * DAY_S,
        event_retention_s=2 * DAY_S,
        buffer_rows=100_000,
    )
    old_event = Event(EventKind.STARTED, "started", START)
    new_event = Event(EventKind.MODE_CHANGED, "mode auto -> eco", START + timedelta(days=8))
    snapshots = series(controller_id, 9 * DAY_S, 60.0, events={0: (old_event,), 8 * 1440: (new_event,)})
    recorder = build_recorder(db_url, controller_id, section, SimulatedClock(START), str(tmp_path))
    await record(recorder, snapshots)
    end = snapshots[-1].timestamp_utc

    engine = create_engine(db_url)
    with engine.connect() as connection:
        raw_oldest, raw_count = connection.execute(
            select(func.min(samples.c.timestamp_utc), func.count()).where(samples.c.controller_id == controller_id)
        ).one()
        minute_oldest, minute_count = connection.execute(
            select(func.min(samples_1m.c.timestamp_utc), func.count()).where(
                samples_1m.c.controller_id == controller_id
            )
        ).one()
    engine.dispose()
    # retention runs hourly: nothing older than the window plus one hour survives, nothing newer is deleted
    assert end - timedelta(days=7, hours=1) <= raw_oldest <= end - timedelta(days=7) + timedelta(minutes=1)
    assert raw_count <= 7 * 1440 + 61
    assert minute_oldest == START
    assert minute_count == 9 * 1440 + 1

    recent = recorder.reader.samples(controller_id, end - timedelta(hours=1), end)
    assert len(recent) == 61
    assert {p["resolution_s"] for p in recent} == {0}
    first_day = recorder.reader.samples(controller_id, START, START + timedelta(days=1), max_points=500)
    assert {p["resolution_s"] for p in first_day} == {180}
    assert first_day[0]["timestamp_utc"] == START.isoformat()
    assert len(first_day) == 481
    whole = recorder.reader.samples(controller_id, START, end, max_points=200)
    assert len(whole) <= 200
    assert whole[0]["timestamp_utc"] == START.isoformat()

    listed = recorder.reader.events(controller_id, START, end)
    assert [e["kind"] for e in listed] == ["mode_changed"]


async def test_clock_years_ahead_keeps_the_aggregates(db_url: str, controller_id: str, tmp_path: object) -> None:
    section = replace(HistorySection(), sample_interval_s=60.0, batch_interval_s=300.0)
    first = build_recorder(db_url, controller_id, section, SimulatedClock(START), str(tmp_path))
    await record(first, series(controller_id, 3600, 60.0))
    far = START + timedelta(days=3 * 365)
    second = build_recorder(db_url, controller_id, section, SimulatedClock(far), str(tmp_path))
    await record(second, series(controller_id, 3600, 60.0, wall=lambda mono: far + timedelta(seconds=mono)))

    engine = create_engine(db_url)
    with engine.connect() as connection:
        kept_minutes = connection.execute(
            select(func.count()).where(samples_1m.c.controller_id == controller_id, samples_1m.c.timestamp_utc < far)
        ).scalar()
        kept_raw = connection.execute(
            select(func.count()).where(samples.c.controller_id == controller_id, samples.c.timestamp_utc < far)
        ).scalar()
    engine.dispose()
    assert kept_minutes == 61  # the first hour's aggregates survive the suspicious retention pass
    assert kept_raw == 0  # full-rate rows older than the window still go (their aggregates remain)

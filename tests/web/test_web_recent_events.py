"""The recorder writes events in batches: an event of the last seconds is still only in memory, and
/api/events shows it beside the database's (once each, oldest first), so a dashboard opened right after
the start still sees the first plan."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from controller.command_bus import CommandBus
from controller.hub import SnapshotHub
from controller.snapshot import Event, EventKind
from tests.web.web_rig import START_UTC, make_snapshot
from web.config import HttpSection
from web.context import WebContext
from web.memory_history import MemoryHistory
from web.tokens import TokenStore

STORED = Event(EventKind.STARTED, "controller room-1 started in auto mode", START_UTC)
NEWEST = Event(EventKind.PLAN_UPDATED, "plan: setting 2 for 51 % of the time, setting 3 for 49 %", START_UTC)


class Database:
    """The history reader's answer: the batch written so far, with the time as the database gives it."""

    def samples(self, *_: object, **__: object) -> list[dict[str, object]]:
        return []

    def events(self, *_: object, **__: object) -> list[dict[str, object]]:
        return [{**STORED.to_dict(), "timestamp_utc": START_UTC.isoformat().replace("+00:00", "Z")}]


async def test_events_not_yet_written_are_served_with_the_stored_ones(tmp_path: Path) -> None:
    memory = MemoryHistory(86400.0, 60.0)
    memory.add(make_snapshot(0), (STORED, NEWEST))
    context = WebContext("room-1", HttpSection(), SnapshotHub(), CommandBus(), TokenStore(tmp_path), memory, Database())
    source, rows = await context.read_events(START_UTC - timedelta(hours=1), START_UTC + timedelta(hours=1), 10)
    assert source == "database"
    assert [row["message"] for row in rows] == [STORED.message, NEWEST.message]
    _, newest_only = await context.read_events(START_UTC - timedelta(hours=1), START_UTC + timedelta(hours=1), 1)
    assert [row["message"] for row in newest_only] == [NEWEST.message]

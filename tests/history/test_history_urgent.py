"""What matters does not wait for a batch: an alert, a mode change and a stop are committed at once with
everything pending; ordinary ticks wait for the batch interval. And a database already at the code's schema
opens without alembic."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory

from controller.clock import SimulatedClock
from controller.command_bus import CommandBus
from controller.history.config import HistorySection
from controller.history.database import SCHEMA_REVISION, alembic_config, create_history_engine, stored_revision
from controller.history.recorder import build_recorder
from controller.hub import SnapshotHub
from controller.snapshot import AlertKind, Event, EventKind, Severity
from tests.eventually import eventually
from tests.history.history_helpers import START, series

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "event",
    [
        Event(EventKind.ALERT_RAISED, "pressure low", START, Severity.WARNING, AlertKind.PRESSURE_LOW),
        Event(EventKind.MODE_CHANGED, "mode auto -> eco", START),
        Event(EventKind.STOPPING, "SIGTERM: stopping", START),
    ],
    ids=lambda event: event.kind.value,
)
async def test_an_urgent_event_commits_the_pending_rows_at_once(
    event: Event, db_url: str, controller_id: str, tmp_path: Path
) -> None:
    section = replace(HistorySection(), sample_interval_s=1.0, batch_interval_s=3600.0)
    recorder = build_recorder(db_url, controller_id, section, SimulatedClock(START), str(tmp_path))
    hub = SnapshotHub()
    task = asyncio.create_task(recorder.run(hub, CommandBus()))
    await asyncio.sleep(0)
    snapshots = series(controller_id, 10, 1.0)
    for snapshot in snapshots[:5]:
        hub.publish(snapshot)
        await asyncio.sleep(0)
    await eventually(lambda: recorder.stats.snapshots == 5, timeout_s=30.0)
    assert recorder.backlog == 0
    assert recorder.stats.batches_written == 0
    urgent = snapshots[5]
    hub.publish(replace(urgent, events=(replace(event, timestamp_utc=urgent.timestamp_utc),)))
    await eventually(lambda: recorder.stats.samples_written == 6, timeout_s=30.0)
    assert recorder.stats.rows_written >= 7  # six samples and the event, before the batch interval
    hub.close()
    await task


def test_the_code_schema_revision_is_alembics_head() -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == SCHEMA_REVISION


def _opens_with_alembic(url: str) -> bool:
    statement = (
        "from controller.history.database import create_history_engine, migrate\n"
        f"engine = create_history_engine({url!r})\nmigrate(engine)\nengine.dispose()"
    )
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement], capture_output=True, text=True, check=True, cwd=REPO
    )
    return any(line.rsplit("|", 1)[-1].strip() == "alembic" for line in done.stderr.splitlines())


def test_an_upgrade_migrates_while_the_opening_process_never_imports_alembic(fresh_db_url: str) -> None:
    """An older schema is migrated by a child process (`controller.history.upgrade`); the process that
    opens the history imports alembic neither then nor when the schema is already the code's."""
    engine = create_history_engine(fresh_db_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "r0001")
    assert stored_revision(engine) == "r0001"
    assert not _opens_with_alembic(fresh_db_url)
    assert stored_revision(engine) == SCHEMA_REVISION
    assert not _opens_with_alembic(fresh_db_url)
    engine.dispose()

"""The schema migration runs in a child process: the daemon that started it never holds alembic, and a
migration that fails or cannot get its lock is reported, with the child's reason, within its time."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command

from controller.history.database import (
    SCHEMA_REVISION,
    MigrationError,
    alembic_config,
    create_history_engine,
    migrate,
    stored_revision,
)
from controller.history.guard import HistoryTimeout

FRESH_START = """
import sys
from controller.history.database import create_history_engine, migrate, stored_revision
engine = create_history_engine(sys.argv[1])
migrate(engine)
print(stored_revision(engine), sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako', 'pygments')))
"""


def test_a_first_start_migrates_without_loading_alembic_into_the_process(fresh_db_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", FRESH_START, fresh_db_url], capture_output=True, text=True, check=True, timeout=300
    )
    assert done.stdout.split(maxsplit=1) == [SCHEMA_REVISION, "[]\n"]


def _at_first_revision(path: Path) -> str:
    url = f"sqlite:///{path}"
    engine = create_history_engine(url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "r0001")
    engine.dispose()
    return url


def test_a_failed_migration_names_the_database_the_revision_and_the_reason(tmp_path: Path) -> None:
    url = _at_first_revision(tmp_path / "odd.sqlite3")
    with sqlite3.connect(tmp_path / "odd.sqlite3") as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'r9999'")
    engine = create_history_engine(url)
    with pytest.raises(MigrationError, match=r"odd\.sqlite3 from r9999: .*r9999"):
        migrate(engine, timeout_s=120.0)
    assert stored_revision(engine) == "r9999"
    engine.dispose()


def test_a_migration_that_cannot_get_its_lock_ends_with_an_error_not_a_hang(tmp_path: Path) -> None:
    path = tmp_path / "busy.sqlite3"
    url = _at_first_revision(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    engine = create_history_engine(url, timeout_s=1.0)
    try:
        with pytest.raises((MigrationError, HistoryTimeout), match=r"locked|did not finish"):
            migrate(engine, timeout_s=3.0)
    finally:
        holder.rollback()
        holder.close()
    migrate(engine, timeout_s=120.0)
    assert stored_revision(engine) == SCHEMA_REVISION
    engine.dispose()

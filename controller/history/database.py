"""The database side of the recorder: engine, migrations, batched writes, retention and clock repair.

Everything here is synchronous and runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import math
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Table, bindparam, create_engine, delete, event, func, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from controller.redact import masked_url

from .config import HistorySection
from .guard import HistoryTimeout, StatementGuard
from .rows import Row, epoch_minute, minute_start
from .schema import config_changes, events, samples, samples_1m

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

DEFAULT_FILE = "history.sqlite3"
MIGRATIONS = "controller.history:migrations"
SCHEMA_REVISION = "r0003"
"""The migration the code's tables match (alembic's head; a test keeps them equal). A database already at it
is opened without importing alembic, which costs a Pi Zero seconds and megabytes at every start."""
_PG_MIGRATION_LOCK = 0x636C65616E  # one key for every controller sharing a PostgreSQL database
_ALEMBIC_LOCK = threading.Lock()


def resolve_url(url: str | None, section: HistorySection, state_dir: str) -> str:
    """The URL given on the command line, else the configured one, else SQLite in the state directory."""
    if url:
        return url
    if section.url:
        return section.url
    return f"sqlite:///{Path(state_dir).resolve() / DEFAULT_FILE}"


def redacted(url: str) -> str:
    """The URL without its password, for logs and messages."""
    return masked_url(url)


def _sqlite_pragmas(busy_timeout_ms: int, dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


_ACTIVE = threading.local()
"""The StatementGuard of the database call running on this thread, if any."""


def _watch_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    guard: StatementGuard | None = getattr(_ACTIVE, "guard", None)
    if guard is not None:
        guard.watch(dbapi_connection)


@contextmanager
def guarded(timeout_s: float) -> Iterator[StatementGuard]:
    """Every connection this thread checks out inside the block is ended once `timeout_s` have passed."""
    with StatementGuard(timeout_s) as guard:
        previous = getattr(_ACTIVE, "guard", None)
        _ACTIVE.guard = guard
        try:
            yield guard
        finally:
            _ACTIVE.guard = previous


def create_history_engine(url: str, timeout_s: float = 10.0) -> Engine:
    """An engine for the history URL: SQLite in WAL mode, or any server SQLAlchemy knows (PostgreSQL).

    Every call is bounded by `timeout_s`: SQLite waits that long for a lock; PostgreSQL gets it as its
    connect, statement and lock timeouts, and connections are not pooled (each batch connects afresh,
    within the connect timeout, so no pooled connection can sit on a path that went silent).
    """
    parsed = make_url(url)
    milliseconds = max(1, round(timeout_s * 1000))
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed)
        event.listen(engine, "connect", partial(_sqlite_pragmas, milliseconds))
    elif parsed.get_backend_name() == "postgresql":
        options = f"-c statement_timeout={milliseconds} -c lock_timeout={milliseconds}"
        connect_args = {"connect_timeout": max(2, math.ceil(timeout_s)), "options": options}
        engine = create_engine(parsed, poolclass=NullPool, connect_args=connect_args)
    else:
        engine = create_engine(parsed, pool_pre_ping=True)
    event.listen(engine, "checkout", _watch_checkout)
    return engine


def alembic_config(connection: Connection | None = None) -> Config:
    """The alembic configuration of the shipped migrations, bound to a connection when given."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def stored_revision(engine: Engine) -> str | None:
    """The schema revision alembic last stamped in the database (one query), None for a new database."""
    with engine.connect() as connection:
        try:
            revision = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        except DBAPIError:
            return None
    return None if revision is None else str(revision)


def _sqlite_file(engine: Engine) -> Path | None:
    """The SQLite database's file (None: another database, or SQLite only in memory)."""
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        return Path(str(engine.url.database))
    return None


def migrate(engine: Engine, timeout_s: float = 30.0) -> None:
    """Bring the schema to the newest revision; existing history is kept (migrations only add).

    A database already at SCHEMA_REVISION costs one query. Otherwise alembic runs in a child process
    (`controller.history.upgrade`) that ends within `timeout_s`: alembic, mako and pygments cost about
    11 MB that a daemon would keep for the weeks after a first start or an upgrade. A database only in this
    process's memory is migrated here.
    """
    database = _sqlite_file(engine)
    if database is not None:
        database.parent.mkdir(parents=True, exist_ok=True)
    stored = stored_revision(engine)
    if stored == SCHEMA_REVISION:
        return
    if engine.dialect.name == "sqlite" and database is None:
        upgrade_schema(engine)
        return
    request = json.dumps({"url": engine.url.render_as_string(hide_password=False), "timeout_s": timeout_s})
    command = [sys.executable, "-m", "controller.history.upgrade"]
    try:
        done = subprocess.run(command, input=request, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise HistoryTimeout(f"the schema migration did not finish within {timeout_s:g} s") from exc
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        raise MigrationError(f"migrating {redacted(str(engine.url))} from {stored or 'empty'}: {lines[-1]}")
    log.info("history schema migrated from %s to %s", stored or "empty", SCHEMA_REVISION)


class MigrationError(RuntimeError):
    """The schema migration failed; the message is the child's last line of error."""


def upgrade_schema(engine: Engine) -> None:
    """alembic's upgrade to head, in this process. Several controllers may start at once against one
    database: PostgreSQL serialises them with an advisory lock, SQLite with a lock file beside the database,
    and alembic's module-level context with a process-wide lock."""
    from alembic import command

    database = _sqlite_file(engine)
    with _ALEMBIC_LOCK, contextlib.ExitStack() as stack:
        if database is not None:
            stack.enter_context(_file_lock(database.with_name(database.name + ".migrate-lock")))
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
            command.upgrade(alembic_config(connection), "head")


@dataclass
class Batch:
    """Rows that go to the database in one transaction."""

    samples: list[Row] = field(default_factory=list)
    minutes: list[Row] = field(default_factory=list)
    events: list[Row] = field(default_factory=list)
    changes: list[Row] = field(default_factory=list)
    retain_at: datetime | None = None

    def __len__(self) -> int:
        return len(self.samples) + len(self.minutes) + len(self.events) + len(self.changes)

    def absorb(self, following: Batch) -> None:
        """Append a later batch's rows (its retention pass, if any, wins)."""
        self.samples.extend(following.samples)
        self.minutes.extend(following.minutes)
        self.events.extend(following.events)
        self.changes.extend(following.changes)
        self.retain_at = following.retain_at or self.retain_at

    def newest_utc(self) -> datetime | None:
        """The newest sample or aggregate time in the batch."""
        times = [row["timestamp_utc"] for row in self.samples + self.minutes]
        return max((t for t in times if isinstance(t, datetime)), default=None)


@dataclass(frozen=True, slots=True)
class Repair:
    """Shift this session's rows recorded between start and end (record time) by delta seconds."""

    start_utc: datetime
    end_utc: datetime
    delta_s: float


@dataclass
class RetentionResult:
    """Rows deleted by one retention pass."""

    samples: int = 0
    minutes: int = 0
    events: int = 0
    guarded: bool = False


class HistoryStore:
    """One controller's writes into a history database."""

    def __init__(self, engine: Engine, controller_id: str, section: HistorySection) -> None:
        self.engine = engine
        self.controller_id = controller_id
        self.section = section
        self.prepared = False
        self._session_base: dict[str, int] = {}
        self._retention_guarded = False

    def prepare(self) -> None:
        """Migrate, then remember the highest ids: rows above them were written by this session."""
        migration_s = self.section.timeout_s * 3
        with guarded(migration_s):
            migrate(self.engine, migration_s)
        with guarded(self.section.timeout_s), self.engine.connect() as connection:
            for table in (samples, samples_1m, events, config_changes):
                self._session_base[table.name] = connection.execute(select(func.max(table.c.id))).scalar() or 0
        self.prepared = True

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with guarded(self.section.timeout_s), self.engine.begin() as connection:
            yield connection

    def write(self, batch: Batch) -> None:
        """Insert a batch in one transaction (one commit, one burst of disk writes)."""
        with self._transaction() as connection:
            for table, rows in (
                (samples, batch.samples),
                (samples_1m, batch.minutes),
                (events, batch.events),
                (config_changes, batch.changes),
            ):
                if rows:
                    connection.execute(insert(table), rows)

    def repair(self, repair: Repair) -> int:
        """Re-stamp this session's rows of a clock segment; returns how many rows moved."""
        moved = 0
        margin = timedelta(seconds=1)
        lo, hi = repair.start_utc - margin, repair.end_utc + margin
        with self._transaction() as connection:
            for table in (samples, events, config_changes):
                rows = connection.execute(
                    select(table.c.id, table.c.timestamp_utc).where(
                        table.c.controller_id == self.controller_id,
                        table.c.id > self._session_base.get(table.name, 0),
                        table.c.timestamp_utc.between(lo, hi),
                    )
                ).all()
                if rows:
                    shift = timedelta(seconds=repair.delta_s)
                    connection.execute(
                        update(table).where(table.c.id == bindparam("row_id")).values(timestamp_utc=bindparam("ts")),
                        [{"row_id": row_id, "ts": ts + shift} for row_id, ts in rows],
                    )
                    moved += len(rows)
            minutes = round(repair.delta_s / 60.0)
            rows = connection.execute(
                select(samples_1m.c.id, samples_1m.c.epoch_min).where(
                    samples_1m.c.controller_id == self.controller_id,
                    samples_1m.c.id > self._session_base.get(samples_1m.name, 0),
                    samples_1m.c.epoch_min.between(epoch_minute(lo), epoch_minute(hi)),
                )
            ).all()
            if rows and minutes:
                connection.execute(
                    update(samples_1m)
                    .where(samples_1m.c.id == bindparam("row_id"))
                    .values(epoch_min=bindparam("minute"), timestamp_utc=bindparam("ts")),
                    [
                        {"row_id": row_id, "minute": minute + minutes, "ts": minute_start(minute + minutes)}
                        for row_id, minute in rows
                    ],
                )
                moved += len(rows)
        return moved

    def retain(self, now_utc: datetime) -> RetentionResult:
        """Delete full-rate rows older than the raw window, aggregates and events older than theirs.

        A clock set far in the future (a bad real-time clock) must not wipe the long-term history: when a
        pass would delete every aggregate recorded before this session, it keeps aggregates, events and
        settings and says so (`result.guarded`); full-rate rows still go, their aggregates remain.
        """
        result = RetentionResult()
        with self._transaction() as connection:
            result.samples = self._delete_before(
                connection, samples, now_utc - timedelta(seconds=self.section.raw_retention_s)
            )
            cutoff = now_utc - timedelta(seconds=self.section.aggregate_retention_s)
            newest_before = connection.execute(
                select(func.max(samples_1m.c.epoch_min)).where(
                    samples_1m.c.controller_id == self.controller_id,
                    samples_1m.c.id <= self._session_base.get(samples_1m.name, 0),
                )
            ).scalar()
            if newest_before is not None and newest_before < epoch_minute(cutoff):
                result.guarded = True
                return result
            result.minutes = connection.execute(
                delete(samples_1m).where(
                    samples_1m.c.controller_id == self.controller_id, samples_1m.c.epoch_min < epoch_minute(cutoff)
                )
            ).rowcount
            event_cutoff = now_utc - timedelta(seconds=self.section.event_retention_s)
            result.events = self._delete_before(connection, events, event_cutoff)
            self._delete_before(connection, config_changes, event_cutoff)
        return result

    def retain_and_log(self, now_utc: datetime) -> None:
        """A retention pass whose outcome goes to the log (a failure too: the next pass retries it)."""
        try:
            result = self.retain(now_utc)
        except Exception as exc:  # the batch before it is written; retention is not urgent
            log.warning("history retention failed: %s", exc)
            return
        if result.guarded and not self._retention_guarded:
            self._retention_guarded = True
            log.warning(
                "history retention at %s would delete every aggregate recorded before this run; keeping them "
                "(is the clock right?)",
                now_utc.isoformat(),
            )
        if result.samples or result.minutes or result.events:
            log.info(
                "history retention deleted %d samples, %d minute aggregates, %d events",
                result.samples,
                result.minutes,
                result.events,
            )

    def _delete_before(self, connection: Connection, table: Table, cutoff: datetime) -> int:
        statement = delete(table).where(table.c.controller_id == self.controller_id, table.c.timestamp_utc < cutoff)
        return int(connection.execute(statement).rowcount)

    def close(self) -> None:
        """Release every pooled connection (and checkpoint SQLite's WAL)."""
        self.engine.dispose()

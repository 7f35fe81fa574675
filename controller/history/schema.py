"""The history tables. Every row carries its controller's id, so several rooms can share one database.

The numeric columns of `samples` and `samples_1m` come from the METRICS rows marked `recorded`; a new
recorded metric therefore needs a new migration (tests compare the migrations with these tables).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeDecorator

from controller.metrics import METRICS

RECORDED_KEYS: tuple[str, ...] = tuple(m.key for m in METRICS if m.recorded)
"""The metric keys that become history columns, in table order."""

AGGREGATE_SUFFIXES: tuple[str, ...] = ("min", "mean", "max")

ID_TYPE = BigInteger().with_variant(Integer(), "sqlite")
"""64-bit ids on PostgreSQL; on SQLite an INTEGER PRIMARY KEY is the rowid (auto-incrementing)."""


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out: timestamptz on PostgreSQL, naive-UTC text on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"history timestamps must be timezone-aware, got {value!r}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {value!r}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()
"""Every history table, defined with SQLAlchemy Core: the daemon only inserts and selects rows, and the ORM
would cost a Pi Zero about 6 MB of memory for nothing."""


def _controller_table(name: str, *columns: Column[Any], index: tuple[str, str] | None = None) -> Table:
    """A history table: an id, the controller it belongs to, then `columns`, indexed by controller and time
    (or by `index`: its name and second column)."""
    index_name, second = index or (f"ix_{name}_controller_time", "timestamp_utc")
    return Table(
        name,
        metadata,
        Column("id", ID_TYPE, primary_key=True, autoincrement=True),
        Column("controller_id", String(64), nullable=False),
        *columns,
        Index(index_name, "controller_id", second),
    )


samples = _controller_table(
    "samples",
    Column("timestamp_utc", UtcDateTime(), nullable=False),
    Column("mode", String(16), nullable=False),
    *(Column(key, Float(), nullable=True) for key in RECORDED_KEYS),
)
"""Full-rate rows, one per `sample_interval`."""

samples_1m = _controller_table(
    "samples_1m",
    Column("epoch_min", BigInteger(), nullable=False),
    Column("timestamp_utc", UtcDateTime(), nullable=False),
    Column("n", Integer(), nullable=False),
    Column("mode", String(16), nullable=False),
    *(Column(f"{key}_{suffix}", Float(), nullable=True) for key in RECORDED_KEYS for suffix in AGGREGATE_SUFFIXES),
    index=("ix_samples_1m_controller_minute", "epoch_min"),
)
"""One-minute aggregates (min, mean, max of every snapshot in the minute); `epoch_min` = Unix time // 60."""


events = _controller_table(
    "events",
    Column("timestamp_utc", UtcDateTime(), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("alert_kind", String(32), nullable=True),
    Column("message", Text(), nullable=False),
    Column("values", JSON(), nullable=False),
)
"""An event or an alert being raised or cleared."""

config_changes = _controller_table(
    "config_changes",
    Column("timestamp_utc", UtcDateTime(), nullable=False),
    Column("key", String(64), nullable=False),
    Column("old_value", Text(), nullable=True),
    Column("new_value", Text(), nullable=True),
)
"""A setting that changed (mode, setpoints, deadline), old and new value as text."""

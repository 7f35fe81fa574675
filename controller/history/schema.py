"""The history tables. Every row carries its controller's id, so several rooms can share one database.

The numeric columns of `samples` and `samples_1m` come from the METRICS rows marked `recorded`; a new
recorded metric therefore needs a new migration (tests compare the migrations with these models).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import JSON, BigInteger, Column, DateTime, Dialect, Float, Index, Integer, String, Table, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
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


class Base(DeclarativeBase):
    """The declarative base of every history table."""


samples = Table(
    "samples",
    Base.metadata,
    Column("id", ID_TYPE, primary_key=True, autoincrement=True),
    Column("controller_id", String(64), nullable=False),
    Column("timestamp_utc", UtcDateTime(), nullable=False),
    Column("mode", String(16), nullable=False),
    *(Column(key, Float(), nullable=True) for key in RECORDED_KEYS),
    Index("ix_samples_controller_time", "controller_id", "timestamp_utc"),
)
"""Full-rate rows, one per `sample_interval`."""

samples_1m = Table(
    "samples_1m",
    Base.metadata,
    Column("id", ID_TYPE, primary_key=True, autoincrement=True),
    Column("controller_id", String(64), nullable=False),
    Column("epoch_min", BigInteger(), nullable=False),
    Column("timestamp_utc", UtcDateTime(), nullable=False),
    Column("n", Integer(), nullable=False),
    Column("mode", String(16), nullable=False),
    *(Column(f"{key}_{suffix}", Float(), nullable=True) for key in RECORDED_KEYS for suffix in AGGREGATE_SUFFIXES),
    Index("ix_samples_1m_controller_minute", "controller_id", "epoch_min"),
)
"""One-minute aggregates (min, mean, max of every snapshot in the minute); `epoch_min` = Unix time // 60."""


class SampleRow(Base):
    """ORM view of `samples` (metric columns are reached through the table)."""

    __table__ = samples


class MinuteRow(Base):
    """ORM view of `samples_1m`."""

    __table__ = samples_1m


class EventRow(Base):
    """An event or an alert being raised or cleared."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_controller_time", "controller_id", "timestamp_utc"),)

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True, autoincrement=True)
    controller_id: Mapped[str] = mapped_column(String(64))
    timestamp_utc: Mapped[datetime] = mapped_column(UtcDateTime())
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    alert_kind: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text())
    values: Mapped[dict[str, Any]] = mapped_column(JSON())


class ConfigChangeRow(Base):
    """A setting that changed (mode, setpoints, deadline), old and new value as text."""

    __tablename__ = "config_changes"
    __table_args__ = (Index("ix_config_changes_controller_time", "controller_id", "timestamp_utc"),)

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True, autoincrement=True)
    controller_id: Mapped[str] = mapped_column(String(64))
    timestamp_utc: Mapped[datetime] = mapped_column(UtcDateTime())
    key: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text())
    new_value: Mapped[str | None] = mapped_column(Text())


events = cast(Table, EventRow.__table__)
config_changes = cast(Table, ConfigChangeRow.__table__)

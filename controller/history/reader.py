"""Reading history back: the dashboard's 24 h chart and events list, Grafana-like ranges of a year.

Short ranges come from the full-rate `samples`; longer ones (or ones older than the full-rate window)
from the one-minute aggregates, merged into wider buckets so that at most `max_points` come back.
Methods are synchronous; call them from async code with `asyncio.to_thread`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, Table, func, select
from sqlalchemy.exc import SQLAlchemyError

from controller.errors import CleanroomError

from .database import guarded
from .guard import HistoryTimeout
from .rows import epoch_minute, minute_start
from .schema import RECORDED_KEYS, config_changes, events, samples, samples_1m

RAW_SLACK = timedelta(minutes=1)


class HistoryUnavailable(CleanroomError):
    """The history database cannot be read right now."""


def _iso(value: Any) -> str:
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {value!r}")
    return value.isoformat()


def _check_range(start_utc: datetime, end_utc: datetime) -> None:
    if start_utc.tzinfo is None or end_utc.tzinfo is None:
        raise ValueError("start_utc and end_utc must be timezone-aware")
    if end_utc < start_utc:
        raise ValueError(f"end_utc ({end_utc.isoformat()}) is before start_utc ({start_utc.isoformat()})")


class HistoryReader:
    """Queries over the history tables of one database (any controller id)."""

    def __init__(self, engine: Engine, timeout_s: float = 10.0) -> None:
        self.engine = engine
        self.timeout_s = timeout_s

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        """A connection whose queries end after `timeout_s` (a reader must not hang on a silent server)."""
        with guarded(self.timeout_s), self.engine.connect() as connection:
            yield connection

    def samples(
        self, controller_id: str, start_utc: datetime, end_utc: datetime, max_points: int = 500
    ) -> list[dict[str, object]]:
        """Points between start and end, oldest first: `timestamp_utc` (ISO), `mode` and every recorded
        metric. Aggregated points also carry `<metric>_min` and `<metric>_max`, the metric key being
        the mean; `resolution_s` says how wide each point is (0 for full-rate rows)."""
        _check_range(start_utc, end_utc)
        if max_points < 1:
            raise ValueError(f"max_points must be at least 1, got {max_points}")
        try:
            with self._connect() as connection:
                oldest = connection.execute(
                    select(func.min(samples.c.timestamp_utc)).where(samples.c.controller_id == controller_id)
                ).scalar()
                oldest_minute = connection.execute(
                    select(func.min(samples_1m.c.epoch_min)).where(samples_1m.c.controller_id == controller_id)
                ).scalar()
                raw_covers = oldest is not None and (
                    start_utc >= oldest - RAW_SLACK
                    or oldest_minute is None
                    or oldest_minute >= epoch_minute(oldest) - 1
                )
                if raw_covers:
                    raw = (
                        connection.execute(
                            select(samples)
                            .where(
                                samples.c.controller_id == controller_id,
                                samples.c.timestamp_utc >= start_utc,
                                samples.c.timestamp_utc <= end_utc,
                            )
                            .order_by(samples.c.timestamp_utc)
                            .limit(max_points + 1)
                        )
                        .mappings()
                        .all()
                    )
                    if len(raw) <= max_points:
                        return [_raw_point(dict(row)) for row in raw]
                return self._aggregated(connection, controller_id, start_utc, end_utc, max_points)
        except (SQLAlchemyError, HistoryTimeout) as exc:
            raise HistoryUnavailable(f"history database unavailable: {exc.__class__.__name__}") from exc

    def _aggregated(
        self, connection: Any, controller_id: str, start_utc: datetime, end_utc: datetime, max_points: int
    ) -> list[dict[str, object]]:
        first, last = epoch_minute(start_utc), epoch_minute(end_utc)
        width = max(1, math.ceil((last - first + 1) / max_points))
        bucket = ((samples_1m.c.epoch_min - first) // width).label("bucket")
        columns: list[Any] = [bucket, func.min(samples_1m.c.epoch_min).label("first_min"), func.max(samples_1m.c.mode)]
        for key in RECORDED_KEYS:
            columns.append(func.min(samples_1m.c[f"{key}_min"]).label(f"{key}_min"))
            columns.append(func.avg(samples_1m.c[f"{key}_mean"]).label(key))
            columns.append(func.max(samples_1m.c[f"{key}_max"]).label(f"{key}_max"))
        rows = connection.execute(
            select(*columns)
            .where(
                samples_1m.c.controller_id == controller_id,
                samples_1m.c.epoch_min >= first,
                samples_1m.c.epoch_min <= last,
            )
            .group_by(bucket)
            .order_by(bucket)
        ).all()
        points: list[dict[str, object]] = []
        for row in rows:
            mapping = row._mapping
            point: dict[str, object] = {
                "timestamp_utc": minute_start(first + int(mapping["bucket"]) * width).isoformat(),
                "mode": row[2],
                "resolution_s": 60 * width,
            }
            for key in RECORDED_KEYS:
                for name in (key, f"{key}_min", f"{key}_max"):
                    value = mapping[name]
                    point[name] = None if value is None else float(value)
            points.append(point)
        return points

    def _newest(
        self, table: Table, controller_id: str, start_utc: datetime, end_utc: datetime, limit: int
    ) -> list[RowMapping]:
        """The newest `limit` rows of a timestamped table in a range, oldest first."""
        _check_range(start_utc, end_utc)
        try:
            with self._connect() as connection:
                rows = (
                    connection.execute(
                        select(table)
                        .where(
                            table.c.controller_id == controller_id,
                            table.c.timestamp_utc >= start_utc,
                            table.c.timestamp_utc <= end_utc,
                        )
                        .order_by(table.c.timestamp_utc.desc(), table.c.id.desc())
                        .limit(limit)
                    )
                    .mappings()
                    .all()
                )
        except (SQLAlchemyError, HistoryTimeout) as exc:
            raise HistoryUnavailable(f"history database unavailable: {exc.__class__.__name__}") from exc
        return list(reversed(rows))

    def events(
        self, controller_id: str, start_utc: datetime, end_utc: datetime, limit: int = 200
    ) -> list[dict[str, object]]:
        """The newest `limit` events and alerts between start and end, oldest first (as `Event.to_dict()`)."""
        return [
            {
                "timestamp_utc": _iso(row["timestamp_utc"]),
                "kind": row["kind"],
                "severity": row["severity"],
                "alert_kind": row["alert_kind"],
                "message": row["message"],
                "values": row["values"],
            }
            for row in self._newest(events, controller_id, start_utc, end_utc, limit)
        ]

    def config_changes(
        self, controller_id: str, start_utc: datetime, end_utc: datetime, limit: int = 200
    ) -> list[dict[str, object]]:
        """The newest `limit` setting changes (mode, setpoints, deadline) between start and end, oldest first."""
        return [
            {
                "timestamp_utc": _iso(row["timestamp_utc"]),
                "key": row["key"],
                "old_value": row["old_value"],
                "new_value": row["new_value"],
            }
            for row in self._newest(config_changes, controller_id, start_utc, end_utc, limit)
        ]


def _raw_point(row: dict[str, Any]) -> dict[str, object]:
    point: dict[str, object] = {"timestamp_utc": _iso(row["timestamp_utc"]), "mode": row["mode"], "resolution_s": 0}
    for key in RECORDED_KEYS:
        point[key] = row[key]
    return point

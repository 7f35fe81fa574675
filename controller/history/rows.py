"""Snapshots into history rows: pure functions and a pure one-minute accumulator (no I/O, no clock)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from controller.metrics import METRICS
from controller.snapshot import Event, Snapshot

from .schema import RECORDED_KEYS

Row = dict[str, object]

_RECORDED = tuple(m for m in METRICS if m.recorded)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

SETTING_KEYS: tuple[str, ...] = ("mode", "pressure_setpoint_pa", "pressure_floor_pa", "deadline_utc")
"""Settings whose changes go to `config_changes`."""


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def metric_values(snapshot: Snapshot) -> dict[str, float | None]:
    """Every recorded metric of a snapshot (non-finite numbers become None)."""
    return {m.key: _finite(m.value(snapshot)) for m in _RECORDED}


def sample_row(controller_id: str, timestamp_utc: datetime, snapshot: Snapshot) -> Row:
    """One `samples` row."""
    row: Row = {"controller_id": controller_id, "timestamp_utc": timestamp_utc, "mode": snapshot.mode.value}
    row.update(metric_values(snapshot))
    return row


def event_row(controller_id: str, timestamp_utc: datetime, event: Event) -> Row:
    """One `events` row."""
    values: dict[str, object] = {}
    for key, value in event.values.items():
        values[key] = None if isinstance(value, float) and not math.isfinite(value) else value
    return {
        "controller_id": controller_id,
        "timestamp_utc": timestamp_utc,
        "kind": event.kind.value,
        "severity": event.severity.value,
        "alert_kind": event.alert_kind.value if event.alert_kind else None,
        "message": event.message,
        "values": values,
    }


def settings(snapshot: Snapshot) -> dict[str, str | None]:
    """The settings of a snapshot as text (None when unset)."""
    deadline = snapshot.deadline_utc.isoformat() if snapshot.deadline_utc else None
    return {
        "mode": snapshot.mode.value,
        "pressure_setpoint_pa": None if snapshot.pressure_setpoint_pa is None else f"{snapshot.pressure_setpoint_pa:g}",
        "pressure_floor_pa": None if snapshot.pressure_floor_pa is None else f"{snapshot.pressure_floor_pa:g}",
        "deadline_utc": deadline,
    }


def setting_changes(
    controller_id: str, timestamp_utc: datetime, before: dict[str, str | None] | None, after: dict[str, str | None]
) -> list[Row]:
    """`config_changes` rows for every setting that differs (all of them for the first snapshot)."""
    rows: list[Row] = []
    for key in SETTING_KEYS:
        old = None if before is None else before[key]
        if before is None or old != after[key]:
            rows.append(
                {
                    "controller_id": controller_id,
                    "timestamp_utc": timestamp_utc,
                    "key": key,
                    "old_value": old,
                    "new_value": after[key],
                }
            )
    return rows


def epoch_minute(timestamp_utc: datetime) -> int:
    """Whole minutes since 1970-01-01 UTC."""
    return math.floor((timestamp_utc - EPOCH).total_seconds() / 60.0)


def minute_start(epoch_min: int) -> datetime:
    """The UTC start of an epoch minute."""
    return EPOCH + timedelta(minutes=epoch_min)


@dataclass
class _Stats:
    low: float
    high: float
    total: float
    count: int


@dataclass
class MinuteAggregator:
    """Accumulates every snapshot of the current minute; a finished minute comes out as a `samples_1m` row."""

    controller_id: str
    epoch_min: int | None = None
    n: int = 0
    mode: str = ""
    stats: dict[str, _Stats] = field(default_factory=dict)

    def add(self, timestamp_utc: datetime, mode: str, values: dict[str, float | None]) -> Row | None:
        """Add one snapshot; returns the previous minute's row when this one starts a new minute."""
        minute = epoch_minute(timestamp_utc)
        finished = self.flush() if self.epoch_min is not None and minute != self.epoch_min else None
        self.epoch_min = minute
        self.n += 1
        self.mode = mode
        for key, value in values.items():
            if value is None:
                continue
            stats = self.stats.get(key)
            if stats is None:
                self.stats[key] = _Stats(value, value, value, 1)
            else:
                stats.low = min(stats.low, value)
                stats.high = max(stats.high, value)
                stats.total += value
                stats.count += 1
        return finished

    def flush(self) -> Row | None:
        """The row of the minute accumulated so far (None if empty); starts afresh."""
        if self.epoch_min is None or self.n == 0:
            return None
        row: Row = {
            "controller_id": self.controller_id,
            "epoch_min": self.epoch_min,
            "timestamp_utc": minute_start(self.epoch_min),
            "n": self.n,
            "mode": self.mode,
        }
        for key in RECORDED_KEYS:
            stats = self.stats.get(key)
            row[f"{key}_min"] = None if stats is None else stats.low
            row[f"{key}_mean"] = None if stats is None else stats.total / stats.count
            row[f"{key}_max"] = None if stats is None else stats.high
        self.epoch_min = None
        self.n = 0
        self.stats = {}
        return row


def shift_rows(rows: list[Row], delta_s: float) -> None:
    """Move rows (samples, events, settings or aggregates) in time by delta seconds, in place."""
    minutes = round(delta_s / 60.0)
    for row in rows:
        if "epoch_min" in row:
            epoch_min = row["epoch_min"]
            assert isinstance(epoch_min, int)
            row["epoch_min"] = epoch_min + minutes
            row["timestamp_utc"] = minute_start(epoch_min + minutes)
        else:
            timestamp = row["timestamp_utc"]
            assert isinstance(timestamp, datetime)
            row["timestamp_utc"] = timestamp + timedelta(seconds=delta_s)

"""A bounded in-memory history (the last 24 h by default) for when no database is configured.

Snapshots are averaged into fixed buckets (one a minute by default), so memory stays constant however
fast the loop ticks. It answers the same two questions as the history engine's reader.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

from controller.metrics import METRICS, Metric
from controller.snapshot import Event, Snapshot

MAX_EVENTS = 2000


@dataclass(slots=True)
class _Bucket:
    """Sums and counts of one time slot, one per recorded metric in the history's key order: raw doubles
    (a day of minutes is 1,440 buckets, held for as long as the daemon runs)."""

    index: int
    sums: array[float]
    counts: array[int]

    @staticmethod
    def empty(index: int, width: int) -> _Bucket:
        return _Bucket(index, array("d", bytes(8 * width)), array("L", [0]) * width)

    def add(self, values: list[float | None]) -> None:
        for i, value in enumerate(values):
            if value is not None and math.isfinite(value):
                self.sums[i] += value
                self.counts[i] += 1

    def merge(self, other: _Bucket) -> None:
        for i, count in enumerate(other.counts):
            self.sums[i] += other.sums[i]
            self.counts[i] += count

    def means(self, keys: tuple[str, ...]) -> dict[str, float | None]:
        return {k: (self.sums[i] / self.counts[i] if self.counts[i] else None) for i, k in enumerate(keys)}


def _epoch(moment: datetime) -> float:
    return moment.astimezone(UTC).timestamp()


class MemoryHistory:
    """Averaged samples per `resolution_s` over the last `window_s`, and the events of that window."""

    def __init__(
        self, window_s: float = 86400.0, resolution_s: float = 60.0, metrics: tuple[Metric, ...] = METRICS
    ) -> None:
        self.window_s = window_s
        self.resolution_s = resolution_s
        self._metrics = tuple(m for m in metrics if m.recorded)
        self.keys = tuple(m.key for m in self._metrics)
        self._buckets: deque[_Bucket] = deque(maxlen=math.ceil(window_s / resolution_s) + 1)
        self._events: deque[Event] = deque(maxlen=MAX_EVENTS)

    def add(self, snapshot: Snapshot, events: tuple[Event, ...] = ()) -> None:
        """Fold one snapshot (and the events delivered with it) into the history."""
        index = math.floor(_epoch(snapshot.timestamp_utc) / self.resolution_s)
        if not self._buckets or index > self._buckets[-1].index:
            self._buckets.append(_Bucket.empty(index, len(self.keys)))
        elif index < self._buckets[-1].index:
            self._buckets.clear()
            self._buckets.append(_Bucket.empty(index, len(self.keys)))
        self._buckets[-1].add([m.value(snapshot) for m in self._metrics])
        oldest = index - self._buckets.maxlen + 1 if self._buckets.maxlen else index
        while self._buckets and self._buckets[0].index < oldest:
            self._buckets.popleft()
        self._events.extend(events)
        horizon = _epoch(snapshot.timestamp_utc) - self.window_s
        while self._events and _epoch(self._events[0].timestamp_utc) < horizon:
            self._events.popleft()

    def samples(self, start_utc: datetime, end_utc: datetime, max_points: int = 500) -> list[dict[str, object]]:
        """Averages over [start, end], merged into at most about `max_points` equal time slots; oldest first."""
        low = _epoch(start_utc) / self.resolution_s
        high = _epoch(end_utc) / self.resolution_s
        chosen = [b for b in self._buckets if low - 1 < b.index <= high]
        if not chosen or max_points < 1:
            return []
        slot_width = max(1.0, (high - low) / max_points)
        merged: dict[int, _Bucket] = {}
        for bucket in chosen:
            slot = min(max_points - 1, max(0, math.floor((bucket.index - low) / slot_width)))
            if slot not in merged:
                merged[slot] = _Bucket.empty(bucket.index, len(self.keys))
            merged[slot].merge(bucket)
        return [
            {
                "timestamp_utc": datetime.fromtimestamp(b.index * self.resolution_s, UTC).isoformat(),
                **b.means(self.keys),
            }
            for b in merged.values()
        ]

    def events(self, start_utc: datetime, end_utc: datetime, limit: int = 200) -> list[dict[str, object]]:
        """The newest `limit` events in [start, end], oldest first."""
        low, high = _epoch(start_utc), _epoch(end_utc)
        chosen = [e.to_dict() for e in self._events if low <= _epoch(e.timestamp_utc) <= high]
        return chosen[-limit:] if limit > 0 else []

    @property
    def newest_utc(self) -> datetime | None:
        """The time of the newest bucket, if any."""
        if not self._buckets:
            return None
        return datetime.fromtimestamp(self._buckets[-1].index * self.resolution_s, UTC)

"""The recorder's counters."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RecorderStats:
    """Counters for tests, benchmarks and the health endpoint."""

    snapshots: int = 0
    samples_queued: int = 0
    samples_written: int = 0
    rows_written: int = 0
    batches_written: int = 0
    pending_rows: int = 0
    dropped_rows: int = 0
    write_failures: int = 0
    clock_jumps: int = 0
    rows_restamped: int = 0
    last_flush_monotonic_s: float | None = None
    degraded: bool = False
    stalled: bool = False
    rows_saved_at_stop: int = 0

"""The recorder sink: snapshots in, batched rows out, without ever blocking the control loop.

The event loop only turns snapshots into rows and queues them; a daemon thread does each database call,
bounded by `[history] timeout`. While the database cannot be written (disk full, server down, a server that
hangs) rows wait in a bounded buffer (the oldest full-rate samples are dropped first), the condition is
reported to the hub with the backlog's size, and the backlog is written as soon as the database answers
again. Stopping waits at most STOP_WRITE_S for the database; what is still unwritten then is kept in the
backlog file of the state directory and written by the next run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path

from controller.clock import Clock
from controller.command_bus import CommandBus
from controller.hub import Delivery, SnapshotHub
from controller.snapshot import AlertKind, Event, EventKind
from drivers.runtime import TaskOwner

from .backlog import FILE_NAME, keep_unwritten, load_backlog
from .config import HistorySection
from .database import Batch, HistoryStore, Repair, create_history_engine, redacted, resolve_url
from .guard import in_daemon_thread
from .reader import HistoryReader
from .rows import (
    MinuteAggregator,
    event_row,
    metric_values,
    sample_row,
    setting_changes,
    settings,
)
from .stats import RecorderStats
from .timeline import ClockJump, Timeline, jump_event, place

log = logging.getLogger(__name__)

MAX_BATCH_ROWS = 5_000
RETENTION_EVERY_S = 3600.0
RETENTION_SETTLE_S = 600.0
"""Retention waits this long after start or a clock step, so a wrong boot date never deletes history."""
URGENT_EVENTS = frozenset(
    {EventKind.ALERT_RAISED, EventKind.MODE_CHANGED, EventKind.STOPPING, EventKind.SHUTDOWN_ACTION}
)
"""Events that are written at once with everything pending, not at the end of the batch."""
STOP_WRITE_S = 2.5
"""How long stopping waits for the database to take what is pending (inside the service's sink flush bound)."""
CLOSE_WAIT_S = 0.5


class Recorder:
    """The history sink. `run(hub, commands)` records until the hub closes, then flushes and returns."""

    name = "history"

    def __init__(
        self,
        store: HistoryStore,
        controller_id: str,
        section: HistorySection,
        clock: Clock,
        url: str,
        backlog_path: Path | None = None,
    ) -> None:
        self.store = store
        self.controller_id = controller_id
        self.section = section
        self.clock = clock
        self.url_text = redacted(url)
        self.reader = HistoryReader(store.engine, section.timeout_s)
        self.stats = RecorderStats()
        self._ops: deque[Batch | Repair] = deque()
        self._in_flight: Batch | Repair | None = None
        self.backlog_path = backlog_path
        self._loaded: Batch | None = None
        self._backlog_checked = False
        self._pending = Batch()
        self._timeline = Timeline(section.clock_jump_threshold_s, section.clock_repair_window_s)
        self._aggregator = MinuteAggregator(controller_id)
        self._settings: dict[str, str | None] | None = None
        self._last_sample_s: float | None = None
        self._last_handover_s: float | None = None
        self._last_retention_s: float | None = None
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._stop = asyncio.Event()
        self._closing = False
        self._overflowing = False

    @property
    def backlog(self) -> int:
        """Operations (batches, repairs) queued for the database and not yet written."""
        return len(self._ops)

    async def drained(self) -> None:
        """Wait until everything handed to the writer is in the database."""
        await self._idle.wait()

    async def run(self, hub: SnapshotHub, commands: CommandBus) -> None:
        """Subscribe to every snapshot; write in batches; flush what is left when the hub closes."""
        self._closing = False
        self._stop.clear()
        self._load_backlog()
        subscription = hub.subscribe(self.name, coalesce=False, max_pending=self.section.buffer_rows)
        async with TaskOwner("history") as tasks:
            tasks.spawn(partial(self._write_loop, hub), "history-writer", propagate=True)
            try:
                async for delivery in subscription:
                    urgent = self._take(delivery)
                    if self._handover_due(delivery.snapshot.monotonic_s) or urgent:
                        self._hand_over(delivery.snapshot.monotonic_s, hub)
            finally:
                subscription.close()
                minute = self._aggregator.flush()
                if minute is not None:
                    self._pending.minutes.append(minute)
                self._hand_over(self._last_handover_s or 0.0, hub)
                self._closing = True
                self._wake.set()
                self._stop.set()
                try:
                    finished = await tasks.wait(STOP_WRITE_S)
                finally:
                    self._keep_unwritten()
                if finished:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(in_daemon_thread(self.store.close, "history-close"), CLOSE_WAIT_S)

    def _load_backlog(self) -> None:
        """Once per recorder (a supervised restart of `run` keeps the queue it has in memory)."""
        if self.backlog_path is None or self._backlog_checked:
            return
        self._backlog_checked = True
        loaded = load_backlog(self.backlog_path)
        if loaded is not None:
            log.info("history: %d rows left unwritten by the last run are queued first", len(loaded))
            self._loaded = loaded
            self._ops.appendleft(loaded)
            self._idle.clear()

    def _keep_unwritten(self) -> None:
        ops = ([self._in_flight] if self._in_flight is not None else []) + list(self._ops) + [self._pending]
        batches = [op for op in ops if isinstance(op, Batch)]
        self.stats.rows_saved_at_stop = keep_unwritten(self.backlog_path, batches, self.url_text)

    def _take(self, delivery: Delivery) -> bool:
        """Turn a delivery into pending rows; True when one of its events must be written at once."""
        snapshot = delivery.snapshot
        self.stats.snapshots += 1
        self.stats.dropped_rows += delivery.skipped
        self._timeline, record_utc, jump = place(self._timeline, snapshot.timestamp_utc, snapshot.monotonic_s)
        if jump is not None:
            self._on_jump(jump, snapshot.monotonic_s)
        for event in delivery.events:
            event_utc = self._event_time(event, record_utc, snapshot.timestamp_utc)
            self._pending.events.append(event_row(self.controller_id, event_utc, event))
        values = metric_values(snapshot)
        finished = self._aggregator.add(record_utc, snapshot.mode.value, values)
        if finished is not None:
            self._pending.minutes.append(finished)
        if (
            self._last_sample_s is None
            or snapshot.monotonic_s < self._last_sample_s
            or snapshot.monotonic_s - self._last_sample_s >= self.section.sample_interval_s - 1e-9
        ):
            self._pending.samples.append(sample_row(self.controller_id, record_utc, snapshot))
            self.stats.samples_queued += 1
            self._last_sample_s = snapshot.monotonic_s
        now_settings = settings(snapshot)
        self._pending.changes.extend(setting_changes(self.controller_id, record_utc, self._settings, now_settings))
        self._settings = now_settings
        return any(event.kind in URGENT_EVENTS for event in delivery.events)

    def _event_time(self, event: Event, record_utc: datetime, wall_utc: datetime) -> datetime:
        """An event's record time: its offset from the snapshot's wall time, applied to the record time."""
        offset = event.timestamp_utc - wall_utc
        if abs(offset.total_seconds()) > self.section.clock_jump_threshold_s:
            return record_utc
        return record_utc + offset

    def _on_jump(self, jump: ClockJump, monotonic_s: float) -> None:
        self.stats.clock_jumps += 1
        minute = self._aggregator.flush()
        if minute is not None:
            self._pending.minutes.append(minute)
        if jump.repair:
            self._ops.append(self._pending)
            self._pending = Batch()
            self._ops.append(Repair(jump.segment_start_utc, jump.segment_end_utc, jump.delta_s))
            self._idle.clear()
            self._wake.set()
        event = jump_event(jump)
        log.warning("%s", event.message)
        self._pending.events.append(event_row(self.controller_id, jump.wall_after_utc, event))
        self._last_retention_s = monotonic_s - RETENTION_EVERY_S + RETENTION_SETTLE_S

    def _handover_due(self, monotonic_s: float) -> bool:
        if len(self._pending) >= MAX_BATCH_ROWS:
            return True
        if self._last_handover_s is None or monotonic_s < self._last_handover_s:
            self._last_handover_s = monotonic_s
            return self.section.batch_interval_s <= 0
        return monotonic_s - self._last_handover_s >= self.section.batch_interval_s

    def _hand_over(self, monotonic_s: float, hub: SnapshotHub) -> None:
        """Queue the pending rows for the writer as one batch."""
        self._last_handover_s = monotonic_s
        if not len(self._pending):
            return
        if self._last_retention_s is None:
            self._last_retention_s = monotonic_s - RETENTION_EVERY_S + RETENTION_SETTLE_S
        if monotonic_s - self._last_retention_s >= RETENTION_EVERY_S:
            self._pending.retain_at = self._pending.newest_utc()
            self._last_retention_s = monotonic_s
        self._ops.append(self._pending)
        self._pending = Batch()
        self._idle.clear()
        self._bound(hub)
        if self.stats.degraded:
            self._report(hub)
        self._wake.set()

    def _queued_rows(self) -> int:
        return sum(len(op) for op in self._ops if isinstance(op, Batch))

    def _bound(self, hub: SnapshotHub) -> None:
        """Keep the buffer under `buffer_rows`: drop the oldest full-rate samples, then the oldest minutes."""
        excess = self._queued_rows() - self.section.buffer_rows
        if excess <= 0:
            self.stats.pending_rows = self._queued_rows()
            return
        for attribute in ("samples", "minutes", "events", "changes"):
            for op in self._ops:
                if excess <= 0:
                    break
                if isinstance(op, Batch):
                    rows = getattr(op, attribute)
                    cut = min(excess, len(rows))
                    del rows[:cut]
                    excess -= cut
                    self.stats.dropped_rows += cut
        self.stats.pending_rows = self._queued_rows()
        if not self._overflowing:
            self._overflowing = True
            log.warning(
                "history buffer full (%d rows): dropping the oldest samples until %s can be written",
                self.section.buffer_rows,
                self.url_text,
            )
        self._report(hub)

    def _report(self, hub: SnapshotHub) -> None:
        pending = self._queued_rows() + (len(self._in_flight) if isinstance(self._in_flight, Batch) else 0)
        if self.stats.stalled:
            state = f"does not answer (no reply within {self.section.timeout_s:g} s)"
        else:
            state = "cannot be written" if self.stats.degraded else "falls behind"
        message = f"history database {self.url_text} {state}: {pending} rows waiting" + (
            f", {self.stats.dropped_rows} dropped" if self.stats.dropped_rows else ""
        )
        hub.report(
            AlertKind.HISTORY_BACKLOG,
            True,
            message,
            {"pending_rows": float(pending), "dropped_rows": float(self.stats.dropped_rows)},
        )

    async def _write_loop(self, hub: SnapshotHub) -> None:
        while True:
            if not self.store.prepared and not await self._attempt(hub, None):
                if self._closing:
                    return
                await self._retry_wait()
                continue
            if not self._ops:
                self._idle.set()
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            op = self._next_op()
            if await self._attempt(hub, op):
                continue
            self._ops.appendleft(op)
            if self._closing:
                return
            await self._retry_wait()

    def _next_op(self) -> Batch | Repair:
        """The oldest queued operation; consecutive batches are merged so a backlog is caught up quickly."""
        op = self._ops.popleft()
        if isinstance(op, Repair):
            return op
        while self._ops and isinstance(self._ops[0], Batch) and len(op) + len(self._ops[0]) <= 4 * MAX_BATCH_ROWS:
            following = self._ops.popleft()
            assert isinstance(following, Batch)
            op.absorb(following)
        return op

    async def _attempt(self, hub: SnapshotHub, op: Batch | Repair | None) -> bool:
        """Prepare the database (op None) or apply one operation, on a daemon thread. A call without an answer
        within the timeout is reported at once (and ended by the statement guard soon after)."""
        self._in_flight = op
        try:
            await self._call(hub, self.store.prepare if op is None else partial(self._apply, op))
        except Exception as exc:  # every database or disk error means "not written yet"
            self._in_flight = None
            self.stats.stalled = False
            self.stats.write_failures += 1
            if not self.stats.degraded:
                self.stats.degraded = True
                log.error("history database %s unavailable: %s; buffering rows", self.url_text, exc)
            self._report(hub)
            return False
        self._in_flight = None
        self.stats.stalled = False
        if op is not None and op is self._loaded:
            self._loaded = None
            if self.backlog_path is not None:
                self.backlog_path.unlink(missing_ok=True)
        self.stats.pending_rows = self._queued_rows()
        if (self.stats.degraded or self._overflowing) and len(self._ops) <= 1:
            self.stats.degraded = False
            self._overflowing = False
            log.info("history database %s writable again; backlog written", self.url_text)
            hub.report(
                AlertKind.HISTORY_BACKLOG,
                False,
                f"history database {self.url_text} writable again",
                {"pending_rows": float(self._queued_rows()), "dropped_rows": float(self.stats.dropped_rows)},
            )
        return True

    async def _call(self, hub: SnapshotHub, work: Callable[[], None]) -> None:
        call = asyncio.ensure_future(in_daemon_thread(work, "history-db"))
        try:
            while not (await asyncio.wait({call}, timeout=self.section.timeout_s))[0]:
                if not self.stats.stalled:
                    log.error("history database %s does not answer; buffering rows", self.url_text)
                self.stats.stalled = self.stats.degraded = True
                self._report(hub)
        except asyncio.CancelledError:
            call.cancel()
            raise
        call.result()

    def _apply(self, op: Batch | Repair) -> None:
        """Runs in a worker thread."""
        if isinstance(op, Repair):
            self.stats.rows_restamped += self.store.repair(op)
            return
        self.store.write(op)
        newest = op.newest_utc()
        log.debug(
            "history batch written: %d rows, %d samples, newest %s",
            len(op),
            len(op.samples),
            newest.isoformat() if newest else "-",
        )
        self.stats.samples_written += len(op.samples)
        self.stats.rows_written += len(op)
        self.stats.batches_written += 1
        self.stats.last_flush_monotonic_s = self.clock.monotonic()
        if op.retain_at is not None:
            self.store.retain_and_log(op.retain_at)

    async def _retry_wait(self) -> None:
        """Wait the retry interval in real time (database outages happen in real time), or until closing."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=self.section.retry_interval_s)


def build_recorder(
    url: str | None, controller_id: str, section: HistorySection, clock: Clock, state_dir: str
) -> Recorder:
    """The recorder sink for a URL (None: the configured URL, else SQLite in `state_dir`).

    Nothing connects here; the database is opened and migrated when `run` starts. Rows still unwritten when
    it stops are kept in `state_dir`'s backlog file (when that directory exists).
    """
    resolved = resolve_url(url, section, state_dir)
    store = HistoryStore(create_history_engine(resolved, section.timeout_s), controller_id, section)
    directory = Path(state_dir)
    backlog = directory / FILE_NAME if directory.is_dir() else None
    return Recorder(store, controller_id, section, clock, resolved, backlog)

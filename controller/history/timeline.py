"""Record time that stays ordered when the wall clock jumps.

A Pi without a real-time clock boots with a wrong date and steps when NTP syncs. Record timestamps are
the wall time at an anchor plus the monotonic time elapsed since, so they never jump on their own; when
the wall clock disagrees with that by more than a threshold, the clock stepped: the newest wall clock is
trusted, the anchor moves, and the rows written since the previous anchor are shifted by the step (the
monotonic clock gave their spacing, the new wall clock gives their place).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from controller.snapshot import Event, EventKind, Severity


@dataclass(frozen=True, slots=True)
class ClockJump:
    """A step of the wall clock relative to the monotonic clock, and the segment it re-stamps."""

    delta_s: float
    wall_before_utc: datetime
    wall_after_utc: datetime
    segment_start_utc: datetime
    segment_end_utc: datetime
    repair: bool


@dataclass(frozen=True, slots=True)
class Timeline:
    """An anchor (wall, monotonic) and the first/last record times placed since it."""

    threshold_s: float
    repair_window_s: float
    anchor_utc: datetime | None = None
    anchor_monotonic_s: float = 0.0
    segment_start_utc: datetime | None = None
    last_utc: datetime | None = None


def place(timeline: Timeline, wall_utc: datetime, monotonic_s: float) -> tuple[Timeline, datetime, ClockJump | None]:
    """The record time of a snapshot taken at (wall, monotonic), the timeline after it, and a jump if one
    happened. A monotonic clock that went backwards (a new process or boot) simply re-anchors."""
    if timeline.anchor_utc is None or monotonic_s < timeline.anchor_monotonic_s:
        anchored = Timeline(timeline.threshold_s, timeline.repair_window_s, wall_utc, monotonic_s, wall_utc, wall_utc)
        return anchored, wall_utc, None
    predicted = timeline.anchor_utc + timedelta(seconds=monotonic_s - timeline.anchor_monotonic_s)
    delta_s = (wall_utc - predicted).total_seconds()
    if abs(delta_s) <= timeline.threshold_s:
        return (
            Timeline(
                timeline.threshold_s,
                timeline.repair_window_s,
                timeline.anchor_utc,
                timeline.anchor_monotonic_s,
                timeline.segment_start_utc or predicted,
                predicted,
            ),
            predicted,
            None,
        )
    segment_start = timeline.segment_start_utc or predicted
    segment_end = timeline.last_utc or predicted
    span_s = (segment_end - segment_start).total_seconds()
    jump = ClockJump(
        delta_s=delta_s,
        wall_before_utc=predicted,
        wall_after_utc=wall_utc,
        segment_start_utc=segment_start,
        segment_end_utc=segment_end,
        repair=span_s <= timeline.repair_window_s,
    )
    anchored = Timeline(timeline.threshold_s, timeline.repair_window_s, wall_utc, monotonic_s, wall_utc, wall_utc)
    return anchored, wall_utc, jump


def jump_event(jump: ClockJump) -> Event:
    """The `clock_jump` event that tells the user what a jump did to the history."""
    if jump.repair:
        outcome = "history recorded since then is re-stamped"
    else:
        outcome = "history recorded before it is left as it was (older than clock_repair_window)"
    message = (
        f"wall clock stepped by {jump.delta_s:+.0f} s (from {jump.wall_before_utc.isoformat()} "
        f"to {jump.wall_after_utc.isoformat()}); {outcome}"
    )
    start = jump.segment_start_utc + timedelta(seconds=jump.delta_s) if jump.repair else jump.segment_start_utc
    return Event(
        kind=EventKind.CLOCK_JUMP,
        message=message,
        timestamp_utc=jump.wall_after_utc,
        severity=Severity.WARNING,
        values={
            "delta_s": jump.delta_s,
            "wall_before_utc": jump.wall_before_utc.isoformat(),
            "wall_after_utc": jump.wall_after_utc.isoformat(),
            "segment_start_utc": start.isoformat(),
            "restamped": "yes" if jump.repair else "no",
        },
    )

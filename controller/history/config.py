"""The [history] section: where the history goes, how often it is written, and how long it is kept."""

from __future__ import annotations

from dataclasses import dataclass

from controller import units
from controller.config.reader import Table
from controller.redact import masked_url

DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class HistorySection:
    """How the recorder writes and keeps history.

    `batch_interval_s` is the time between commits (an SD card sees one write burst per batch; a power cut
    loses at most one batch, and an alert, a mode change or a stop is committed at once);
    `sample_interval_s` the spacing of full-rate rows (one-minute aggregates see every snapshot). The
    defaults keep SQLite under 1 MB/h of disk writes at 1 s ticks (`python -m bench.history`).
    `buffer_rows` bounds what is held in memory while the database cannot be written. `timeout_s` bounds every
    database call: connecting, each statement (PostgreSQL's statement and lock timeouts, SQLite's busy
    timeout) and each transaction as a whole (ended by the client when a server stops answering).
    """

    url: str | None = None
    batch_interval_s: float = 300.0
    sample_interval_s: float = 10.0
    raw_retention_s: float = 7 * DAY_S
    aggregate_retention_s: float = 365 * DAY_S
    event_retention_s: float = 365 * DAY_S
    buffer_rows: int = 20_000
    retry_interval_s: float = 10.0
    clock_jump_threshold_s: float = 5.0
    clock_repair_window_s: float = 6 * 3600.0
    timeout_s: float = 10.0


def parse_history(table: Table) -> HistorySection:
    """[history]"""
    url = table.optional_string("url")
    if url is not None:
        _check_url(table, url)
    raw_retention_s = table.quantity("retention_full_rate", units.DURATION, "7 days", low=3600.0, high=3650 * DAY_S)
    section = HistorySection(
        url=url,
        batch_interval_s=table.quantity("batch_interval", units.DURATION, "5 min", low=0.0, high=3600.0),
        sample_interval_s=table.quantity("sample_interval", units.DURATION, "10 s", low=0.0, high=3600.0),
        raw_retention_s=raw_retention_s,
        aggregate_retention_s=table.quantity(
            "retention_aggregates", units.DURATION, "365 days", low=raw_retention_s, high=36500 * DAY_S
        ),
        event_retention_s=table.quantity("retention_events", units.DURATION, "365 days", low=DAY_S, high=36500 * DAY_S),
        buffer_rows=table.integer("buffer_rows", 20_000, low=100, high=10_000_000),
        retry_interval_s=table.quantity("retry_interval", units.DURATION, "10 s", low=0.01, high=3600.0),
        clock_jump_threshold_s=table.quantity("clock_jump_threshold", units.DURATION, "5 s", low=0.5, high=3600.0),
        clock_repair_window_s=table.quantity("clock_repair_window", units.DURATION, "6 h", low=0.0, high=30 * DAY_S),
        timeout_s=table.quantity("timeout", units.DURATION, "10 s", low=1.0, high=600.0),
    )
    table.finish()
    return section


def _check_url(table: Table, url: str) -> None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    expected = 'an SQLAlchemy database URL such as "sqlite:////var/lib/cleanroom/history.sqlite3" or ' + (
        '"postgresql+psycopg://user@host/cleanroom"'
    )
    try:
        make_url(url)
    except ArgumentError as exc:
        raise table.error("url", masked_url(url), expected) from exc

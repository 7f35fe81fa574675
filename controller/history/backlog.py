"""The backlog file: rows the recorder could not write before it stopped, kept in the state directory and
written by the next run, so that stopping while the database hangs or is away loses nothing.

One JSON document: `{"version": 1, "samples": [...], "minutes": [...], "events": [...], "changes": [...]}`,
each row a JSON object whose times are tagged `{"utc": "<ISO 8601>"}`. Written to a temporary file and
renamed, so a crash while saving leaves the previous file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from datetime import datetime
from pathlib import Path

from .database import Batch
from .rows import Row

log = logging.getLogger(__name__)

FILE_NAME = "history-backlog.json"
_TABLES = ("samples", "minutes", "events", "changes")
_TIME = "utc"


def _encode(value: object) -> object:
    if isinstance(value, datetime):
        return {_TIME: value.isoformat()}
    return value


def _decode(value: object) -> object:
    if isinstance(value, dict) and set(value) == {_TIME} and isinstance(value[_TIME], str):
        return datetime.fromisoformat(value[_TIME])
    return value


def save_backlog(path: Path, batches: list[Batch]) -> int:
    """Write every row of `batches` to `path` (replacing it); how many rows were saved (0: file removed)."""
    document: dict[str, object] = {"version": 1}
    count = 0
    for table in _TABLES:
        rows = [{k: _encode(v) for k, v in row.items()} for batch in batches for row in getattr(batch, table)]
        document[table] = rows
        count += len(rows)
    if not count:
        path.unlink(missing_ok=True)
        return 0
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump(document, handle, separators=(",", ":"))
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)
    return count


def load_backlog(path: Path) -> Batch | None:
    """The rows a previous run left in `path`, as one batch; None when there is no usable file (an unreadable
    one is renamed aside with a warning, never deleted)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        batch = Batch()
        for table in _TABLES:
            rows: list[Row] = getattr(batch, table)
            rows.extend({str(k): _decode(v) for k, v in row.items()} for row in document.get(table, []))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        aside = path.with_name(path.name + ".unreadable")
        log.warning("history backlog %s cannot be read (%s); kept as %s", path, exc, aside)
        with contextlib.suppress(OSError):
            path.replace(aside)
        return None
    return batch if len(batch) else None


def keep_unwritten(path: Path | None, batches: list[Batch], url_text: str) -> int:
    """At stop: save what the database did not take to the backlog file, or say how much is lost without
    one; how many rows were saved."""
    rows = sum(len(batch) for batch in batches)
    if path is None:
        if rows:
            log.error("history database %s unavailable at shutdown: %d rows not written", url_text, rows)
        return 0
    try:
        saved = save_backlog(path, batches)
    except OSError as exc:
        log.error("history: %d unwritten rows could not be saved to %s: %s", rows, path, exc)
        return 0
    if saved:
        log.warning(
            "history database %s unavailable at shutdown: %d rows kept in %s for the next run", url_text, saved, path
        )
    return saved

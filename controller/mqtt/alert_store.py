"""Alerts the broker has not taken yet, kept in the state directory when the daemon stops, so that a
restart while the broker is away still delivers them."""

from __future__ import annotations

import base64
import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

FILE_NAME = "mqtt-pending-alerts.json"


def take_pending(path: Path) -> list[tuple[str, bytes]]:
    """The (topic, payload) pairs saved by the last run, oldest first; the file is removed once read."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        pending = [(str(row["topic"]), base64.b64decode(row["payload"])) for row in rows]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.error("cannot read the undelivered alerts in %s (%s); starting without them", path, exc)
        pending = []
    path.unlink(missing_ok=True)
    return pending


def save_pending(path: Path, pending: list[tuple[str, bytes]]) -> None:
    """Keep these (topic, payload) pairs for the next run (written whole, then renamed into place)."""
    if not pending:
        path.unlink(missing_ok=True)
        return
    rows = [{"topic": topic, "payload": base64.b64encode(payload).decode("ascii")} for topic, payload in pending]
    partial = path.with_suffix(".tmp")
    try:
        partial.write_text(json.dumps(rows), encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        log.error("cannot keep %d undelivered alerts in %s: %s", len(pending), path, exc)

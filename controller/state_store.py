"""The battery belief on disk: written rarely (SD cards wear) and atomically (tmp + fsync + rename), so a
power cut leaves either the old file or the new one, never half of one."""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from pathlib import Path

from controller.battery import BatteryState, from_record, to_record

log = logging.getLogger(__name__)


def save_battery(path: Path, state: BatteryState, now_utc: datetime) -> bool:
    """Write the belief; returns False (and logs once) when the disk refuses."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("w", encoding="utf-8") as handle:
            json.dump(to_record(state, now_utc), handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError as exc:
        log.warning("could not save the battery state to %s: %s", path, exc)
        return False
    return True


def load_battery(path: Path) -> BatteryState | None:
    """The belief saved before a restart, marked unsynchronised; None when there is none or it is unusable."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ignoring the unreadable battery state %s: %s", path, exc)
        return None
    try:
        if not isinstance(record, dict):
            raise ValueError("not a JSON object")
        state = from_record(record)
    except ValueError as exc:
        log.warning("ignoring the battery state %s: %s", path, exc)
        return None
    log.info("restored battery state from %s: %s %% (unsynchronised until the next full charge)", path, state.soc_pct)
    return state

"""Calibration files on disk: written atomically (a temporary file in the same folder, fsynced, then
renamed over the target), read with errors that name the file."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from controller.calibration.model import Calibration, from_dict, to_dict
from controller.errors import ConfigError


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` so that a reader sees the old or the new file, never half of one."""
    folder = path.resolve().parent
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def save(path: Path, calibration: Calibration) -> None:
    """Write a calibration file."""
    write_atomic(path, json.dumps(to_dict(calibration), indent=2) + "\n")


def load(path: Path) -> Calibration:
    """Read a calibration file (complete or partial)."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(
            source, "(file)", source, "an existing calibration file (from `cleanroom calibrate`)"
        ) from exc
    except OSError as exc:
        raise ConfigError(source, "(file)", source, f"a readable file ({exc.strerror})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(source, "(syntax)", str(exc), "valid JSON") from exc
    return from_dict(data, source)

"""Serial ports by stable names, and the one place that opens them with pyserial.

USB serial adapters get `/dev/ttyUSB<n>` in plug order, so the number changes when an adapter is
replugged or another one appears. udev also links every adapter under `/dev/serial/by-id/` with a name
made of its vendor, model and serial number, which stays put. A port given as such a link, or as a
glob pattern matched in that folder (`usb-VictronEnergy*`), is resolved again at every (re)connect, so
a renumbered adapter is found again.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any

from drivers.base import DeviceUnavailable

BY_ID = Path("/dev/serial/by-id")
_GLOB_CHARS = frozenset("*?[")


def available_ports(by_id_dir: Path = BY_ID) -> list[str]:
    """Stable names present now (for messages that tell the user what exists)."""
    try:
        return sorted(str(p) for p in by_id_dir.iterdir())
    except OSError:
        return []


def _hint(spec: str, by_id_dir: Path) -> str:
    present = available_ports(by_id_dir)
    listing = ", ".join(present) if present else f"nothing under {by_id_dir}"
    return (
        f"serial port {spec!r} not found; check that the adapter is plugged in and its cable seated "
        f"(present: {listing}; `ls -l {by_id_dir}` shows the stable names)"
    )


def resolve_port(spec: str, by_id_dir: Path = BY_ID) -> str:
    """The device path to open for `spec` now: a path, or a glob pattern (relative to by_id_dir).

    Raises DeviceUnavailable naming what to check when nothing matches or the pattern is ambiguous.
    """
    if _GLOB_CHARS & set(spec):
        pattern = spec if os.path.isabs(spec) else str(by_id_dir / spec)
        matches = sorted(glob.glob(pattern))
        if not matches:
            raise DeviceUnavailable(_hint(spec, by_id_dir))
        if len(matches) > 1:
            raise DeviceUnavailable(f"serial port pattern {spec!r} matches several adapters: {', '.join(matches)}")
        return matches[0]
    if spec.startswith(("socket://", "rfc2217://", "loop://")):
        return spec
    if not os.path.exists(spec):
        raise DeviceUnavailable(_hint(spec, by_id_dir))
    return spec


def open_serial(path: str, *, baudrate: int, bytesize: int = 8, parity: str = "N", stopbits: float = 1) -> Any:
    """Open a port with pyserial in non-blocking mode; OS errors become DeviceUnavailable."""
    import serial

    try:
        return serial.serial_for_url(
            path, baudrate=baudrate, bytesize=bytesize, parity=parity, stopbits=stopbits, timeout=0, exclusive=True
        )
    except (serial.SerialException, OSError, ValueError) as exc:
        if "exclusively lock" in str(exc):
            raise DeviceUnavailable(
                f"{path} is in use by another program (the cleanroom service? `sudo systemctl stop cleanroom` "
                "before probing or calibrating)"
            ) from exc
        raise DeviceUnavailable(f"cannot open {path}: {exc}; check permissions (group dialout) and the cable") from exc

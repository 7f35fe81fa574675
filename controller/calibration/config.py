"""[calibration]: `file = "calibration.json"` (relative to the configuration file) makes the measured fan
curve, room leakage and standing draw replace the configured [fan] curve, [room] leakage_c/leakage_n and
[power_path] controller_draw.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from controller.calibration.model import Calibration
from controller.calibration.store import load
from controller.config.plant import FanSection, RoomSection
from controller.config.reader import Table
from controller.errors import ConfigError
from controller.models.fan import FanCurve
from controller.models.power_path import PowerPath

ROOM_N_RANGE = (0.4, 1.0)


@dataclass(frozen=True, slots=True)
class CalibrationSection:
    """Which calibration the configuration uses and what it measured (None: no calibration)."""

    file: str | None = None
    measured_utc: str | None = None
    fan_curve: FanCurve | None = None
    room_c_cfm: float | None = None
    room_n: float | None = None
    baseline_w: float | None = None
    fan_power_stderr_w: tuple[float, ...] = ()
    """The standard error of each step's measured watts, in the sweep's order."""


NO_CALIBRATION = CalibrationSection()


def section_from(calibration: Calibration, source: str) -> CalibrationSection:
    """The section for a loaded calibration; an incomplete or implausible one is a ConfigError."""
    if not calibration.complete or calibration.room is None or calibration.baseline is None:
        raise ConfigError(
            source,
            "complete",
            False,
            "a complete calibration (this is a partial one: finish it with `cleanroom calibrate --resume`)",
        )
    low, high = ROOM_N_RANGE
    if not low <= calibration.room.n <= high:
        raise ConfigError(
            source,
            "room.n",
            round(calibration.room.n, 4),
            f"a leakage exponent from {low:g} to {high:g} (re-run the calibration)",
        )
    if not calibration.room.c_cfm > 0.0:
        raise ConfigError(source, "room.c_cfm", calibration.room.c_cfm, "a flow above 0 CFM at 1 Pa")
    return CalibrationSection(
        file=source,
        measured_utc=calibration.finished_utc,
        fan_curve=calibration.fan_curve(source),
        room_c_cfm=calibration.room.c_cfm,
        room_n=calibration.room.n,
        baseline_w=calibration.baseline.power_w,
        fan_power_stderr_w=tuple(s.power_stderr_w for s in sorted(calibration.steps, key=lambda s: s.index)),
    )


def parse_calibration(table: Table, base_dir: Path) -> CalibrationSection:
    """[calibration]"""
    raw = table.optional_string("file")
    table.finish()
    if raw is None:
        return NO_CALIBRATION
    path = (base_dir / raw).resolve()
    if not path.is_file():
        raise table.error("file", raw, f"a calibration file from `cleanroom calibrate` (looked for {path})")
    return section_from(load(path), str(path))


def apply_calibration(
    section: CalibrationSection, fan: FanSection, room: RoomSection, path: PowerPath
) -> tuple[FanSection, RoomSection, PowerPath]:
    """The fan, room and power path with the calibration's measurements in place of the configured ones.

    The baseline is everything the store feeds with the fan off; the path's own standing overhead is part
    of it, so the controller's draw becomes the rest, already including its converter's losses."""
    if section.fan_curve is None or section.room_c_cfm is None or section.room_n is None or section.baseline_w is None:
        return fan, room, path
    fan = replace(fan, curve=section.fan_curve, curve_source=f"{section.file} (measured {section.measured_utc})")
    room = RoomSection(leakage_c_cfm=section.room_c_cfm, leakage_n=section.room_n)
    path = path.with_controller(max(0.0, section.baseline_w - path.standing_w), 1.0)
    return fan, room, path

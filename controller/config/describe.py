"""Resolved configuration as plain data, with units, for `check-config` and the logs."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from datetime import datetime
from pathlib import PurePath

from controller.models.fan import FanCurve
from controller.redact import masked
from controller.units import format_duration

_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_cfm_per_w", "CFM/W"),
    ("_pct_per_s", "%/s"),
    ("_wh", "Wh"),
    ("_ah", "Ah"),
    ("_w", "W"),
    ("_v", "V"),
    ("_a", "A"),
    ("_pa", "Pa"),
    ("_cfm", "CFM"),
    ("_pct", "%"),
    ("_hz", "Hz"),
)


def _with_unit(name: str, value: object) -> tuple[str, object]:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    for suffix, unit in _SUFFIXES:
        if name.endswith(suffix) and number:
            return name, f"{value:g} {unit}"
        if name.endswith(suffix) and isinstance(value, tuple):
            return name, [f"{v:g} {unit}" for v in value]
    if name.endswith("_s") and isinstance(value, int | float) and number:
        return name, f"{value:g} s ({format_duration(value)})" if value >= 60 else f"{value:g} s"
    return name, value


def describe(value: object) -> object:
    """Dataclasses to dicts whose values carry the unit their field name ends with."""
    if isinstance(value, FanCurve):
        return {
            "kind": "continuous" if value.continuous else "discrete",
            "points": [
                {
                    "setting": p.setting,
                    "command": f"{p.command_pct:.4g} %",
                    "power": f"{p.power_w:g} W",
                    "flow": f"{p.flow_cfm:g} CFM",
                }
                for p in value.points
            ],
        }
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, object] = {}
        for field in dataclasses.fields(value):
            key, shown = _with_unit(field.name, getattr(value, field.name))
            out[key] = describe(shown)
        return out
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [describe(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): describe(v) for k, v in value.items()}
    if isinstance(value, PurePath):
        return str(value)
    return masked(value)

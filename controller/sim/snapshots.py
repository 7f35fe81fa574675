"""Plausible snapshots without a running loop, for the test rigs and the benchmarks.

`sample_snapshot` is the one place that lists every field of `Snapshot` with a value: a new field with a
default needs no edit anywhere, a new required field needs one edit here. Rigs change only the fields
their tests look at.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from controller.snapshot import Mode, Snapshot

SAMPLE_TIME_UTC = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
DISCHARGE_START_UTC = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)

_SAMPLE = Snapshot(
    controller_id="room1",
    timestamp_utc=SAMPLE_TIME_UTC,
    monotonic_s=0.0,
    mode=Mode.AUTO,
    voltage_v=13.15,
    current_a=-0.62,
    power_w=-8.15,
    soc_pct=83.2,
    consumed_ah=-16.8,
    soc_synced=True,
    soc_sync_age_s=3600.0,
    charging=False,
    energy_usable_wh=937.0,
    pressure_pa=7.4,
    pressure_raw_pa=7.61,
    pressure_floor_pa=5.0,
    pressure_setpoint_pa=8.0,
    fan_command_pct=42.0,
    fan_setting="3",
    fan_rpm=None,
    fan_power_w=7.6,
    flow_cfm=190.0,
    clean_air_ft3=11400.0,
    runtime_now_s=115.0 * 3600.0,
    runtime_plan_s=168.0 * 3600.0,
    plan_power_w=5.58,
    deadline_utc=SAMPLE_TIME_UTC + timedelta(days=7),
    deadline_met=True,
    shunt_status="ok",
    pressure_status="ok",
    fan_status="ok",
)


def sample_snapshot(**changes: Any) -> Snapshot:
    """One tick of a 100 Ah, 12.8 V battery running the reference fan at setting 3, with `changes` applied.

    `changes` are Snapshot fields by name (typed `Any` so that a rig can pass its own keyword arguments on).
    """
    return dataclasses.replace(_SAMPLE, **changes) if changes else _SAMPLE


def discharging_snapshot(
    controller_id: str, monotonic_s: float, wall_utc: datetime | None = None, **changes: Any
) -> Snapshot:
    """A discharging 100 Ah battery driving a fan at 40 %, with values that vary with time.

    Wall time defaults to DISCHARGE_START_UTC plus `monotonic_s`. The history tests and the history
    benchmark feed these to the recorder, so the varying values are what gets aggregated and stored.
    """
    wall = wall_utc if wall_utc is not None else DISCHARGE_START_UTC + timedelta(seconds=monotonic_s)
    consumed = 0.0015 * monotonic_s
    soc = max(0.0, 100.0 - consumed)
    power = 18.0 + 2.0 * math.sin(monotonic_s / 60.0)
    varying: dict[str, Any] = {
        "controller_id": controller_id,
        "timestamp_utc": wall,
        "monotonic_s": monotonic_s,
        "voltage_v": 13.2 - 0.001 * consumed,
        "current_a": -power / 13.2,
        "power_w": power,
        "soc_pct": soc,
        "consumed_ah": consumed,
        "soc_sync_age_s": monotonic_s,
        "energy_usable_wh": soc * 11.52,
        "pressure_pa": 6.0 + math.sin(monotonic_s / 10.0),
        "pressure_raw_pa": 6.0 + math.sin(monotonic_s / 3.0),
        "pressure_floor_pa": 2.5,
        "pressure_setpoint_pa": None,
        "fan_command_pct": 40.0,
        "fan_setting": None,
        "fan_rpm": 1800.0,
        "fan_power_w": power - 3.0,
        "flow_cfm": 150.0,
        "clean_air_ft3": 2.5 * monotonic_s,
        "runtime_now_s": soc * 11.52 / power * 3600.0,
        "runtime_plan_s": soc * 11.52 / 17.0 * 3600.0,
        "plan_power_w": 17.0,
        "deadline_utc": None,
        "deadline_met": None,
    }
    return sample_snapshot(**(varying | changes))

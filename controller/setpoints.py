"""What the user can change while the controller runs, and the pure rule for each command.

The deadline lives on the monotonic clock (an NTP step cannot move it); it is shown as wall time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from controller.battery import BatteryState, set_soc
from controller.commands import (
    SETTINGS_BY_NAME,
    Command,
    CommandLimits,
    CommandResult,
    SetDeadline,
    SetMode,
    SetPressureFloor,
    SetPressureSetpoint,
    SetSoc,
    SetSpeed,
    command_value,
    deadline_refusal,
)
from controller.snapshot import Mode


@dataclass(frozen=True, slots=True)
class Setpoints:
    """The mode, its targets, the deadline and the battery belief the user may correct."""

    mode: Mode
    manual_speed_pct: float
    setpoint_pa: float
    floor_pa: float
    deadline_mono_s: float | None
    battery: BatteryState

    def deadline_utc(self, now_s: float, now_utc: datetime) -> datetime | None:
        """The deadline as wall time."""
        if self.deadline_mono_s is None:
            return None
        return now_utc + timedelta(seconds=self.deadline_mono_s - now_s)


def apply_command(
    points: Setpoints, command: Command, now_s: float, now_utc: datetime, cap_pa: float
) -> tuple[Setpoints, CommandResult]:
    """The setpoints after a command, or unchanged with the reason it was refused (its range from the
    settings registry given the cap and the floor in force)."""
    numeric = command_value(command)
    if numeric is not None:
        refusal = SETTINGS_BY_NAME[numeric[0]].refusal(numeric[1], CommandLimits(cap_pa, points.floor_pa))
        if refusal is not None:
            return points, CommandResult(False, refusal)
    if isinstance(command, SetMode):
        return replace(points, mode=command.mode), CommandResult(True, f"mode set to {command.mode.value}")
    if isinstance(command, SetSpeed):
        changed = replace(points, manual_speed_pct=command.speed_pct, mode=Mode.MANUAL)
        return changed, CommandResult(True, f"manual speed {command.speed_pct:g} %")
    if isinstance(command, SetPressureSetpoint):
        return replace(points, setpoint_pa=command.pressure_pa), CommandResult(
            True, f"pressure setpoint {command.pressure_pa:g} Pa"
        )
    if isinstance(command, SetPressureFloor):
        changed = replace(
            points, floor_pa=command.pressure_pa, setpoint_pa=max(points.setpoint_pa, command.pressure_pa)
        )
        return changed, CommandResult(True, f"pressure floor {command.pressure_pa:g} Pa")
    if isinstance(command, SetDeadline):
        if command.in_s is None and command.deadline_utc is None:
            return replace(points, deadline_mono_s=None), CommandResult(True, "deadline cleared")
        if command.in_s is not None:
            seconds = command.in_s
        else:
            assert command.deadline_utc is not None
            refusal = deadline_refusal(command.deadline_utc, now_utc)
            if refusal is not None:
                return points, CommandResult(
                    False, f"deadline = {command.deadline_utc.isoformat()}: expected {refusal}"
                )
            seconds = (command.deadline_utc - now_utc).total_seconds()
        changed = replace(points, deadline_mono_s=now_s + seconds)
        return changed, CommandResult(True, f"deadline {changed.deadline_utc(now_s, now_utc)}")
    assert isinstance(command, SetSoc)
    changed = replace(points, battery=set_soc(points.battery, command.soc_pct, now_utc))
    return changed, CommandResult(True, f"state of charge set to {command.soc_pct:g} %")

"""[control]: the mode, the deadline, the pressure targets and how the loop behaves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from controller import units
from controller.commands import deadline_refusal
from controller.config.reader import Table
from controller.errors import ConfigError
from controller.snapshot import Mode


@dataclass(frozen=True, slots=True)
class ControlSection:
    """How the policy decides. Pressures in Pa, times in s, gains in CFM/Pa and CFM/(Pa s)."""

    mode: Mode
    deadline_in_s: float | None
    deadline_utc: datetime | None
    manual_speed_pct: float
    pressure_floor_pa: float
    pressure_setpoint_pa: float
    pressure_cap_pa: float
    priority: str
    replan_interval_s: float
    share_period_s: float
    pressure_filter_s: float
    deadband_pa: float
    pi_kp: float
    pi_ki: float
    door_drop_pa: float
    door_window_s: float
    door_hold_s: float
    power_correction_tau_s: float
    soc_points_pct: tuple[float, ...]
    stale_after_s: float
    shutdown_soc_pct: float
    shutdown_command: tuple[str, ...]
    state_save_interval_s: float


def _deadline(table: Table) -> tuple[float | None, datetime | None]:
    expected = 'a duration from start ("7 days"), an ISO 8601 time with a zone ("2026-12-01T18:00:00Z"), or "none"'
    raw = table.string("deadline", "none")
    if raw.strip().lower() == "none":
        return None, None
    if len(raw) > units.MAX_QUANTITY_CHARS:
        raise table.error("deadline", raw, expected)
    try:
        when = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return table.quantity("deadline", units.DURATION, low=60.0, high=366 * 86400.0), None
    if when.tzinfo is None:
        raise table.error("deadline", raw, expected)
    try:
        return None, when.astimezone(UTC)
    except OverflowError as exc:  # a zone offset that pushes year 1 or 9999 out of range
        raise table.error("deadline", raw, expected) from exc


def parse_control(table: Table) -> ControlSection:
    """[control]"""
    deadline_in_s, deadline_utc = _deadline(table)
    soc_points = []
    for index, item in enumerate(table.array("soc_points", ["50 %", "20 %", "10 %"])):
        sub = Table({"value": item}, table.source, f"{table.key_name('soc_points')}[{index}].")
        soc_points.append(sub.quantity("value", units.FRACTION, low=0.0, high=100.0))
    command = table.array("shutdown_command", [])
    if not all(isinstance(part, str) for part in command):
        raise table.error("shutdown_command", command, 'an argument list such as ["/usr/bin/systemctl", "poweroff"]')
    floor_pa = table.quantity("pressure_floor", units.PRESSURE, "5 Pa", low=0.0, high=100.0)
    section = ControlSection(
        mode=Mode(table.string("mode", "auto", choices=tuple(m.value for m in Mode))),
        deadline_in_s=deadline_in_s,
        deadline_utc=deadline_utc,
        manual_speed_pct=table.quantity("manual_speed", units.FRACTION, "50 %", low=0.0, high=100.0),
        pressure_floor_pa=floor_pa,
        pressure_setpoint_pa=table.quantity(
            "pressure_setpoint", units.PRESSURE, f"{max(8.0, floor_pa)} Pa", low=0.0, high=100.0
        ),
        pressure_cap_pa=table.quantity("pressure_cap", units.PRESSURE, "25 Pa", low=1.0, high=200.0),
        priority=table.string("priority", "pressure", choices=("pressure", "runtime")),
        replan_interval_s=table.quantity("replan_interval", units.DURATION, "5 min", low=10.0, high=86400.0),
        share_period_s=table.quantity("share_period", units.DURATION, "10 min", low=60.0, high=7200.0),
        pressure_filter_s=table.quantity("pressure_filter", units.DURATION, "15 s", low=0.0, high=600.0),
        deadband_pa=table.quantity("deadband", units.PRESSURE, "0.5 Pa", low=0.0, high=10.0),
        pi_kp=table.number("pi_kp", 2.0, low=0.0, high=100.0),
        pi_ki=table.number("pi_ki", 0.1, low=0.0, high=100.0),
        door_drop_pa=table.quantity("door_drop", units.PRESSURE, "3 Pa", low=0.5, high=100.0),
        door_window_s=table.quantity("door_window", units.DURATION, "5 s", low=1.0, high=120.0),
        door_hold_s=table.quantity("door_hold", units.DURATION, "2 min", low=0.0, high=3600.0),
        power_correction_tau_s=table.quantity(
            "power_correction_tau", units.DURATION, "6 h", low=60.0, high=30 * 86400.0
        ),
        soc_points_pct=tuple(soc_points),
        stale_after_s=table.quantity("stale_after", units.DURATION, "10 s", low=1.0, high=3600.0),
        shutdown_soc_pct=table.quantity("shutdown_soc", units.FRACTION, "2 %", low=0.0, high=50.0),
        shutdown_command=tuple(str(part) for part in command),
        state_save_interval_s=table.quantity("state_save_interval", units.DURATION, "1 h", low=60.0, high=86400.0),
    )
    table.finish()
    return section


def check_deadline_horizon(control: ControlSection, source: str, now_utc: datetime) -> None:
    """Refuse an absolute deadline further ahead than the longest allowed duration (a year typed wrong); a
    deadline already past is left to the daemon, which runs without one rather than not at all."""
    if control.deadline_utc is None or control.deadline_utc <= now_utc:
        return
    refusal = deadline_refusal(control.deadline_utc, now_utc)
    if refusal is not None:
        raise ConfigError(source, "control.deadline", control.deadline_utc.isoformat(), refusal)

"""The one immutable record the control loop produces per tick, and the alerts and events it carries.

Field names carry their unit and are the names MQTT state, the HTTP API and the history use.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta


class Mode(enum.StrEnum):
    """The control modes of the design page."""

    MANUAL = "manual"
    PRESSURE = "pressure"
    RUNTIME = "runtime"
    AUTO = "auto"
    ECO = "eco"


class Severity(enum.StrEnum):
    """How urgent an alert or event is."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertKind(enum.StrEnum):
    """Every alert the controller can raise; one active alert per kind at most."""

    BATTERY_LOW_SOC = "battery_low_soc"
    BATTERY_LOW_RUNTIME = "battery_low_runtime"
    DEADLINE_AT_RISK = "deadline_at_risk"
    PRESSURE_LOW = "pressure_low"
    PRESSURE_HIGH = "pressure_high"
    SHUNT_STALE = "shunt_stale"
    PRESSURE_SENSOR_STALE = "pressure_sensor_stale"
    FAN_FAULT = "fan_fault"
    FAN_STALLED = "fan_stalled"
    CHARGING = "charging"
    HISTORY_BACKLOG = "history_backlog"
    TIGHT_ROOM = "tight_room"
    FAN_UNVERIFIED = "fan_unverified"
    SOC_UNSYNCHRONISED = "soc_unsynchronised"
    CAPACITY_LOW = "capacity_low"
    BROKER_UNREACHABLE = "broker_unreachable"


@dataclass(frozen=True, slots=True)
class Alert:
    """An active alert: what, how bad, a message with the value and threshold, and when it was raised."""

    kind: AlertKind
    severity: Severity
    message: str
    raised_utc: datetime
    values: dict[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "kind": self.kind.value,
            "severity": self.severity.value,
            "message": self.message,
            "raised_utc": self.raised_utc.isoformat(),
            "values": dict(self.values),
        }


class EventKind(enum.StrEnum):
    """Things that happened once and are worth a record."""

    ALERT_RAISED = "alert_raised"
    ALERT_CLEARED = "alert_cleared"
    COMMAND_ACCEPTED = "command_accepted"
    COMMAND_REJECTED = "command_rejected"
    MODE_CHANGED = "mode_changed"
    PLAN_UPDATED = "plan_updated"
    DOOR_OPEN = "door_open"
    DEVICE_STATE = "device_state"
    SHUTDOWN_ACTION = "shutdown_action"
    STARTED = "started"
    STOPPING = "stopping"
    CLOCK_JUMP = "clock_jump"


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened, with the values behind it."""

    kind: EventKind
    message: str
    timestamp_utc: datetime
    severity: Severity = Severity.INFO
    alert_kind: AlertKind | None = None
    values: dict[str, float | str | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "kind": self.kind.value,
            "message": self.message,
            "timestamp_utc": self.timestamp_utc.isoformat(),
            "severity": self.severity.value,
            "alert_kind": self.alert_kind.value if self.alert_kind else None,
            "values": dict(self.values),
        }


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything known at one tick. None means unknown (not measured, stale, or not applicable)."""

    controller_id: str
    timestamp_utc: datetime
    monotonic_s: float
    mode: Mode
    voltage_v: float | None
    current_a: float | None
    power_w: float | None
    soc_pct: float | None
    consumed_ah: float | None
    soc_synced: bool
    soc_sync_age_s: float | None
    charging: bool
    energy_usable_wh: float | None
    pressure_pa: float | None
    pressure_raw_pa: float | None
    pressure_floor_pa: float | None
    pressure_setpoint_pa: float | None
    fan_command_pct: float
    fan_setting: str | None
    fan_rpm: float | None
    fan_power_w: float | None
    flow_cfm: float
    clean_air_ft3: float
    runtime_now_s: float | None
    runtime_plan_s: float | None
    plan_power_w: float | None
    deadline_utc: datetime | None
    deadline_met: bool | None
    shunt_status: str
    pressure_status: str
    fan_status: str
    time_to_soc_s: tuple[tuple[float, float | None], ...] = ()
    alerts: tuple[Alert, ...] = ()
    events: tuple[Event, ...] = ()
    reason: str = ""
    pressure_hold: str | None = None
    """Why pressure alarms are held (a door), or None when nothing holds them; `pressure_pa` is never held."""
    room_condition: str | None = None
    """What the pressure says about the room: normal, door, fan_off, fan_stopped, loss or unknown."""
    room_condition_reason: str = ""
    room_c_cfm: float | None = None
    """The learned leakage coefficient: CFM through the room's leaks at 1 Pa."""
    room_c_uncertainty_pct: float | None = None
    """One standard deviation of room_c_cfm in percent (None until enough steady readings)."""
    soc_estimate_pct: float | None = None
    """The battery estimator's state of charge (count and voltage fused) of the capacity in use."""
    energy_estimate_wh: float | None = None
    """The energy the battery holds above empty, by the estimator."""
    energy_uncertainty_wh: float | None = None
    """One standard deviation of energy_estimate_wh (never below the shunt's resolution)."""
    capacity_ah: float | None = None
    """The capacity in use: learned between a full and an empty synchronisation, or configured."""
    capacity_source: str | None = None
    """`learned` or `configured`."""
    capacity_learned_utc: datetime | None = None
    last_sync: str | None = None
    """The estimator's last synchronisation: `full` or `empty` (None: not since it started)."""
    last_sync_utc: datetime | None = None
    last_sync_age_s: float | None = None
    shunt_time_to_go_s: float | None = None
    """The battery monitor's own time to go: math.inf when it says infinite (TTG -1: not discharging), None
    when unknown (`---`, or a monitor that has none). JSON carries it as a number or null plus
    `shunt_time_to_go` ("finite", "infinite" or "unknown"), since JSON has no infinity."""

    def at(self, seconds: float | None) -> str | None:
        """The wall-clock time (ISO 8601 UTC) this many seconds after the snapshot."""
        if seconds is None or not math.isfinite(seconds) or seconds > 10 * 365 * 86400:
            return None
        return (self.timestamp_utc + timedelta(seconds=seconds)).isoformat()

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form: datetimes as ISO 8601 UTC, enums as their values."""
        out: dict[str, object] = {}
        for name in _SNAPSHOT_FIELDS:
            value = getattr(self, name)
            if isinstance(value, datetime):
                out[name] = value.isoformat()
            elif isinstance(value, enum.Enum):
                out[name] = value.value
            elif name == "alerts":
                out[name] = [a.to_dict() for a in value]
            elif name == "events":
                out[name] = [e.to_dict() for e in value]
            elif name == "time_to_soc_s":
                out[name] = {f"{pct:g}": seconds for pct, seconds in value}
            elif name == "shunt_time_to_go_s":
                out[name] = value if value is not None and math.isfinite(value) else None
                out["shunt_time_to_go"] = _time_to_go_kind(value)
            else:
                out[name] = value
        out["runtime_now_end_utc"] = self.at(self.runtime_now_s)
        out["runtime_plan_end_utc"] = self.at(self.runtime_plan_s)
        out["time_to_soc_utc"] = {f"{pct:g}": self.at(seconds) for pct, seconds in self.time_to_soc_s}
        return out


_SNAPSHOT_FIELDS = tuple(f.name for f in dataclasses.fields(Snapshot))
"""The snapshot's fields in order, read once (`dataclasses.fields` walks the class on every call, and the
live stream and MQTT encode a snapshot every tick)."""


def _time_to_go_kind(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    return "finite" if math.isfinite(seconds) else "infinite"

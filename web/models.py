"""The HTTP API's request and response schemas (pydantic, so that OpenAPI documents them)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Literal, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, create_model

from controller.commands import CommandName
from controller.snapshot import AlertKind, EventKind, Mode, Severity, Snapshot


class AlertModel(BaseModel):
    """An active alert."""

    kind: AlertKind
    severity: Severity
    message: str
    raised_utc: datetime
    values: dict[str, float | None]


class EventModel(BaseModel):
    """Something that happened once."""

    kind: EventKind
    message: str
    timestamp_utc: datetime
    severity: Severity
    alert_kind: AlertKind | None
    values: dict[str, float | str | None]


_STATE_DOC = """The newest snapshot of the control loop; every field of `Snapshot`, units in the names.

null means unknown (not measured, stale, or not applicable). Fields the loop adds later pass through.
"""

_DESCRIPTIONS = {
    "time_to_soc_s": "seconds until the state of charge reaches each %",
    "events": "events raised at this tick",
    "reason": "why the policy chose the current fan command",
    "pressure_hold": "why pressure alarms are held (a door), null when nothing holds them; pressure_pa is never held",
    "room_condition": "what the pressure says about the room: normal, door, fan_off, fan_stopped, loss or unknown",
    "room_condition_reason": "the room's condition in words (what holds the alarms, what stopped the fan)",
}

# Snapshot fields whose JSON form differs from their Python type (see Snapshot.to_dict).
_JSON_TYPES: dict[str, Any] = {
    "alerts": list[AlertModel],
    "events": list[EventModel],
    "time_to_soc_s": dict[str, float | None],
}

# Derived values that Snapshot.to_dict adds.
_DERIVED: dict[str, Any] = {
    "runtime_now_end_utc": (datetime | None, Field(None, description="when the battery runs out at this speed")),
    "runtime_plan_end_utc": (datetime | None, Field(None, description="when the battery runs out under the plan")),
    "time_to_soc_utc": (
        dict[str, datetime | None],
        Field(default_factory=dict, description="when the state of charge reaches each %"),
    ),
    "shunt_time_to_go": (
        Literal["finite", "infinite", "unknown"],
        Field(
            "unknown",
            description="the battery monitor's time to go: finite (in shunt_time_to_go_s), "
            "infinite (TTG -1: not discharging) or unknown (---)",
        ),
    ),
}


def _state_fields() -> dict[str, Any]:
    """One pydantic field per Snapshot field, so the schema can never drift from the snapshot."""
    hints = get_type_hints(Snapshot)
    fields: dict[str, Any] = {}
    for field in dataclasses.fields(Snapshot):
        annotation = _JSON_TYPES.get(field.name, hints[field.name])
        description = _DESCRIPTIONS.get(field.name)
        if field.default is not dataclasses.MISSING:
            default = Field(field.default, description=description)
        elif field.default_factory is not dataclasses.MISSING:
            default = Field(
                default_factory=list if field.name in _JSON_TYPES else field.default_factory, description=description
            )
        else:
            default = Field(..., description=description)
        fields[field.name] = (annotation, default)
    fields.update(_DERIVED)
    return fields


StateModel: type[BaseModel] = create_model(
    "StateModel", __config__=ConfigDict(extra="allow"), __doc__=_STATE_DOC, **_state_fields()
)


class MetricInfo(BaseModel):
    """How to label and round one published number (from controller.metrics.METRICS)."""

    key: str
    label: str
    unit: str | None = Field(description="Home Assistant's unit")
    symbol: str = Field(description="the unit as the dashboard shows it")
    device_class: str | None
    state_class: str | None
    precision: int
    recorded: bool
    thresholds: dict[Severity, float] = Field(
        default_factory=dict, description="set level of each alarm band that watches this metric, by severity"
    )


class BandInfo(BaseModel):
    """One severity of an alarm: where it sets and clears (configured values, or the input they follow)."""

    severity: Severity
    set_level: float | None
    clear_level: float | None
    follows: str | None = Field(None, description="the snapshot value the levels follow, e.g. pressure_floor_pa")


class AlarmInfo(BaseModel):
    """One row of the alarm catalogue, with its levels and delays from the configuration."""

    kind: AlertKind
    label: str
    device_class: str
    watches: str
    symbol: str | None
    bands: list[BandInfo]
    delay_s: float
    return_delay_s: float


class SettingInfo(BaseModel):
    """One row of the settable-feature registry, with its range given the configuration."""

    name: CommandName
    label: str
    expected: str
    symbol: str | None
    min: float | None
    max: float | None
    step: float | None
    options: list[str]
    state_field: str | None


class FanSettingInfo(BaseModel):
    """One setting of a discrete fan and the speed command that selects it."""

    setting: str
    command_pct: float


class MetaModel(BaseModel):
    """What the dashboard needs to render: who, which numbers, alarms, modes and commands."""

    controller_id: str
    version: str
    read_access: Literal["open", "token"]
    metrics: list[MetricInfo]
    modes: list[Mode]
    commands: list[CommandName]
    alarms: list[AlarmInfo] = Field(default_factory=list)
    settings: list[SettingInfo] = Field(default_factory=list)
    fan_settings: list[FanSettingInfo] = Field(
        default_factory=list, description="a discrete fan's settings, lowest first (empty for a PWM fan)"
    )
    token_command: str = Field(
        "cleanroom token", description="the shell command that prints the API token of this controller"
    )


class HealthModel(BaseModel):
    """Liveness of the API and freshness of the loop's data."""

    status: Literal["ok", "starting", "stopping"]
    controller_id: str
    snapshot_utc: datetime | None
    live_clients: int
    max_clients: int


class HistoryModel(BaseModel):
    """Samples over a range in columns: `timestamps_utc[i]` goes with `series[key][i]`."""

    controller_id: str
    source: Literal["database", "memory"]
    start_utc: datetime
    end_utc: datetime
    resolution_s: float
    timestamps_utc: list[datetime]
    series: dict[str, list[float | None]]


class EventsModel(BaseModel):
    """Events over a range, oldest first."""

    controller_id: str
    source: Literal["database", "memory"]
    start_utc: datetime
    end_utc: datetime
    events: list[EventModel]


class AlertsModel(BaseModel):
    """The alerts active at the newest snapshot."""

    controller_id: str
    timestamp_utc: datetime | None
    alerts: list[AlertModel]


class ModeRequest(BaseModel):
    """Switch the control mode."""

    mode: StrictStr = Field(
        description="one of manual, pressure, runtime, auto, eco",
        examples=["auto"],
        json_schema_extra={"enum": [m.value for m in Mode]},
    )


class CommandRequest(BaseModel):
    """One command value, in the same forms MQTT and the CLI accept."""

    value: StrictStr | StrictInt | StrictFloat | None = Field(
        description=(
            'mode: "auto"; speed: 40 or "40 %"; pressure_setpoint / pressure_floor: 5 or "5 Pa"; '
            'deadline: "2026-12-01T18:00:00Z", "7 days" or "none"; soc: 80'
        ),
        examples=["7 days"],
    )


class CommandResponse(BaseModel):
    """The control loop's answer."""

    command: CommandName
    accepted: bool
    message: str


class ProblemModel(BaseModel):
    """Why a request was refused: the field, the value given and what was expected."""

    message: str
    field: str | None = None
    value: str | None = None
    expected: str | None = None

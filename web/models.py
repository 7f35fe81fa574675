"""The HTTP API's request and response schemas (pydantic, so that OpenAPI documents them)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from controller.commands import CommandName
from controller.snapshot import AlertKind, EventKind, Mode, Severity


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


class StateModel(BaseModel):
    """The newest snapshot of the control loop; every field of `Snapshot`, units in the names.

    null means unknown (not measured, stale, or not applicable). Fields the loop adds later pass through.
    """

    model_config = ConfigDict(extra="allow")

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
    time_to_soc_s: dict[str, float | None] = Field(description="seconds until the state of charge reaches each %")
    alerts: list[AlertModel]
    events: list[EventModel] = Field(description="events raised at this tick")
    reason: str = Field("", description="why the policy chose the current fan command")
    runtime_now_end_utc: datetime | None = Field(None, description="when the battery runs out at this speed")
    runtime_plan_end_utc: datetime | None = Field(None, description="when the battery runs out under the plan")
    time_to_soc_utc: dict[str, datetime | None] = Field(
        default_factory=dict, description="when the state of charge reaches each %"
    )


class MetricInfo(BaseModel):
    """How to label and round one published number (from controller.metrics.METRICS)."""

    key: str
    label: str
    unit: str | None
    device_class: str | None
    state_class: str | None
    precision: int
    recorded: bool


class MetaModel(BaseModel):
    """What the dashboard needs to render: who, which numbers, which modes and commands."""

    controller_id: str
    version: str
    read_access: Literal["open", "token"]
    metrics: list[MetricInfo]
    modes: list[Mode]
    commands: list[CommandName]


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

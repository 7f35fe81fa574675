"""The alarm catalogue: one frozen row per alert kind.

Everything about alarms is derived from these rows: the `[alerts]` section (`controller.alarm_config`:
its keys, defaults and consistency checks), the checks the engine (`controller.alerts`) runs every
tick, the Home Assistant binary sensors and the dashboard's alert list. Adding an alarm is adding a
row (and, when it watches a new quantity, the `AlertInputs` field it reads).

It behaves like a room-pressure monitor (TSI PresSura, Setra FLEX) and a battery monitor (Victron):
every alarm has a set level and a clear level (hysteresis), an alarm delay (the condition must hold that
long before it is raised) and a return-to-normal delay (the recovery must hold that long before it is
cleared). Battery alarms latch per discharge.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from controller import units
from controller.snapshot import AlertKind, Severity


class Trips(enum.Enum):
    """How a row's watched input trips the alarm."""

    LOW = "low"
    """A quantity at (or below) its set level; cleared at or above the clear level."""
    HIGH = "high"
    """A quantity above (or at) its set level; cleared at or below the clear level."""
    FLAG = "flag"
    """A boolean input; cleared when it is false."""
    CONDITION = "condition"
    """A condition a sink or the step reports (the message is theirs; a band's set level names the
    `[alerts]` key the reporter judges by)."""


@dataclass(frozen=True, slots=True)
class Level:
    """A threshold: an `[alerts]` key, an input of the tick (the floor, the cap) or zero, plus a signed
    `[alerts]` margin. An input that is None (no floor) means the alarm does not apply this tick."""

    key: str | None = None
    input: str | None = None
    margin_key: str | None = None
    margin_sign: float = 1.0


ZERO = Level()


@dataclass(frozen=True, slots=True)
class Band:
    """One severity of an alarm and where it sets and clears (one alarm state machine each)."""

    severity: Severity
    set_level: Level = ZERO
    clear_level: Level = ZERO


@dataclass(frozen=True, slots=True)
class AlarmRow:
    """One alert kind: what it watches, how it trips, its bands, delays, messages and how it is shown.

    Message templates may use {value} (the watched quantity, or for a flag the quantity it `shows`),
    {set}, {clear}, {delay}, {return_delay}, {severity}, {detail} (the text input the row `details`) and,
    for conditions, {message}.

    `held_while` names a flag that defers the raising: while it is true the alarm is not raised, but its
    delay keeps counting, so a hold postpones an alarm by at most the hold's own length. `restarts_when`
    names a flag that starts the delay again (the hold ended because its cause went away).
    """

    kind: AlertKind
    label: str
    device_class: str
    watches: str
    trips: Trips
    bands: tuple[Band, ...]
    delay_key: str
    return_delay_key: str
    raise_message: str
    clear_message: str
    unit: units.Unit | None = None
    shows: str | None = None
    at_level: bool = False
    none_is_normal: bool = False
    held_while: str | None = None
    restarts_when: str | None = None
    details: str | None = None
    latching: bool = False
    rearms_latched: bool = False
    diagnostic: bool = False

    @property
    def keys(self) -> tuple[str, ...]:
        """Every `[alerts]` key the row reads."""
        levels = [lvl for band in self.bands for lvl in (band.set_level, band.clear_level)]
        named = [k for lvl in levels for k in (lvl.key, lvl.margin_key) if k is not None]
        return tuple(dict.fromkeys([self.delay_key, self.return_delay_key, *named]))


def _battery_low(kind: AlertKind, label: str, watches: str, what: str, stem: str, unit: units.Unit) -> AlarmRow:
    bands = tuple(
        Band(severity, Level(f"{stem}_{severity.value}"), Level(f"{stem}_{severity.value}_clear"))
        for severity in (Severity.WARNING, Severity.CRITICAL)
    )
    return AlarmRow(
        kind,
        label,
        "battery",
        watches,
        Trips.LOW,
        bands,
        "battery_delay",
        "battery_return_delay",
        f"Battery low ({{severity}}): {what} {{value}} is at or below the {{severity}} level {{set}} "
        "(clears at {clear})",
        f"Recovered: {what} {{value}} is back at or above the clear level {{clear}} ({{severity}} level {{set}})",
        unit=unit,
        at_level=True,
        latching=True,
    )


_FLOOR = "pressure_floor_pa"
_CAP = "pressure_cap_pa"
_MARGIN = "pressure_clear_margin"

ALARMS: tuple[AlarmRow, ...] = (
    _battery_low(AlertKind.BATTERY_LOW_SOC, "Battery low (charge)", "soc_pct", "state of charge", "soc", units.PERCENT),
    _battery_low(
        AlertKind.BATTERY_LOW_RUNTIME,
        "Battery low (runtime)",
        "runtime_left_s",
        "runtime left",
        "runtime",
        units.SECOND,
    ),
    AlarmRow(
        AlertKind.DEADLINE_AT_RISK,
        "Deadline at risk",
        "problem",
        "deadline_shortfall_s",
        Trips.HIGH,
        (Band(Severity.WARNING, Level(margin_key="deadline_margin"), ZERO),),
        "deadline_delay",
        "deadline_return_delay",
        "Deadline at risk: the plan runs out {value} before the deadline (alarm above {set})",
        "Recovered: the plan lasts until the deadline again (shortfall {value}, clears at {clear} or no deadline)",
        unit=units.SECOND,
        none_is_normal=True,
    ),
    AlarmRow(
        AlertKind.PRESSURE_LOW,
        "Room pressure low",
        "problem",
        "pressure_pa",
        Trips.LOW,
        (Band(Severity.CRITICAL, Level(input=_FLOOR), Level(input=_FLOOR, margin_key=_MARGIN)),),
        "pressure_low_delay",
        "pressure_return_delay",
        "Room pressure low: {value} is below the floor {set} for more than {delay} s (clears at {clear})",
        "Recovered: room pressure {value} is back at or above {clear} (floor {set})",
        unit=units.PASCAL,
        held_while="door_open",
        restarts_when="door_closed",
    ),
    AlarmRow(
        AlertKind.PRESSURE_HIGH,
        "Room pressure high",
        "problem",
        "pressure_pa",
        Trips.HIGH,
        (Band(Severity.WARNING, Level(input=_CAP), Level(input=_CAP, margin_key=_MARGIN, margin_sign=-1.0)),),
        "pressure_high_delay",
        "pressure_high_return_delay",
        "Room pressure high: {value} is above the cap {set} for more than {delay} s (clears at {clear})",
        "Recovered: room pressure {value} is back at or below {clear} (cap {set})",
        unit=units.PASCAL,
        held_while="door_open",
        restarts_when="door_closed",
    ),
    AlarmRow(
        AlertKind.SHUNT_STALE,
        "Battery shunt stale",
        "problem",
        "shunt_stale",
        Trips.FLAG,
        (Band(Severity.WARNING),),
        "sensor_stale_delay",
        "sensor_return_delay",
        "Battery shunt stale or failing: no valid reading for more than {delay} s; runtime falls back to a "
        "conservative estimate (last SoC {value})",
        "Recovered: battery shunt readings are back (SoC {value})",
        unit=units.PERCENT,
        shows="soc_pct",
        diagnostic=True,
    ),
    AlarmRow(
        AlertKind.PRESSURE_SENSOR_STALE,
        "Pressure sensor stale",
        "problem",
        "pressure_stale",
        Trips.FLAG,
        (Band(Severity.WARNING),),
        "sensor_stale_delay",
        "sensor_return_delay",
        "Pressure sensor stale or failing: no valid reading for more than {delay} s; the fan follows the "
        "learned room curve",
        "Recovered: pressure sensor readings are back ({value})",
        unit=units.PASCAL,
        shows="pressure_pa",
        diagnostic=True,
    ),
    AlarmRow(
        AlertKind.FAN_STALLED,
        "Fan stalled",
        "problem",
        "fan_stalled",
        Trips.FLAG,
        (Band(Severity.CRITICAL),),
        "fan_delay",
        "fan_return_delay",
        "Fan stalled: commanded but not turning for more than {delay} s; evidence: {detail}",
        "Recovered: the fan is turning again",
        details="fan_stall_evidence",
    ),
    AlarmRow(
        AlertKind.FAN_FAULT,
        "Fan fault",
        "problem",
        "fan_fault",
        Trips.FLAG,
        (Band(Severity.WARNING),),
        "fan_delay",
        "fan_return_delay",
        "Fan output failing: the fan driver reports a fault for more than {delay} s",
        "Recovered: the fan driver works again",
    ),
    AlarmRow(
        AlertKind.CHARGING,
        "Charging",
        "battery_charging",
        "charging",
        Trips.FLAG,
        (Band(Severity.INFO),),
        "charging_delay",
        "charging_return_delay",
        "Grid back: the battery is charging (SoC {value}) for more than {delay} s; battery alarms re-armed",
        "Charging stopped for more than {return_delay} s: running on battery (SoC {value})",
        unit=units.PERCENT,
        shows="soc_pct",
        rearms_latched=True,
    ),
    AlarmRow(
        AlertKind.TIGHT_ROOM,
        "Tight room",
        "problem",
        "conditions",
        Trips.CONDITION,
        (Band(Severity.INFO),),
        "deadline_delay",
        "deadline_return_delay",
        "Tight room: {message}",
        "Recovered: {message}",
    ),
    AlarmRow(
        AlertKind.SOC_UNSYNCHRONISED,
        "Battery charge unsynchronised",
        "problem",
        "conditions",
        Trips.CONDITION,
        (Band(Severity.WARNING, Level("sync_max_age")),),
        "sync_delay",
        "sync_return_delay",
        "Battery charge unsynchronised: {message}",
        "Recovered: {message}",
    ),
    AlarmRow(
        AlertKind.CAPACITY_LOW,
        "Battery capacity low",
        "battery",
        "conditions",
        Trips.CONDITION,
        (Band(Severity.WARNING, Level("capacity_low")),),
        "capacity_delay",
        "capacity_return_delay",
        "Battery capacity low: {message}",
        "Recovered: {message}",
    ),
    AlarmRow(
        AlertKind.HISTORY_BACKLOG,
        "History backlog",
        "problem",
        "conditions",
        Trips.CONDITION,
        (Band(Severity.WARNING),),
        "history_backlog_delay",
        "history_backlog_return_delay",
        "{message}",
        "Recovered: {message}",
        diagnostic=True,
    ),
    AlarmRow(
        AlertKind.BROKER_UNREACHABLE,
        "MQTT broker unreachable",
        "problem",
        "conditions",
        Trips.CONDITION,
        (Band(Severity.WARNING),),
        "broker_delay",
        "broker_return_delay",
        "{message}",
        "Recovered: {message}",
        diagnostic=True,
    ),
    AlarmRow(
        AlertKind.FAN_UNVERIFIED,
        "Fan unverified",
        "problem",
        "conditions",
        Trips.CONDITION,
        (Band(Severity.INFO),),
        "fan_delay",
        "fan_return_delay",
        "Fan unverified: {message}",
        "Recovered: {message}",
    ),
)
ALARMS_BY_KIND: dict[AlertKind, AlarmRow] = {row.kind: row for row in ALARMS}
REARM_MESSAGE = "Recovered: the battery is charging (SoC {value}); {kind} {severity} alarm cleared and re-armed"
BATTERY_KINDS = frozenset(row.kind for row in ALARMS if row.latching)
"""The latching (battery) alarms: their worst active level is the policy's battery level."""

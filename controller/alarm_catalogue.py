"""The alarm catalogue: one frozen row per alert kind, and the `[alerts]` keys its rows read.

Everything about alarms is derived from these rows: the `[alerts]` section (its keys, defaults and
consistency checks), the checks the engine (`controller.alerts`) runs every tick, the Home Assistant
binary sensors and the dashboard's alert list. Adding an alarm is adding a row (and, when it watches a
new quantity, the `AlertInputs` field it reads).

It behaves like a room-pressure monitor (TSI PresSura, Setra FLEX) and a battery monitor (Victron):
every alarm has a set level and a clear level (hysteresis), an alarm delay (the condition must hold that
long before it is raised) and a return-to-normal delay (the recovery must hold that long before it is
cleared). Battery alarms latch per discharge.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field

from controller import units
from controller.config.reader import Table
from controller.snapshot import AlertKind, Severity

_YEAR_S = 366 * 86400.0


@dataclass(frozen=True, slots=True)
class AlertKey:
    """One quantity key of `[alerts]`: its unit, default and the largest value it accepts."""

    key: str
    unit: units.Unit
    default: float
    high: float = _YEAR_S

    @property
    def name(self) -> str:
        """The key with its unit suffix, as the code names the value: `soc_warning_pct`."""
        return f"{self.key}_{self.unit.suffix}"


def _delays(stem: str, delay_s: float, return_delay_s: float, return_key: str | None = None) -> tuple[AlertKey, ...]:
    return (
        AlertKey(f"{stem}_delay", units.SECOND, delay_s),
        AlertKey(return_key or f"{stem}_return_delay", units.SECOND, return_delay_s),
    )


ALERT_KEYS: tuple[AlertKey, ...] = (
    AlertKey("soc_warning", units.PERCENT, 30.0, 100.0),
    AlertKey("soc_warning_clear", units.PERCENT, 35.0, 100.0),
    AlertKey("soc_critical", units.PERCENT, 15.0, 100.0),
    AlertKey("soc_critical_clear", units.PERCENT, 20.0, 100.0),
    AlertKey("runtime_warning", units.SECOND, 24 * 3600.0),
    AlertKey("runtime_warning_clear", units.SECOND, 27 * 3600.0),
    AlertKey("runtime_critical", units.SECOND, 6 * 3600.0),
    AlertKey("runtime_critical_clear", units.SECOND, 7 * 3600.0),
    *_delays("battery", 30.0, 60.0),
    *_delays("deadline", 120.0, 300.0),
    AlertKey("deadline_clear_margin", units.SECOND, 1800.0),
    *_delays("pressure_low", 60.0, 30.0, return_key="pressure_return_delay"),
    *_delays("pressure_high", 60.0, 30.0),
    AlertKey("pressure_clear_margin", units.PASCAL, 0.5, 100.0),
    *_delays("sensor_stale", 10.0, 10.0, return_key="sensor_return_delay"),
    *_delays("fan", 15.0, 15.0),
    *_delays("charging", 30.0, 60.0),
    *_delays("history_backlog", 0.0, 0.0),
)
ALERT_KEYS_BY_KEY: dict[str, AlertKey] = {k.key: k for k in ALERT_KEYS}
LATCH_KEY = "latch_battery"


def _default_levels() -> dict[str, float]:
    return {k.name: k.default for k in ALERT_KEYS}


@dataclass(frozen=True, slots=True)
class AlertsSection:
    """The `[alerts]` configuration: every key of ALERT_KEYS by its suffixed name, and battery latching.

    `section.soc_warning_pct` reads a level by its suffixed name; `section.value("soc_warning")` by key.
    """

    levels: Mapping[str, float] = field(default_factory=_default_levels)
    latch_battery: bool = True

    def with_levels(self, **levels: float) -> AlertsSection:
        """A copy with some levels changed, by suffixed name: `with_levels(battery_delay_s=2.0)`."""
        unknown = set(levels) - set(self.levels)
        if unknown:
            raise TypeError(f"unknown [alerts] levels {sorted(unknown)}")
        return AlertsSection({**self.levels, **levels}, self.latch_battery)

    def value(self, key: str) -> float:
        """The value of one `[alerts]` key, in the key's internal unit."""
        return self.levels[ALERT_KEYS_BY_KEY[key].name]

    def __getattr__(self, name: str) -> float:
        try:
            return object.__getattribute__(self, "levels")[name]  # type: ignore[no-any-return]
        except KeyError:
            raise AttributeError(name) from None


class Trips(enum.Enum):
    """How a row's watched input trips the alarm."""

    LOW = "low"
    """A quantity at (or below) its set level; cleared at or above the clear level."""
    HIGH = "high"
    """A quantity above (or at) its set level; cleared at or below the clear level."""
    FLAG = "flag"
    """A boolean input; cleared when it is false."""
    CONDITION = "condition"
    """A condition a sink reports (the message is the sink's)."""


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
    {set}, {clear}, {delay}, {return_delay}, {severity} and, for conditions, {message}.
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
        (Band(Severity.WARNING, ZERO, Level(margin_key="deadline_clear_margin", margin_sign=-1.0)),),
        "deadline_delay",
        "deadline_return_delay",
        "Deadline at risk: even at the pressure floor the battery runs out {value} before the deadline "
        "(shortfall {value} > 0 s)",
        "Recovered: the deadline is reachable again (shortfall {value}, clears at {clear} or no deadline)",
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
        "Fan stalled: commanded but not turning for more than {delay} s",
        "Recovered: the fan is turning again",
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
)
ALARMS_BY_KIND: dict[AlertKind, AlarmRow] = {row.kind: row for row in ALARMS}
REARM_MESSAGE = "Recovered: the battery is charging (SoC {value}); {kind} {severity} alarm cleared and re-armed"
BATTERY_KINDS = frozenset(row.kind for row in ALARMS if row.latching)
"""The latching (battery) alarms: their worst active level is the policy's battery level."""


def parse_alerts(table: Table) -> AlertsSection:
    """Read the `[alerts]` section; every key is optional and defaults to its ALERT_KEYS row."""
    levels = {
        k.name: table.quantity(k.key, k.unit.kind, f"{k.default:g} {k.unit.symbol}", low=0.0, high=k.high)
        for k in ALERT_KEYS
    }
    section = AlertsSection(levels, table.boolean(LATCH_KEY, True))
    table.finish()
    _check_levels(table, section)
    return section


def _shown(key: str, value: float) -> str:
    return f"{value:g} {ALERT_KEYS_BY_KEY[key].unit.symbol}"


def _check_levels(table: Table, section: AlertsSection) -> None:
    """Every configured band clears on the safe side of where it sets, and a more severe band of a row
    sets beyond the less severe one."""
    for row in ALARMS:
        sign = 1.0 if row.trips is Trips.LOW else -1.0
        keyed = [b for b in row.bands if b.set_level.key is not None and b.clear_level.key is not None]
        for band in keyed:
            set_key, clear_key = band.set_level.key, band.clear_level.key
            assert set_key is not None
            assert clear_key is not None
            set_value, clear_value = section.value(set_key), section.value(clear_key)
            if sign * (clear_value - set_value) <= 0:
                side = "above" if sign > 0 else "below"
                raise table.error(
                    clear_key,
                    _shown(clear_key, clear_value),
                    f"a clear level {side} {set_key} ({_shown(set_key, set_value)})",
                )
        for milder, worse in itertools.pairwise(keyed):
            milder_key, worse_key = milder.set_level.key, worse.set_level.key
            assert milder_key is not None
            assert worse_key is not None
            if sign * (section.value(milder_key) - section.value(worse_key)) <= 0:
                side = "below" if sign > 0 else "above"
                raise table.error(
                    worse_key,
                    _shown(worse_key, section.value(worse_key)),
                    f"a level {side} {milder_key} ({_shown(milder_key, section.value(milder_key))})",
                )

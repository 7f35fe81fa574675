"""The alert engine: a pure state machine from this tick's inputs and the previous state to the active
alerts and the events that announce their raising and clearing.

What each alarm watches, its levels, delays, latching and messages are rows of
`controller.alarm_catalogue.ALARMS`; this module only runs them. Each band of a row is one state
machine: raised once its condition has held for the alarm delay, cleared once the recovery has held for
the return-to-normal delay, and (for latching rows) not raised again until charging has been confirmed.
Every message names the value and the threshold; every clear is announced with a recovery message.

No I/O, no clock: the loop passes `now_utc` and `monotonic_s` in.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from controller import units
from controller.alarm_catalogue import ALARMS, BATTERY_KINDS, REARM_MESSAGE, AlarmRow, Band, Level, Trips
from controller.alarm_config import AlertsSection, parse_alerts
from controller.condition import Condition
from controller.snapshot import Alert, AlertKind, Event, EventKind, Severity

__all__ = ["AlarmState", "AlertInputs", "AlertState", "AlertUpdate", "AlertsSection", "parse_alerts", "update_alerts"]

BatteryLevel = Literal["normal", "warning", "critical"]


@dataclass(frozen=True, slots=True)
class AlertInputs:
    """What the loop knows this tick. None means unknown (stale, not measured, or not applicable)."""

    now_utc: datetime
    monotonic_s: float
    soc_pct: float | None
    runtime_left_s: float | None
    charging: bool
    deadline_shortfall_s: float | None
    pressure_pa: float | None
    pressure_floor_pa: float | None
    pressure_cap_pa: float | None
    door_open: bool
    """A door hold is in force: pressure alarms are deferred (their delays keep counting)."""
    shunt_stale: bool
    pressure_stale: bool
    fan_stalled: bool
    fan_fault: bool
    conditions: tuple[Condition, ...] = ()
    door_closed: bool = False
    """A door hold ended this tick because the pressure returned: pressure alarm delays start again."""
    fan_stall_evidence: str | None = None
    """What says the fan is stalled (tachometer, power signature or pressure), in words."""


@dataclass(frozen=True, slots=True)
class AlarmState:
    """One alarm: whether it is active, latched, and since when its condition (or recovery) has held."""

    active: Alert | None = None
    armed: bool = True
    tripped_since_s: float | None = None
    recovered_since_s: float | None = None


_IDLE = AlarmState()
_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}
_REARMING = frozenset(row.kind for row in ALARMS if row.rearms_latched)
_ORDER = tuple(sorted(ALARMS, key=lambda row: not row.rearms_latched))
"""Rows that re-arm latched alarms (charging) run first, so that the latched ones see this tick's answer."""
_QUANTITIES = frozenset(
    name
    for row in ALARMS
    for name in (
        row.watches if row.trips in (Trips.LOW, Trips.HIGH) else None,
        row.shows,
        *(level.input for band in row.bands for level in (band.set_level, band.clear_level)),
    )
    if name is not None
)
"""The numeric inputs the rows read (NaN in any of them means unknown)."""


@dataclass(frozen=True, slots=True)
class AlertState:
    """Everything the engine remembers between ticks, by alarm id (`kind:severity`). Start with `AlertState()`."""

    alarms: Mapping[str, AlarmState] = field(default_factory=dict)

    def alarm(self, alarm_id: str) -> AlarmState:
        """The state of one alarm (idle and armed when never seen)."""
        return self.alarms.get(alarm_id, _IDLE)

    def of(self, kind: AlertKind, severity: Severity) -> AlarmState:
        """The state of one band of an alarm row: `of(AlertKind.BATTERY_LOW_SOC, Severity.CRITICAL)`."""
        return self.alarm(alarm_id(kind, severity))

    def _worst(self, kinds: frozenset[AlertKind]) -> Severity | None:
        active = [a.active for a in self.alarms.values() if a.active is not None and a.active.kind in kinds]
        return max((a.severity for a in active), key=_SEVERITY_RANK.__getitem__, default=None)

    @property
    def battery_level(self) -> BatteryLevel:
        """The worst active battery alarm, on state of charge or on runtime left: for the policy."""
        worst = self._worst(BATTERY_KINDS)
        if worst is Severity.CRITICAL:
            return "critical"
        return "warning" if worst is Severity.WARNING else "normal"

    @property
    def charging_confirmed(self) -> bool:
        """Charging has been seen for longer than the charging delay (this re-arms battery alarms)."""
        return self._worst(_REARMING) is not None


@dataclass(frozen=True, slots=True)
class AlertUpdate:
    """The engine's answer for one tick."""

    state: AlertState
    active: tuple[Alert, ...]
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class _Check:
    """One alarm's reading this tick.

    `tripped`/`recovered`: the condition is beyond the set level / back beyond the clear level; None
    when the value is unknown, which holds the alarm as it is and restarts both delays.
    """

    alarm_id: str
    kind: AlertKind
    severity: Severity
    tripped: bool | None
    recovered: bool | None
    delay_s: float
    return_delay_s: float
    raise_template: str
    clear_template: str
    words: Callable[[], dict[str, str]]
    """The words the templates take, formatted only when a message is wanted (a raise, a clear, a live
    alarm's update), not for every band every tick."""
    values: dict[str, float | None]
    latching: bool = False
    deferred: bool = False
    """Held: the delay counts, but the alarm is not raised yet."""
    live: bool = False
    """A sink's condition: while active, the alert's message and values follow the newest report."""

    @property
    def raise_message(self) -> str:
        """The message of the alert this check raises."""
        return self.raise_template.format(**self.words())

    @property
    def clear_message(self) -> str:
        """The message of the event that clears it."""
        return self.clear_template.format(**self.words())


@functools.cache
def alarm_id(kind: AlertKind, severity: Severity) -> str:
    """The state machine of one band (severity) of an alarm row."""
    return f"{kind.value}:{severity.value}"


def _level(level: Level, inputs: AlertInputs, config: AlertsSection) -> float | None:
    base = 0.0
    if level.key is not None:
        base = config.value(level.key)
    elif level.input is not None:
        given: float | None = getattr(inputs, level.input)
        if given is None:
            return None
        base = given
    if level.margin_key is not None:
        base += level.margin_sign * config.value(level.margin_key)
    return base


def _trips(
    row: AlarmRow, value: float | None, set_at: float | None, clear_at: float | None
) -> tuple[bool | None, bool | None]:
    """(tripped, recovered) of a LOW or HIGH row; (None, None) when the value is unknown."""
    if set_at is None or clear_at is None or (value is None and row.none_is_normal):
        return False, True
    if value is None:
        return None, None
    if row.trips is Trips.LOW:
        return (value <= set_at if row.at_level else value < set_at), value >= clear_at
    return (value >= set_at if row.at_level else value > set_at), value <= clear_at


def _show(value: float | None, unit: units.Unit | None, unknown: str = "unknown") -> str:
    if value is None:
        return unknown
    return units.show(value, unit) if unit is not None else f"{value:g}"


def _check(row: AlarmRow, band: Band, inputs: AlertInputs, config: AlertsSection) -> _Check:
    """Read one band of a LOW, HIGH or FLAG row from this tick's inputs."""
    delay_s, return_delay_s = config.value(row.delay_key), config.value(row.return_delay_key)
    values: dict[str, float | None]
    tripped: bool | None
    recovered: bool | None
    if row.trips is Trips.FLAG:
        on = bool(getattr(inputs, row.watches))
        tripped, recovered = on, not on
        value = getattr(inputs, row.shows) if row.shows is not None else None
        set_at = clear_at = None
        values = {"value": value if row.shows is not None else float(on), "threshold": delay_s}
    else:
        value = getattr(inputs, row.watches)
        set_at = _level(band.set_level, inputs, config)
        clear_at = _level(band.clear_level, inputs, config)
        tripped, recovered = _trips(row, value, set_at, clear_at)
        values = {"value": value, "threshold": set_at, "clear_level": clear_at}
    if tripped and row.restarts_when is not None and getattr(inputs, row.restarts_when):
        tripped = False
    detail = getattr(inputs, row.details) if row.details is not None else None

    def words() -> dict[str, str]:
        return {
            "value": _show(value, row.unit, "none" if row.none_is_normal else "unknown"),
            "set": _show(set_at, row.unit, "none"),
            "clear": _show(clear_at, row.unit, "none"),
            "delay": f"{delay_s:g}",
            "return_delay": f"{return_delay_s:g}",
            "severity": band.severity.value,
            "detail": detail or "none given",
        }

    return _Check(
        alarm_id(row.kind, band.severity),
        row.kind,
        band.severity,
        tripped,
        recovered,
        delay_s,
        return_delay_s,
        row.raise_message,
        row.clear_message,
        words,
        values,
        row.latching and config.latch_battery,
        row.held_while is not None and bool(getattr(inputs, row.held_while)),
    )


def _condition_check(row: AlarmRow, band: Band, condition: Condition, config: AlertsSection) -> _Check:
    """A sink's report on a CONDITION row: its message, its values."""
    values = {"value": 1.0 if condition.active else 0.0, **condition.values}

    def words() -> dict[str, str]:
        return {"message": condition.message}

    return _Check(
        alarm_id(row.kind, band.severity),
        row.kind,
        band.severity,
        condition.active,
        not condition.active,
        config.value(row.delay_key),
        config.value(row.return_delay_key),
        row.raise_message,
        row.clear_message,
        words,
        values,
        live=True,
    )


def _checks(inputs: AlertInputs, config: AlertsSection) -> list[_Check]:
    """Every band of every row this tick, rows that re-arm latched alarms first."""
    checks: list[_Check] = []
    for row in _ORDER:
        for band in row.bands:
            if row.trips is not Trips.CONDITION:
                checks.append(_check(row, band, inputs, config))
                continue
            checks += [_condition_check(row, band, c, config) for c in inputs.conditions if c.kind is row.kind]
    return checks


def _idle(state: AlarmState) -> AlarmState:
    """The alarm with both delays reset (the same object when they already are: most alarms, most ticks)."""
    if state.tripped_since_s is None and state.recovered_since_s is None:
        return state
    return replace(state, tripped_since_s=None, recovered_since_s=None)


def _step(state: AlarmState, check: _Check, now_s: float, now_utc: datetime) -> tuple[AlarmState, Event | None]:
    """Advance one alarm by one tick; return its new state and the event it produced, if any."""
    if check.tripped is None or check.recovered is None:
        return _idle(state), None
    if state.active is None:
        if not (check.tripped and state.armed):
            return _idle(state), None
        since = now_s if state.tripped_since_s is None else state.tripped_since_s
        if now_s - since < check.delay_s or check.deferred:
            return replace(state, tripped_since_s=since), None
        alert = Alert(check.kind, check.severity, check.raise_message, now_utc, dict(check.values))
        event = Event(
            EventKind.ALERT_RAISED, check.raise_message, now_utc, check.severity, check.kind, dict(check.values)
        )
        return AlarmState(alert, not check.latching, None, None), event
    if not check.recovered:
        held = state if state.recovered_since_s is None else replace(state, recovered_since_s=None)
        alert = state.active
        if check.live and (alert.message, alert.values) != (check.raise_message, check.values):
            held = replace(held, active=replace(alert, message=check.raise_message, values=dict(check.values)))
        return held, None
    since = now_s if state.recovered_since_s is None else state.recovered_since_s
    if now_s - since < check.return_delay_s:
        return replace(state, recovered_since_s=since), None
    return AlarmState(None, state.armed, None, None), _cleared(check, state.active, check.clear_message, now_utc)


def _cleared(check: _Check, alert: Alert, message: str, now_utc: datetime) -> Event:
    values: dict[str, float | str | None] = dict(check.values)
    values["active_s"] = (now_utc - alert.raised_utc).total_seconds()
    return Event(EventKind.ALERT_CLEARED, message, now_utc, Severity.INFO, check.kind, values)


def _rearm(
    state: AlarmState, check: _Check, soc_pct: float | None, now_utc: datetime
) -> tuple[AlarmState, Event | None]:
    """Charging confirmed: a latching alarm is cleared (with a recovery message) and armed again."""
    if state.active is None:
        return AlarmState(), None
    message = REARM_MESSAGE.format(
        value=_show(soc_pct, units.PERCENT), kind=check.kind.value, severity=check.severity.value
    )
    return AlarmState(), _cleared(check, state.active, message, now_utc)


def update_alerts(state: AlertState, inputs: AlertInputs, config: AlertsSection) -> AlertUpdate:
    """One tick of the engine: which alerts are active now and what was raised or cleared."""
    inputs = _without_nan(inputs)
    alarms: dict[str, AlarmState] = dict(state.alarms)
    events: list[Event] = []
    now_s, now_utc = inputs.monotonic_s, inputs.now_utc
    rearming = False
    for check in _checks(inputs, config):
        previous = state.alarm(check.alarm_id)
        if check.kind in BATTERY_KINDS and rearming:
            alarms[check.alarm_id], event = _rearm(previous, check, inputs.soc_pct, now_utc)
        else:
            alarms[check.alarm_id], event = _step(previous, check, now_s, now_utc)
        if check.kind in _REARMING and alarms[check.alarm_id].active is not None:
            rearming = True
        if event is not None:
            events.append(event)
    new_state = AlertState(alarms)
    return AlertUpdate(new_state, _active(new_state), tuple(events))


def _without_nan(inputs: AlertInputs) -> AlertInputs:
    """NaN means unknown (infinity is meaningful: a runtime of +inf while nothing is drawn)."""
    changes = {name: None for name in _QUANTITIES if (v := getattr(inputs, name)) is not None and math.isnan(v)}
    return replace(inputs, **changes) if changes else inputs  # type: ignore[arg-type]


def _active(state: AlertState) -> tuple[Alert, ...]:
    """One alert per kind (the most severe of its levels), most severe first, then oldest first."""
    best: dict[AlertKind, Alert] = {}
    for alarm in state.alarms.values():
        alert = alarm.active
        if alert is None:
            continue
        current = best.get(alert.kind)
        if current is None or _SEVERITY_RANK[alert.severity] > _SEVERITY_RANK[current.severity]:
            best[alert.kind] = alert
    return tuple(sorted(best.values(), key=lambda a: (-_SEVERITY_RANK[a.severity], a.raised_utc, a.kind.value)))

"""The alert engine: a pure function from this tick's inputs and the previous state to the active alerts
and the events that announce their raising and clearing.

It behaves like a room-pressure monitor (TSI PresSura, Setra FLEX) and a battery monitor (Victron):
every alarm has a set level and a clear level (hysteresis), an alarm delay (the condition must hold that
long before it is raised), and a return-to-normal delay (the recovery must hold that long before it is
cleared). Battery alarms also latch per discharge: once raised, a level is not raised again until the
battery has been seen charging, so a noisy state of charge or a runtime estimate that moves with the fan
plan cannot announce "battery low" ninety times in one outage. Every message names the value and the
threshold; every clear is announced with a recovery message.

No I/O, no clock: the loop passes `now_utc` and `monotonic_s` in.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from controller import units
from controller.config.reader import Table
from controller.hub import Condition
from controller.snapshot import Alert, AlertKind, Event, EventKind, Severity

BatteryLevel = Literal["normal", "warning", "critical"]


@dataclass(frozen=True, slots=True)
class AlertsSection:
    """The `[alerts]` configuration: set and clear levels, alarm and return-to-normal delays."""

    soc_warning_pct: float = 30.0
    soc_warning_clear_pct: float = 35.0
    soc_critical_pct: float = 15.0
    soc_critical_clear_pct: float = 20.0
    runtime_warning_s: float = 24 * 3600.0
    runtime_warning_clear_s: float = 27 * 3600.0
    runtime_critical_s: float = 6 * 3600.0
    runtime_critical_clear_s: float = 7 * 3600.0
    battery_delay_s: float = 30.0
    battery_return_delay_s: float = 60.0
    latch_battery: bool = True
    deadline_delay_s: float = 120.0
    deadline_return_delay_s: float = 300.0
    deadline_clear_margin_s: float = 1800.0
    pressure_low_delay_s: float = 60.0
    pressure_return_delay_s: float = 30.0
    pressure_clear_margin_pa: float = 0.5
    sensor_stale_delay_s: float = 10.0
    sensor_return_delay_s: float = 10.0
    fan_delay_s: float = 15.0
    fan_return_delay_s: float = 15.0
    charging_delay_s: float = 30.0
    charging_return_delay_s: float = 60.0


def parse_alerts(table: Table) -> AlertsSection:
    """Read the `[alerts]` section; every key is optional and has the default shown in AlertsSection."""
    d = AlertsSection()
    pct, dur, pa = units.FRACTION, units.DURATION, units.PRESSURE
    day = 366 * 86400.0

    def q(key: str, kind: units.Kind, default: float, suffix: str, high: float) -> float:
        return table.quantity(key, kind, f"{default:g} {suffix}", low=0.0, high=high)

    section = AlertsSection(
        soc_warning_pct=q("soc_warning", pct, d.soc_warning_pct, "%", 100.0),
        soc_warning_clear_pct=q("soc_warning_clear", pct, d.soc_warning_clear_pct, "%", 100.0),
        soc_critical_pct=q("soc_critical", pct, d.soc_critical_pct, "%", 100.0),
        soc_critical_clear_pct=q("soc_critical_clear", pct, d.soc_critical_clear_pct, "%", 100.0),
        runtime_warning_s=q("runtime_warning", dur, d.runtime_warning_s, "s", day),
        runtime_warning_clear_s=q("runtime_warning_clear", dur, d.runtime_warning_clear_s, "s", day),
        runtime_critical_s=q("runtime_critical", dur, d.runtime_critical_s, "s", day),
        runtime_critical_clear_s=q("runtime_critical_clear", dur, d.runtime_critical_clear_s, "s", day),
        battery_delay_s=q("battery_delay", dur, d.battery_delay_s, "s", day),
        battery_return_delay_s=q("battery_return_delay", dur, d.battery_return_delay_s, "s", day),
        latch_battery=table.boolean("latch_battery", d.latch_battery),
        deadline_delay_s=q("deadline_delay", dur, d.deadline_delay_s, "s", day),
        deadline_return_delay_s=q("deadline_return_delay", dur, d.deadline_return_delay_s, "s", day),
        deadline_clear_margin_s=q("deadline_clear_margin", dur, d.deadline_clear_margin_s, "s", day),
        pressure_low_delay_s=q("pressure_low_delay", dur, d.pressure_low_delay_s, "s", day),
        pressure_return_delay_s=q("pressure_return_delay", dur, d.pressure_return_delay_s, "s", day),
        pressure_clear_margin_pa=q("pressure_clear_margin", pa, d.pressure_clear_margin_pa, "Pa", 100.0),
        sensor_stale_delay_s=q("sensor_stale_delay", dur, d.sensor_stale_delay_s, "s", day),
        sensor_return_delay_s=q("sensor_return_delay", dur, d.sensor_return_delay_s, "s", day),
        fan_delay_s=q("fan_delay", dur, d.fan_delay_s, "s", day),
        fan_return_delay_s=q("fan_return_delay", dur, d.fan_return_delay_s, "s", day),
        charging_delay_s=q("charging_delay", dur, d.charging_delay_s, "s", day),
        charging_return_delay_s=q("charging_return_delay", dur, d.charging_return_delay_s, "s", day),
    )
    table.finish()
    _check_levels(table, section)
    return section


def _check_levels(table: Table, s: AlertsSection) -> None:
    """Low alarms clear above where they set, and the critical level sits below the warning level."""
    pairs = (
        ("soc_warning_clear", s.soc_warning_clear_pct, s.soc_warning_pct, "%", "soc_warning"),
        ("soc_critical_clear", s.soc_critical_clear_pct, s.soc_critical_pct, "%", "soc_critical"),
        ("runtime_warning_clear", s.runtime_warning_clear_s, s.runtime_warning_s, " s", "runtime_warning"),
        ("runtime_critical_clear", s.runtime_critical_clear_s, s.runtime_critical_s, " s", "runtime_critical"),
    )
    for key, clear, set_level, unit, set_key in pairs:
        if clear <= set_level:
            raise table.error(key, f"{clear:g}{unit}", f"a clear level above {set_key} ({set_level:g}{unit})")
    if s.soc_critical_pct >= s.soc_warning_pct:
        raise table.error(
            "soc_critical", f"{s.soc_critical_pct:g}%", f"a level below soc_warning ({s.soc_warning_pct:g}%)"
        )
    if s.runtime_critical_s >= s.runtime_warning_s:
        raise table.error(
            "runtime_critical",
            f"{s.runtime_critical_s:g} s",
            f"a level below runtime_warning ({s.runtime_warning_s:g} s)",
        )


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
    shunt_stale: bool
    pressure_stale: bool
    fan_stalled: bool
    fan_fault: bool
    conditions: tuple[Condition, ...] = ()


class AlarmId(enum.StrEnum):
    """One alarm state machine; battery kinds have one per level."""

    SOC_WARNING = "soc_warning"
    SOC_CRITICAL = "soc_critical"
    RUNTIME_WARNING = "runtime_warning"
    RUNTIME_CRITICAL = "runtime_critical"
    DEADLINE = "deadline"
    PRESSURE_LOW = "pressure_low"
    PRESSURE_HIGH = "pressure_high"
    SHUNT_STALE = "shunt_stale"
    PRESSURE_STALE = "pressure_stale"
    FAN_STALLED = "fan_stalled"
    FAN_FAULT = "fan_fault"
    CHARGING = "charging"


@dataclass(frozen=True, slots=True)
class AlarmState:
    """One alarm: whether it is active, latched, and since when its condition (or recovery) has held."""

    active: Alert | None = None
    armed: bool = True
    tripped_since_s: float | None = None
    recovered_since_s: float | None = None


@dataclass(frozen=True, slots=True)
class AlertState:
    """Everything the engine remembers between ticks. Start with `AlertState()`."""

    alarms: Mapping[str, AlarmState] = field(default_factory=dict)

    def alarm(self, alarm_id: str) -> AlarmState:
        """The state of one alarm (idle and armed when never seen)."""
        return self.alarms.get(alarm_id, _IDLE)

    @property
    def battery_level(self) -> BatteryLevel:
        """The worst active battery alarm, on state of charge or on runtime left: for the policy."""
        if self.alarm(AlarmId.SOC_CRITICAL).active or self.alarm(AlarmId.RUNTIME_CRITICAL).active:
            return "critical"
        if self.alarm(AlarmId.SOC_WARNING).active or self.alarm(AlarmId.RUNTIME_WARNING).active:
            return "warning"
        return "normal"

    @property
    def charging_confirmed(self) -> bool:
        """Charging has been seen for longer than the charging delay (this re-arms battery alarms)."""
        return self.alarm(AlarmId.CHARGING).active is not None


_IDLE = AlarmState()


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
    raise_message: str
    clear_message: str
    values: dict[str, float | None]
    latching: bool = False


def _fmt_pct(value: float) -> str:
    return f"{value:.1f} %"


def _fmt_duration(seconds: float) -> str:
    if abs(seconds) >= 3600.0:
        return f"{seconds / 3600.0:.1f} h"
    return f"{seconds / 60.0:.0f} min"


def _fmt_pa(value: float) -> str:
    return f"{value:.1f} Pa"


def _low_check(
    alarm_id: AlarmId,
    kind: AlertKind,
    severity: Severity,
    what: str,
    value: float | None,
    set_level: float,
    clear_level: float,
    fmt: Callable[[float], str],
    config: AlertsSection,
    latching: bool,
) -> _Check:
    level = severity.value
    shown = "unknown" if value is None else fmt(value)
    return _Check(
        alarm_id=alarm_id,
        kind=kind,
        severity=severity,
        tripped=None if value is None else value <= set_level,
        recovered=None if value is None else value >= clear_level,
        delay_s=config.battery_delay_s,
        return_delay_s=config.battery_return_delay_s,
        raise_message=(
            f"Battery low ({level}): {what} {shown} is at or below the {level} level {fmt(set_level)} "
            f"(clears at {fmt(clear_level)})"
        ),
        clear_message=(
            f"Recovered: {what} {shown} is back at or above the clear level {fmt(clear_level)} "
            f"({level} level {fmt(set_level)})"
        ),
        values={"value": value, "threshold": set_level, "clear_level": clear_level},
        latching=latching,
    )


def _checks(inputs: AlertInputs, config: AlertsSection) -> list[_Check]:
    c = config
    latch = c.latch_battery
    checks = [
        _low_check(
            AlarmId.SOC_WARNING,
            AlertKind.BATTERY_LOW_SOC,
            Severity.WARNING,
            "state of charge",
            inputs.soc_pct,
            c.soc_warning_pct,
            c.soc_warning_clear_pct,
            _fmt_pct,
            c,
            latch,
        ),
        _low_check(
            AlarmId.SOC_CRITICAL,
            AlertKind.BATTERY_LOW_SOC,
            Severity.CRITICAL,
            "state of charge",
            inputs.soc_pct,
            c.soc_critical_pct,
            c.soc_critical_clear_pct,
            _fmt_pct,
            c,
            latch,
        ),
        _low_check(
            AlarmId.RUNTIME_WARNING,
            AlertKind.BATTERY_LOW_RUNTIME,
            Severity.WARNING,
            "runtime left",
            inputs.runtime_left_s,
            c.runtime_warning_s,
            c.runtime_warning_clear_s,
            _fmt_duration,
            c,
            latch,
        ),
        _low_check(
            AlarmId.RUNTIME_CRITICAL,
            AlertKind.BATTERY_LOW_RUNTIME,
            Severity.CRITICAL,
            "runtime left",
            inputs.runtime_left_s,
            c.runtime_critical_s,
            c.runtime_critical_clear_s,
            _fmt_duration,
            c,
            latch,
        ),
    ]

    shortfall = inputs.deadline_shortfall_s
    shown = "none" if shortfall is None else _fmt_duration(shortfall)
    checks.append(
        _Check(
            AlarmId.DEADLINE,
            AlertKind.DEADLINE_AT_RISK,
            Severity.WARNING,
            tripped=shortfall is not None and shortfall > 0.0,
            recovered=shortfall is None or shortfall <= -c.deadline_clear_margin_s,
            delay_s=c.deadline_delay_s,
            return_delay_s=c.deadline_return_delay_s,
            raise_message=(
                f"Deadline at risk: even at the pressure floor the battery runs out {shown} before the "
                f"deadline (shortfall {shown} > 0 s)"
            ),
            clear_message=(
                f"Recovered: the deadline is reachable again (shortfall {shown}, clears at "
                f"-{_fmt_duration(c.deadline_clear_margin_s)} or no deadline)"
            ),
            values={"value": shortfall, "threshold": 0.0, "clear_level": -c.deadline_clear_margin_s},
        )
    )

    pressure, floor, cap = inputs.pressure_pa, inputs.pressure_floor_pa, inputs.pressure_cap_pa
    p_shown = "unknown" if pressure is None else _fmt_pa(pressure)
    margin = c.pressure_clear_margin_pa
    if floor is None:
        low_tripped, low_recovered = False, True
    elif pressure is None:
        low_tripped, low_recovered = None, None
    else:
        low_tripped, low_recovered = pressure < floor and not inputs.door_open, pressure >= floor + margin
    floor_shown = "none" if floor is None else _fmt_pa(floor)
    clear_shown = "none" if floor is None else _fmt_pa(floor + margin)
    checks.append(
        _Check(
            AlarmId.PRESSURE_LOW,
            AlertKind.PRESSURE_LOW,
            Severity.CRITICAL,
            tripped=low_tripped,
            recovered=low_recovered,
            delay_s=c.pressure_low_delay_s,
            return_delay_s=c.pressure_return_delay_s,
            raise_message=(
                f"Room pressure low: {p_shown} is below the floor {floor_shown} for more than "
                f"{c.pressure_low_delay_s:g} s (clears at {clear_shown})"
            ),
            clear_message=(
                f"Recovered: room pressure {p_shown} is back at or above {clear_shown} (floor {floor_shown})"
            ),
            values={"value": pressure, "threshold": floor, "clear_level": None if floor is None else floor + margin},
        )
    )
    if cap is None:
        high_tripped, high_recovered = False, True
    elif pressure is None:
        high_tripped, high_recovered = None, None
    else:
        high_tripped, high_recovered = pressure > cap and not inputs.door_open, pressure <= cap - margin
    cap_shown = "none" if cap is None else _fmt_pa(cap)
    cap_clear = "none" if cap is None else _fmt_pa(cap - margin)
    checks.append(
        _Check(
            AlarmId.PRESSURE_HIGH,
            AlertKind.PRESSURE_HIGH,
            Severity.WARNING,
            tripped=high_tripped,
            recovered=high_recovered,
            delay_s=c.pressure_low_delay_s,
            return_delay_s=c.pressure_return_delay_s,
            raise_message=(
                f"Room pressure high: {p_shown} is above the cap {cap_shown} for more than "
                f"{c.pressure_low_delay_s:g} s (clears at {cap_clear})"
            ),
            clear_message=f"Recovered: room pressure {p_shown} is back at or below {cap_clear} (cap {cap_shown})",
            values={"value": pressure, "threshold": cap, "clear_level": None if cap is None else cap - margin},
        )
    )

    def flag(
        alarm_id: AlarmId,
        kind: AlertKind,
        severity: Severity,
        on: bool,
        delay: float,
        back: float,
        raise_message: str,
        clear_message: str,
        values: dict[str, float | None],
    ) -> _Check:
        return _Check(alarm_id, kind, severity, on, not on, delay, back, raise_message, clear_message, values)

    stale_s = c.sensor_stale_delay_s
    checks += [
        flag(
            AlarmId.SHUNT_STALE,
            AlertKind.SHUNT_STALE,
            Severity.WARNING,
            inputs.shunt_stale,
            stale_s,
            c.sensor_return_delay_s,
            f"Battery shunt stale or failing: no valid reading for more than {stale_s:g} s; "
            f"runtime falls back to a conservative estimate (last SoC {_opt(inputs.soc_pct, _fmt_pct)})",
            f"Recovered: battery shunt readings are back (SoC {_opt(inputs.soc_pct, _fmt_pct)})",
            {"value": inputs.soc_pct, "threshold": stale_s},
        ),
        flag(
            AlarmId.PRESSURE_STALE,
            AlertKind.PRESSURE_SENSOR_STALE,
            Severity.WARNING,
            inputs.pressure_stale,
            stale_s,
            c.sensor_return_delay_s,
            f"Pressure sensor stale or failing: no valid reading for more than {stale_s:g} s; "
            "the fan follows the learned room curve",
            f"Recovered: pressure sensor readings are back ({p_shown})",
            {"value": pressure, "threshold": stale_s},
        ),
        flag(
            AlarmId.FAN_STALLED,
            AlertKind.FAN_STALLED,
            Severity.CRITICAL,
            inputs.fan_stalled,
            c.fan_delay_s,
            c.fan_return_delay_s,
            f"Fan stalled: commanded but not turning for more than {c.fan_delay_s:g} s",
            "Recovered: the fan is turning again",
            {"value": 1.0 if inputs.fan_stalled else 0.0, "threshold": c.fan_delay_s},
        ),
        flag(
            AlarmId.FAN_FAULT,
            AlertKind.FAN_FAULT,
            Severity.WARNING,
            inputs.fan_fault,
            c.fan_delay_s,
            c.fan_return_delay_s,
            f"Fan output failing: the fan driver reports a fault for more than {c.fan_delay_s:g} s",
            "Recovered: the fan driver works again",
            {"value": 1.0 if inputs.fan_fault else 0.0, "threshold": c.fan_delay_s},
        ),
        flag(
            AlarmId.CHARGING,
            AlertKind.CHARGING,
            Severity.INFO,
            inputs.charging,
            c.charging_delay_s,
            c.charging_return_delay_s,
            f"Grid back: the battery is charging (SoC {_opt(inputs.soc_pct, _fmt_pct)}) for more than "
            f"{c.charging_delay_s:g} s; battery alarms re-armed",
            f"Charging stopped for more than {c.charging_return_delay_s:g} s: running on battery "
            f"(SoC {_opt(inputs.soc_pct, _fmt_pct)})",
            {"value": inputs.soc_pct, "threshold": c.charging_delay_s},
        ),
    ]
    return checks


def _opt(value: float | None, fmt: Callable[[float], str]) -> str:
    return "unknown" if value is None else fmt(value)


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
        if now_s - since < check.delay_s:
            return replace(state, tripped_since_s=since), None
        alert = Alert(check.kind, check.severity, check.raise_message, now_utc, dict(check.values))
        event = Event(
            EventKind.ALERT_RAISED, check.raise_message, now_utc, check.severity, check.kind, dict(check.values)
        )
        return AlarmState(alert, not check.latching, None, None), event
    if not check.recovered:
        return (state if state.recovered_since_s is None else replace(state, recovered_since_s=None)), None
    since = now_s if state.recovered_since_s is None else state.recovered_since_s
    if now_s - since < check.return_delay_s:
        return replace(state, recovered_since_s=since), None
    return AlarmState(None, state.armed, None, None), _cleared(check, state.active, check.clear_message, now_utc)


def _cleared(check: _Check, alert: Alert, message: str, now_utc: datetime) -> Event:
    values: dict[str, float | str | None] = dict(check.values)
    values["active_s"] = (now_utc - alert.raised_utc).total_seconds()
    return Event(EventKind.ALERT_CLEARED, message, now_utc, Severity.INFO, check.kind, values)


_BATTERY = (AlarmId.SOC_WARNING, AlarmId.SOC_CRITICAL, AlarmId.RUNTIME_WARNING, AlarmId.RUNTIME_CRITICAL)
_OWNED = frozenset(
    {
        AlertKind.BATTERY_LOW_SOC,
        AlertKind.BATTERY_LOW_RUNTIME,
        AlertKind.DEADLINE_AT_RISK,
        AlertKind.PRESSURE_LOW,
        AlertKind.PRESSURE_HIGH,
        AlertKind.SHUNT_STALE,
        AlertKind.PRESSURE_SENSOR_STALE,
        AlertKind.FAN_STALLED,
        AlertKind.FAN_FAULT,
        AlertKind.CHARGING,
    }
)
_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


def _rearm(
    state: AlarmState, check: _Check, soc_pct: float | None, now_utc: datetime
) -> tuple[AlarmState, Event | None]:
    """Charging confirmed: a battery alarm is cleared (with a recovery message) and armed again."""
    if state.active is None:
        return AlarmState(), None
    message = (
        f"Recovered: the battery is charging (SoC {_opt(soc_pct, _fmt_pct)}); "
        f"{check.kind.value} {check.severity.value} alarm cleared and re-armed"
    )
    return AlarmState(), _cleared(check, state.active, message, now_utc)


def update_alerts(state: AlertState, inputs: AlertInputs, config: AlertsSection) -> AlertUpdate:
    """One tick of the engine: which alerts are active now and what was raised or cleared."""
    inputs = _without_nan(inputs)
    alarms: dict[str, AlarmState] = dict(state.alarms)
    events: list[Event] = []
    now_s, now_utc = inputs.monotonic_s, inputs.now_utc
    checks = _checks(inputs, config)
    by_id = {check.alarm_id: check for check in checks}

    charging = by_id[AlarmId.CHARGING]
    alarms[charging.alarm_id], event = _step(state.alarm(charging.alarm_id), charging, now_s, now_utc)
    if event is not None:
        events.append(event)
    charging_confirmed = alarms[charging.alarm_id].active is not None

    for check in checks:
        if check.alarm_id is AlarmId.CHARGING:
            continue
        previous = state.alarm(check.alarm_id)
        if check.alarm_id in _BATTERY and charging_confirmed:
            alarms[check.alarm_id], event = _rearm(previous, check, inputs.soc_pct, now_utc)
        else:
            alarms[check.alarm_id], event = _step(previous, check, now_s, now_utc)
        if event is not None:
            events.append(event)

    for condition in inputs.conditions:
        if condition.kind in _OWNED:
            continue
        key = f"condition:{condition.kind.value}"
        values = {"value": 1.0 if condition.active else 0.0, **condition.values}
        check = _Check(
            key,
            condition.kind,
            Severity.WARNING,
            condition.active,
            not condition.active,
            0.0,
            0.0,
            condition.message,
            f"Recovered: {condition.message}",
            values,
        )
        alarms[key], event = _step(state.alarm(key), check, now_s, now_utc)
        if event is not None:
            events.append(event)

    new_state = AlertState(alarms)
    return AlertUpdate(new_state, _active(new_state), tuple(events))


def _without_nan(inputs: AlertInputs) -> AlertInputs:
    """NaN means unknown (infinity is meaningful: a runtime of +inf while nothing is drawn)."""
    fields = (
        "soc_pct",
        "runtime_left_s",
        "deadline_shortfall_s",
        "pressure_pa",
        "pressure_floor_pa",
        "pressure_cap_pa",
    )
    changes = {name: None for name in fields if (v := getattr(inputs, name)) is not None and math.isnan(v)}
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

"""Commands from MQTT, HTTP and the CLI, and the settable-feature registry they all read.

Each settable thing is one row of SETTINGS: its parser, its range (which may depend on configuration:
the floor's and the setpoint's end at the pressure cap), its step and unit. MQTT and HTTP parse with
it, Home Assistant's number/select/fan entities take their min, max, step and options from it, and the
dashboard gets its controls from it through `/api/meta`. The loop (`controller.setpoints`) applies a
parsed command and accepts or rejects it, saying why.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from controller import units
from controller.errors import ConfigError
from controller.snapshot import Mode


class CommandName(enum.StrEnum):
    """The settable things, as they appear in MQTT topics (`set/<name>`) and the HTTP API."""

    MODE = "mode"
    SPEED = "speed"
    PRESSURE_SETPOINT = "pressure_setpoint"
    PRESSURE_FLOOR = "pressure_floor"
    DEADLINE = "deadline"
    SOC = "soc"


@dataclass(frozen=True, slots=True)
class SetMode:
    """Switch the control mode."""

    mode: Mode


@dataclass(frozen=True, slots=True)
class SetSpeed:
    """Run the fan at a fixed command (switches to manual mode)."""

    speed_pct: float


@dataclass(frozen=True, slots=True)
class SetPressureSetpoint:
    """The pressure the `pressure` mode holds."""

    pressure_pa: float


@dataclass(frozen=True, slots=True)
class SetPressureFloor:
    """The minimum pressure `auto`, `eco` and `runtime` keep."""

    pressure_pa: float


@dataclass(frozen=True, slots=True)
class SetDeadline:
    """Last until this time; `in_s` is relative to when the loop applies it. Both None clears it."""

    deadline_utc: datetime | None
    in_s: float | None = None


@dataclass(frozen=True, slots=True)
class SetSoc:
    """Tell the controller the battery's state of charge (the manual 'set SoC')."""

    soc_pct: float


Command = SetMode | SetSpeed | SetPressureSetpoint | SetPressureFloor | SetDeadline | SetSoc


@dataclass(frozen=True, slots=True)
class CommandResult:
    """The loop's answer to one command."""

    accepted: bool
    message: str


PRESSURE_LIMIT_PA = 100.0
"""The widest pressure any command accepts, used when the configured cap is not known."""
MAX_DEADLINE_S = 366 * 86400.0
MIN_DEADLINE_S = 60.0


def _days(seconds: float) -> str:
    days = abs(seconds) / 86400.0
    return f"{days:,.1f} days" if days < 10 else f"{days:,.0f} days"


def deadline_refusal(deadline_utc: datetime, now_utc: datetime) -> str | None:
    """What an absolute deadline should have been when it cannot be used now (in the past, or further ahead
    than the longest allowed duration), in human units; None when it can. Commands, the configuration and
    the CLI all ask here."""
    seconds = (deadline_utc - now_utc).total_seconds()
    if seconds <= 0:
        return f"a time in the future (it was {_days(seconds)} ago)"
    if seconds > MAX_DEADLINE_S:
        return f"a time at most {MAX_DEADLINE_S / 86400:g} days ahead (it is {_days(seconds)} ahead)"
    return None


@dataclass(frozen=True, slots=True)
class CommandLimits:
    """What bounds the command ranges: the configuration's cap and the pressure floor in force (the setpoint
    never goes under it); None when not known (then the widest ranges)."""

    pressure_cap_pa: float | None = None
    pressure_floor_pa: float | None = None

    def with_floor(self, floor_pa: float | None) -> CommandLimits:
        """These limits with the floor now in force (None: not known)."""
        return CommandLimits(self.pressure_cap_pa, floor_pa)


Parser = Callable[["Setting", str, object, "CommandLimits"], Command]
Bounds = Callable[[CommandLimits], tuple[float, float]]


@dataclass(frozen=True, slots=True)
class Setting:
    """One settable feature: how to parse it, the range it accepts given the configuration, its step and
    unit, the snapshot field that shows its value and the Home Assistant entity that sets it."""

    name: CommandName
    label: str
    what: str
    examples: str
    parse: Parser
    unit: units.Unit | None = None
    bounds: Bounds | None = None
    step: float = 1.0
    build: Callable[[float], Command] | None = None
    options: tuple[str, ...] = ()
    state_field: str | None = None
    entity: Literal["number", "select"] | None = None
    device_class: str | None = None
    icon: str | None = None

    def range(self, limits: CommandLimits) -> tuple[float, float] | None:
        """The inclusive range of a numeric setting, given the configuration."""
        return None if self.bounds is None else self.bounds(limits)

    def expected(self, limits: CommandLimits) -> str:
        """What a valid value looks like, with the range in human units."""
        span = self.range(limits)
        examples = f" ({self.examples})" if self.examples else ""
        if span is None or self.unit is None:
            return f"{self.what}{examples}"
        low, high = span
        shown_low = units.show_bound(low, self.unit) if self.unit is units.SECOND else units.plain_number(low)
        return f"{self.what} from {shown_low} to {units.show_bound(high, self.unit)}{examples}"

    def refusal(self, value: float, limits: CommandLimits) -> str | None:
        """Why a parsed value is outside the range (naming field, value and range), or None."""
        span = self.range(limits)
        if span is None or self.unit is None or units.within(value, *span) is not None:
            return None
        return f"{self.name.value} = {units.show_bound(value, self.unit)}: expected {self.expected(limits)}"


def _number(setting: Setting, source: str, raw: object, limits: CommandLimits) -> Command:
    """A quantity (a bare number is in the setting's unit) inside the setting's range."""
    expected = setting.expected(limits)
    key = setting.name.value
    assert setting.unit is not None
    assert setting.build is not None
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ConfigError(source, key, raw, expected)
    bare = raw if not isinstance(raw, str) else units.parse_number(raw)
    try:
        value = float(bare) if bare is not None else units.parse(str(raw), setting.unit.kind)
    except (units.UnitError, OverflowError) as exc:
        raise ConfigError(source, key, raw, expected) from exc
    span = setting.range(limits)
    inside = units.within(value, *span) if span is not None else value
    if not math.isfinite(value) or inside is None:
        raise ConfigError(source, key, raw, expected)
    return setting.build(inside)


def _choice(setting: Setting, source: str, raw: object, limits: CommandLimits) -> Command:
    if not isinstance(raw, str) or raw.strip().lower() not in setting.options:
        raise ConfigError(source, setting.name.value, raw, setting.expected(limits))
    return SetMode(Mode(raw.strip().lower()))


def _deadline(setting: Setting, source: str, raw: object, limits: CommandLimits) -> Command:
    expected = setting.expected(limits)
    key = setting.name.value
    if raw is None or (isinstance(raw, str) and raw.strip().lower() in ("", "none", "null", "off")):
        return SetDeadline(None, None)
    if not isinstance(raw, str):
        raise ConfigError(source, key, raw, expected)
    if len(raw) > units.MAX_QUANTITY_CHARS:
        raise ConfigError(source, key, raw, expected)
    text = raw.strip()
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            duration_s = units.parse(text, units.DURATION)
        except units.UnitError as exc:
            raise ConfigError(source, key, raw, expected) from exc
        low, high = setting.range(limits) or (MIN_DEADLINE_S, MAX_DEADLINE_S)
        if not low <= duration_s <= high:
            raise ConfigError(source, key, raw, expected) from None
        return SetDeadline(None, duration_s)
    if when.tzinfo is None:
        raise ConfigError(source, key, raw, expected)
    try:
        return SetDeadline(when.astimezone(UTC), None)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00+14:00, before the first representable UTC time
        raise ConfigError(source, key, raw, expected) from exc


def _pressure_up_to_cap(margin_pa: float, *, from_floor: bool = False) -> Bounds:
    def bounds(limits: CommandLimits) -> tuple[float, float]:
        cap = limits.pressure_cap_pa
        high = max(0.0, (PRESSURE_LIMIT_PA if cap is None else cap) - margin_pa)
        floor = limits.pressure_floor_pa if from_floor else None
        return (0.0 if floor is None else min(floor, high)), high

    return bounds


_PRESSURE_STEP_PA = 0.5
_MODES = tuple(m.value for m in Mode)

SETTINGS: tuple[Setting, ...] = (
    Setting(
        CommandName.MODE,
        "Mode",
        f"one of {', '.join(_MODES)}",
        "",
        _choice,
        options=_MODES,
        state_field="mode",
        entity="select",
        icon="mdi:tune-variant",
    ),
    Setting(
        CommandName.SPEED,
        "Fan speed",
        "a percentage",
        '"40", "40 %"',
        _number,
        units.PERCENT,
        lambda _: (0.0, 100.0),
        1.0,
        SetSpeed,
        state_field="fan_command_pct",
    ),
    Setting(
        CommandName.PRESSURE_SETPOINT,
        "Pressure setpoint",
        "a pressure",
        '"5", "5 Pa", "0.02 inWC"',
        _number,
        units.PASCAL,
        _pressure_up_to_cap(0.0, from_floor=True),
        _PRESSURE_STEP_PA,
        SetPressureSetpoint,
        state_field="pressure_setpoint_pa",
        entity="number",
        device_class="pressure",
    ),
    Setting(
        CommandName.PRESSURE_FLOOR,
        "Pressure floor",
        "a pressure",
        '"5", "5 Pa", "0.02 inWC"',
        _number,
        units.PASCAL,
        _pressure_up_to_cap(_PRESSURE_STEP_PA),
        _PRESSURE_STEP_PA,
        SetPressureFloor,
        state_field="pressure_floor_pa",
        entity="number",
        device_class="pressure",
    ),
    Setting(
        CommandName.DEADLINE,
        "Deadline",
        'an ISO 8601 time with a zone ("2026-12-01T18:00:00Z"), "none" to clear, or a duration',
        '"7 days", "36 h"',
        _deadline,
        units.SECOND,
        lambda _: (MIN_DEADLINE_S, MAX_DEADLINE_S),
        MIN_DEADLINE_S,
        state_field="deadline_utc",
    ),
    Setting(
        CommandName.SOC,
        "State of charge",
        "a percentage",
        '"80", "80 %"',
        _number,
        units.PERCENT,
        lambda _: (0.0, 100.0),
        1.0,
        SetSoc,
        state_field="soc_pct",
    ),
)
SETTINGS_BY_NAME: dict[CommandName, Setting] = {s.name: s for s in SETTINGS}


def parse_command(name: str, raw: object, source: str = "command", limits: CommandLimits | None = None) -> Command:
    """Validate one command value; raise ConfigError naming the field, the value and what was expected
    (the range given `limits`, the configuration's, or the widest one when not given)."""
    try:
        which = CommandName(name)
    except ValueError as exc:
        raise ConfigError(source, name, raw, f"a command among {', '.join(c.value for c in CommandName)}") from exc
    setting = SETTINGS_BY_NAME[which]
    return setting.parse(setting, source, raw, limits or CommandLimits())


def command_value(command: Command) -> tuple[CommandName, float] | None:
    """The setting a numeric command sets and its value (None for a mode, a deadline at a given time or a
    cleared deadline)."""
    if isinstance(command, SetSpeed):
        return CommandName.SPEED, command.speed_pct
    if isinstance(command, SetPressureSetpoint):
        return CommandName.PRESSURE_SETPOINT, command.pressure_pa
    if isinstance(command, SetPressureFloor):
        return CommandName.PRESSURE_FLOOR, command.pressure_pa
    if isinstance(command, SetSoc):
        return CommandName.SOC, command.soc_pct
    if isinstance(command, SetDeadline) and command.in_s is not None:
        return CommandName.DEADLINE, command.in_s
    return None

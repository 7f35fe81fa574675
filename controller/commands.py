"""Commands from MQTT, HTTP and the CLI: parsed and validated like configuration, then handed to the
loop through one serialized path, which accepts or rejects each one and says why.
"""

from __future__ import annotations

import asyncio
import enum
import math
from dataclasses import dataclass
from datetime import UTC, datetime

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

MAX_DEADLINE_S = 366 * 86400.0


def _number_or_quantity(source: str, key: str, raw: object, kind: units.Kind, expected: str) -> float:
    if isinstance(raw, bool):
        raise ConfigError(source, key, raw, expected)
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        text = raw.strip()
        try:
            value = float(text)
        except ValueError:
            try:
                value = units.parse(text, kind)
            except units.UnitError as exc:
                raise ConfigError(source, key, raw, expected) from exc
    else:
        raise ConfigError(source, key, raw, expected)
    if not math.isfinite(value):
        raise ConfigError(source, key, raw, expected)
    return value


def _deadline(source: str, raw: object) -> SetDeadline:
    expected = (
        'an ISO 8601 time with a zone ("2026-12-01T18:00:00Z"), a duration from now ("7 days", "36 h") '
        'up to 366 days, or "none" to clear'
    )
    key = CommandName.DEADLINE.value
    if raw is None or (isinstance(raw, str) and raw.strip().lower() in ("", "none", "null", "off")):
        return SetDeadline(None, None)
    if not isinstance(raw, str):
        raise ConfigError(source, key, raw, expected)
    text = raw.strip()
    when: datetime | None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        when = None
    if when is None:
        try:
            duration_s = units.parse(text, units.DURATION)
        except units.UnitError as exc:
            raise ConfigError(source, key, raw, expected) from exc
        if not 0 < duration_s <= MAX_DEADLINE_S:
            raise ConfigError(source, key, raw, expected)
        return SetDeadline(None, duration_s)
    if when.tzinfo is None:
        raise ConfigError(source, key, raw, expected)
    return SetDeadline(when.astimezone(UTC), None)


def parse_command(name: str, raw: object, source: str = "command") -> Command:
    """Validate one command value; raise ConfigError naming the field, the value and what was expected."""
    try:
        which = CommandName(name)
    except ValueError as exc:
        raise ConfigError(source, name, raw, f"a command among {', '.join(c.value for c in CommandName)}") from exc
    key = which.value
    if which is CommandName.MODE:
        expected = f"one of {', '.join(m.value for m in Mode)}"
        if not isinstance(raw, str) or raw.strip().lower() not in {m.value for m in Mode}:
            raise ConfigError(source, key, raw, expected)
        return SetMode(Mode(raw.strip().lower()))
    if which in (CommandName.SPEED, CommandName.SOC):
        expected = 'a percentage from 0 to 100 ("40", "40 %")'
        value = _number_or_quantity(source, key, raw, units.FRACTION, expected)
        if not 0.0 <= value <= 100.0:
            raise ConfigError(source, key, raw, expected)
        return SetSpeed(value) if which is CommandName.SPEED else SetSoc(value)
    if which in (CommandName.PRESSURE_SETPOINT, CommandName.PRESSURE_FLOOR):
        expected = 'a pressure from 0 to 100 Pa ("5", "5 Pa", "0.02 inWC")'
        value = _number_or_quantity(source, key, raw, units.PRESSURE, expected)
        if not 0.0 <= value <= 100.0:
            raise ConfigError(source, key, raw, expected)
        return SetPressureSetpoint(value) if which is CommandName.PRESSURE_SETPOINT else SetPressureFloor(value)
    return _deadline(source, raw)


@dataclass(frozen=True, slots=True)
class CommandResult:
    """The loop's answer to one command."""

    accepted: bool
    message: str


@dataclass(slots=True)
class PendingCommand:
    """A command waiting for the next tick, with where it came from and who waits for the answer."""

    command: Command
    source: str
    result: asyncio.Future[CommandResult]


class CommandBus:
    """The one serialized path from the outside world into the control loop."""

    def __init__(self) -> None:
        self._pending: list[PendingCommand] = []

    def submit_nowait(self, command: Command, source: str) -> asyncio.Future[CommandResult]:
        """Queue a command for the next tick; the future resolves when the loop has decided."""
        future: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
        self._pending.append(PendingCommand(command, source, future))
        return future

    async def submit(self, command: Command, source: str, timeout_s: float = 10.0) -> CommandResult:
        """Queue a command and wait for the loop's answer."""
        future = self.submit_nowait(command, source)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout_s)
        except TimeoutError:
            return CommandResult(False, f"the control loop did not answer within {timeout_s:g} s")

    def take_pending(self) -> list[PendingCommand]:
        """Everything queued since the last call (the loop calls this once per tick)."""
        pending, self._pending = self._pending, []
        return pending

"""The hardware seams: one small Protocol per device role, the readings they produce, and the errors
drivers raise. Every reading is stamped with the monotonic time it was taken.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


class DeviceError(Exception):
    """Base of the driver errors; drivers catch these themselves and never let them kill the daemon."""


class DeviceUnavailable(DeviceError):
    """The device cannot be reached (no port, unplugged, no answer)."""


class DeviceTimeout(DeviceUnavailable):
    """The device is connected but did not answer in time."""


class ProtocolError(DeviceError):
    """Bytes arrived but do not form a valid message (checksum, CRC, grammar)."""


class WrongProduct(DeviceError):
    """A valid message from a device that cannot play this role (e.g. an inverter on the shunt's port);
    `product` names it, so that the user can tell which cable went where."""

    def __init__(self, product: str, message: str) -> None:
        super().__init__(message)
        self.product = product


class DeviceState(enum.StrEnum):
    """How a driver sees its device right now."""

    STARTING = "starting"
    OK = "ok"
    STALE = "stale"
    UNAVAILABLE = "unavailable"


@dataclass(slots=True)
class DriverStats:
    """Counters every driver keeps (mutable: owned and updated by the driver only)."""

    state: DeviceState = DeviceState.STARTING
    readings: int = 0
    errors: int = 0
    corrupt: int = 0
    timeouts: int = 0
    reconnects: int = 0
    last_error: str | None = None
    counters: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ShuntReading:
    """A battery monitor's values in SI units; None where the device does not say (or says '---').

    `time_to_go_min` is math.inf when the device says the time is infinite (not discharging) and None
    when it does not know. `soc_resolution_pct` is the step of the device's state of charge (0.1 for a
    Victron monitor, 1 for a power station), so that an estimator can fill the steps in with the power.
    """

    monotonic_s: float
    voltage_v: float | None
    current_a: float | None
    power_w: float | None = None
    soc_pct: float | None = None
    consumed_ah: float | None = None
    time_to_go_min: float | None = None
    temperature_c: float | None = None
    alarm: bool | None = None
    relay: bool | None = None
    alarm_reasons: tuple[str, ...] = ()
    product: str | None = None
    history: dict[str, float] = field(default_factory=dict)
    aux_voltage_v: float | None = None
    midpoint_voltage_v: float | None = None
    midpoint_deviation_pct: float | None = None
    firmware: str | None = None
    soc_resolution_pct: float | None = None
    solar_power_w: float | None = None
    output_power_w: float | None = None


@dataclass(frozen=True, slots=True)
class ChargerReading:
    """A solar charge controller's values in SI units (None where the device does not say).

    `battery_current_a` is the current into the battery from the charger; yields are the device's own
    day counters (today since its day began, yesterday the day before).
    """

    monotonic_s: float
    battery_voltage_v: float | None
    battery_current_a: float | None
    panel_voltage_v: float | None = None
    panel_power_w: float | None = None
    yield_today_wh: float | None = None
    yield_yesterday_wh: float | None = None
    yield_total_wh: float | None = None
    max_power_today_w: float | None = None
    max_power_yesterday_w: float | None = None
    charge_state: str | None = None
    tracker: str | None = None
    error: str | None = None
    load_current_a: float | None = None
    product: str | None = None
    firmware: str | None = None


@dataclass(frozen=True, slots=True)
class PressureReading:
    """Room minus outside pressure in Pa (positive = room above outside)."""

    monotonic_s: float
    pressure_pa: float
    temperature_c: float | None = None


@dataclass(frozen=True, slots=True)
class FanReading:
    """What the fan driver last applied and, with a tachometer, what the fan does."""

    monotonic_s: float
    command_pct: float
    rpm: float | None = None
    stalled: bool = False


class Shunt(Protocol):
    """A battery monitor: keeps its newest valid reading; never raises out of its own task."""

    stats: DriverStats

    async def start(self) -> None:
        """Open the device and start reading in the background."""
        ...

    async def close(self) -> None:
        """Stop and release the device."""
        ...

    def latest(self) -> ShuntReading | None:
        """The newest valid reading, or None before the first one."""
        ...


class PressureSensor(Protocol):
    """A differential-pressure sensor."""

    stats: DriverStats

    async def start(self) -> None:
        """Open the device and start reading in the background."""
        ...

    async def close(self) -> None:
        """Stop and release the device."""
        ...

    def latest(self) -> PressureReading | None:
        """The newest valid reading, or None before the first one."""
        ...


class Fan(Protocol):
    """A fan actuator: a command in percent (0-100) of full speed."""

    stats: DriverStats

    async def start(self) -> None:
        """Open the device."""
        ...

    async def close(self) -> None:
        """Release the device (leaving the fan at whatever the caller last set)."""
        ...

    async def set_command(self, command_pct: float) -> None:
        """Apply a command; failures are counted and retried, never raised."""
        ...

    def latest(self) -> FanReading | None:
        """What was last applied (and measured), or None before the first command."""
        ...


@runtime_checkable
class PowerWatchedFan(Protocol):
    """A fan that checks what it set against the fan's measured draw (a pressed purifier): the loop hands
    it the fan's watts every tick."""

    open_loop: bool
    """Whether it presses without a power reading to check them against."""
    message: str
    """What it last found (or assumed), for the user."""

    def observe_power(self, fan_power_w: float | None, monotonic_s: float) -> None:
        """The fan's measured draw at monotonic_s (None: no reading, e.g. no fresh shunt or charging)."""
        ...

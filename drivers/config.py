"""The drivers' parameters: which driver plays each role (shunt, pressure, fan) and its settings, as
small frozen values. The configuration file's `[devices]` section is read into these by the composition
root (controller.config.devices); drivers know nothing of files or units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from drivers.modbus.link import ModbusSettings
from drivers.modbus.maps import FanMap, PressureMap, ShuntMap
from drivers.pwm import Tachometer

SHUNT_DRIVERS = ("vedirect", "modbus", "victron-ble", "solix", "simulated")
PRESSURE_DRIVERS = ("modbus", "sdp", "simulated")
FAN_DRIVERS = ("pwm", "modbus", "buttons", "ir", "simulated")


@dataclass(frozen=True, slots=True)
class Simulated:
    """The role is played by the simulator."""

    driver: Literal["simulated"] = "simulated"


@dataclass(frozen=True, slots=True)
class VEDirectConfig:
    """A Victron SmartShunt/BMV on a serial port."""

    port: str
    baudrate: int = 19200
    stale_after_s: float = 5.0
    driver: Literal["vedirect"] = "vedirect"


@dataclass(frozen=True, slots=True)
class VictronBleConfig:
    """A Victron SmartShunt/BMV-71x heard over Bluetooth (Instant Readout); `replay` plays a recorded file
    instead of the radio (demos and tests)."""

    address: str
    key: str
    stale_after_s: float = 15.0
    replay: Path | None = None
    driver: Literal["victron-ble"] = "victron-ble"


@dataclass(frozen=True, slots=True)
class SolixConfig:
    """An Anker SOLIX power station over Bluetooth; `replay` plays a recorded file instead of the radio."""

    address: str
    model: str = "c1000"
    stale_after_s: float = 30.0
    replay: Path | None = None
    driver: Literal["solix"] = "solix"


@dataclass(frozen=True, slots=True)
class ModbusPolling:
    """How often and how stubbornly a Modbus device is polled."""

    interval_s: float = 1.0
    retries: int = 2
    stale_after_s: float = 5.0


@dataclass(frozen=True, slots=True)
class ModbusShuntConfig:
    """A Modbus battery monitor."""

    settings: ModbusSettings
    map: ShuntMap
    polling: ModbusPolling = field(default_factory=ModbusPolling)
    preset: str | None = None
    driver: Literal["modbus"] = "modbus"


@dataclass(frozen=True, slots=True)
class ModbusPressureConfig:
    """A Modbus differential-pressure transmitter."""

    settings: ModbusSettings
    map: PressureMap
    polling: ModbusPolling = field(default_factory=ModbusPolling)
    preset: str | None = None
    driver: Literal["modbus"] = "modbus"


@dataclass(frozen=True, slots=True)
class SdpConfig:
    """A Sensirion SDP3x/SDP8xx on an I2C bus."""

    model: str = "sdp810-500"
    bus: int = 1
    address: int | None = None
    interval_s: float = 0.2
    stale_after_s: float = 5.0
    driver: Literal["sdp"] = "sdp"


@dataclass(frozen=True, slots=True)
class PwmFanConfig:
    """A fan on a hardware PWM channel."""

    chip: str = ""
    channel: int = 0
    frequency_hz: float = 25_000.0
    inverted: bool = False
    tachometer: Tachometer | None = None
    sysfs_root: Path = Path("/sys/class/pwm")
    stale_after_s: float = 5.0
    driver: Literal["pwm"] = "pwm"


@dataclass(frozen=True, slots=True)
class ModbusFanConfig:
    """A fan driven by a Modbus output module or DC supply."""

    settings: ModbusSettings
    map: FanMap
    retries: int = 2
    preset: str | None = None
    stale_after_s: float = 15.0
    driver: Literal["modbus"] = "modbus"


@dataclass(frozen=True, slots=True)
class ButtonsFanConfig:
    """A purifier whose settings are chosen by pressing its buttons through GPIO lines. Settings are named
    by the fan curve's labels ("off" for off); they become positions when the driver is built."""

    chip: str = "gpiochip0"
    layout: str = "cycle"
    lines: tuple[tuple[str, int], ...] = ()
    cycle: tuple[str, ...] = ()
    power_up: str = "last"
    power_on: str = "last"
    active_low: bool = False
    press_s: float = 0.15
    release_s: float = 0.35
    settle_s: float = 5.0
    verify: bool = True
    setting_watts: tuple[float, ...] = ()
    """Measured watts per setting (calibration); empty: the fan curve's."""
    tolerance_w: float | None = None
    """Absolute tolerance on the measured watts; None: 0.4 W + 12 % of each setting's watts."""
    standby_w: float = 0.0
    learned_tolerances_w: tuple[float, ...] = ()
    """Per setting, from the calibration's spread of each setting's watts (used when tolerance_w is None)."""
    device: str = "/dev/lirc0"
    """ir: the lirc transmitter."""
    codes: tuple[tuple[str, str], ...] = ()
    """ir: each button's code, a scancode "nec:0x40bf" or a raw file from `cleanroom learn-ir`."""
    gap_s: float = 0.3
    ir_ctl: str = "ir-ctl"
    driver: Literal["buttons", "ir"] = "buttons"

    @property
    def button_names(self) -> tuple[str, ...]:
        """The buttons that have a GPIO line (buttons) or a code (ir)."""
        return tuple(name for name, _ in (self.codes if self.driver == "ir" else self.lines))


ShuntConfig = VEDirectConfig | ModbusShuntConfig | VictronBleConfig | SolixConfig | Simulated
PressureConfig = ModbusPressureConfig | SdpConfig | Simulated
FanConfig = PwmFanConfig | ModbusFanConfig | ButtonsFanConfig | Simulated


@dataclass(frozen=True, slots=True)
class DevicesSection:
    """One driver configuration per role."""

    shunt: ShuntConfig = field(default_factory=Simulated)
    pressure: PressureConfig = field(default_factory=Simulated)
    fan: FanConfig = field(default_factory=Simulated)

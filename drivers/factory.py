"""Build the configured drivers. "simulated" roles are built by the simulator, not here."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from controller.errors import ConfigError
from drivers.base import Fan, PressureSensor, Shunt
from drivers.config import (
    DevicesSection,
    ModbusFanConfig,
    ModbusPressureConfig,
    ModbusShuntConfig,
    PwmFanConfig,
    SdpConfig,
    VEDirectConfig,
)
from drivers.modbus.devices import ModbusFan, ModbusPressureSensor, ModbusShunt
from drivers.pwm import PwmFan
from drivers.retry import Backoff
from drivers.sdp import SdpSensor, SMBus2Bus
from drivers.vedirect.driver import VEDirectShunt

SOURCE = "[devices]"


def _backoff(rng: random.Random | None) -> Backoff:
    return Backoff(rng=rng or random.Random())


def _simulated(role: str, driver: str) -> ConfigError:
    return ConfigError(
        SOURCE,
        f"devices.{role}.driver",
        driver,
        'a hardware driver here; "simulated" devices are provided by `cleanroom sim`',
    )


def build_shunt(
    section: DevicesSection, clock: Callable[[], float] = time.monotonic, rng: random.Random | None = None
) -> Shunt:
    """The battery monitor driver of the configuration (not started)."""
    config = section.shunt
    if isinstance(config, VEDirectConfig):
        return VEDirectShunt(
            config.port,
            baudrate=config.baudrate,
            clock=clock,
            stale_after_s=config.stale_after_s,
            backoff=_backoff(rng),
        )
    if isinstance(config, ModbusShuntConfig):
        p = config.polling
        return ModbusShunt(
            config.settings,
            config.map,
            clock=clock,
            interval_s=p.interval_s,
            stale_after_s=p.stale_after_s,
            retries=p.retries,
            backoff=_backoff(rng),
        )
    raise _simulated("shunt", config.driver)


def build_pressure_sensor(
    section: DevicesSection, clock: Callable[[], float] = time.monotonic, rng: random.Random | None = None
) -> PressureSensor:
    """The pressure sensor driver of the configuration (not started)."""
    config = section.pressure
    if isinstance(config, SdpConfig):
        return SdpSensor(
            SMBus2Bus(config.bus),
            model=config.model,
            address=config.address,
            clock=clock,
            interval_s=config.interval_s,
            stale_after_s=config.stale_after_s,
            backoff=_backoff(rng),
        )
    if isinstance(config, ModbusPressureConfig):
        p = config.polling
        return ModbusPressureSensor(
            config.settings,
            config.map,
            clock=clock,
            interval_s=p.interval_s,
            stale_after_s=p.stale_after_s,
            retries=p.retries,
            backoff=_backoff(rng),
        )
    raise _simulated("pressure", config.driver)


def build_fan(
    section: DevicesSection, clock: Callable[[], float] = time.monotonic, rng: random.Random | None = None
) -> Fan:
    """The fan driver of the configuration (not started)."""
    config = section.fan
    if isinstance(config, PwmFanConfig):
        return PwmFan(
            chip=config.chip,
            channel=config.channel,
            frequency_hz=config.frequency_hz,
            inverted=config.inverted,
            tachometer=config.tachometer,
            sysfs_root=config.sysfs_root,
            clock=clock,
        )
    if isinstance(config, ModbusFanConfig):
        return ModbusFan(config.settings, config.map, clock=clock, retries=config.retries, backoff=_backoff(rng))
    raise _simulated("fan", config.driver)

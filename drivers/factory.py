"""Build a driver from its parameters (drivers.config). Choosing the role's parameters, and refusing
"simulated" roles, is the composition root's business (controller.devices)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from drivers.base import Fan, PressureSensor, Shunt
from drivers.config import (
    ModbusFanConfig,
    ModbusPressureConfig,
    ModbusShuntConfig,
    PwmFanConfig,
    SdpConfig,
    SolixConfig,
    VEDirectConfig,
    VictronBleConfig,
)
from drivers.modbus.devices import ModbusFan, ModbusPressureSensor, ModbusShunt
from drivers.pwm import PwmFan
from drivers.runtime import Backoff
from drivers.sdp import SdpSensor, SMBus2Bus
from drivers.vedirect.driver import VEDirectShunt

Clock = Callable[[], float]


def _backoff(rng: random.Random | None) -> Backoff:
    return Backoff(rng=rng or random.Random())


def _bluetooth_shunt(params: VictronBleConfig | SolixConfig, clock: Clock, rng: random.Random | None) -> Shunt:
    """A Bluetooth battery monitor; with `replay`, the recorded device is played at the bleak seam."""
    from functools import partial

    from drivers.ble.solix import SolixShunt
    from drivers.ble.victron import VictronBleShunt

    airwaves = None
    if params.replay is not None:
        from drivers.fakes.ble import Airwaves, BleReplay

        airwaves = Airwaves(BleReplay.load(params.replay))
    backoff = _backoff(rng)
    if isinstance(params, VictronBleConfig):
        if airwaves is None:
            return VictronBleShunt(
                params.address, params.key, clock=clock, stale_after_s=params.stale_after_s, backoff=backoff
            )
        from drivers.fakes.ble import ReplayScanner

        scanner = partial(ReplayScanner, airwaves)
        return VictronBleShunt(
            params.address,
            params.key,
            scanner_class=scanner,
            clock=clock,
            stale_after_s=params.stale_after_s,
            backoff=backoff,
        )
    client_class = None
    if airwaves is not None:
        from drivers.fakes.ble import ReplayStationClient

        client_class = partial(ReplayStationClient, airwaves)
        backoff = Backoff(initial_s=0.5, max_s=5.0, rng=rng or random.Random())
    return SolixShunt(
        params.address,
        model=params.model,
        client_class=client_class,
        clock=clock,
        stale_after_s=params.stale_after_s,
        backoff=backoff,
    )


def shunt_driver(
    params: VEDirectConfig | ModbusShuntConfig | VictronBleConfig | SolixConfig,
    clock: Clock = time.monotonic,
    rng: random.Random | None = None,
) -> Shunt:
    """The battery monitor driver for these parameters (not started)."""
    if isinstance(params, VictronBleConfig | SolixConfig):
        return _bluetooth_shunt(params, clock, rng)
    if isinstance(params, VEDirectConfig):
        return VEDirectShunt(
            params.port,
            baudrate=params.baudrate,
            clock=clock,
            stale_after_s=params.stale_after_s,
            backoff=_backoff(rng),
        )
    p = params.polling
    return ModbusShunt(
        params.settings,
        params.map,
        clock=clock,
        interval_s=p.interval_s,
        stale_after_s=p.stale_after_s,
        retries=p.retries,
        backoff=_backoff(rng),
    )


def pressure_driver(
    params: SdpConfig | ModbusPressureConfig, clock: Clock = time.monotonic, rng: random.Random | None = None
) -> PressureSensor:
    """The pressure sensor driver for these parameters (not started)."""
    if isinstance(params, SdpConfig):
        return SdpSensor(
            SMBus2Bus(params.bus),
            model=params.model,
            address=params.address,
            clock=clock,
            interval_s=params.interval_s,
            stale_after_s=params.stale_after_s,
            backoff=_backoff(rng),
        )
    p = params.polling
    return ModbusPressureSensor(
        params.settings,
        params.map,
        clock=clock,
        interval_s=p.interval_s,
        stale_after_s=p.stale_after_s,
        retries=p.retries,
        backoff=_backoff(rng),
    )


def fan_driver(
    params: PwmFanConfig | ModbusFanConfig, clock: Clock = time.monotonic, rng: random.Random | None = None
) -> Fan:
    """The fan driver for these parameters (not started)."""
    if isinstance(params, PwmFanConfig):
        return PwmFan(
            chip=params.chip,
            channel=params.channel,
            frequency_hz=params.frequency_hz,
            inverted=params.inverted,
            tachometer=params.tachometer,
            sysfs_root=params.sysfs_root,
            stale_after_s=params.stale_after_s,
            clock=clock,
        )
    return ModbusFan(
        params.settings,
        params.map,
        clock=clock,
        retries=params.retries,
        stale_after_s=params.stale_after_s,
        backoff=_backoff(rng),
    )

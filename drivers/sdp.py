"""Sensirion SDP3x / SDP8xx differential-pressure sensors over I2C (smbus2).

Continuous measurement, differential pressure, averaging till read (command 0x3615). Each read is 9
bytes: pressure, temperature and scale factor, each a big-endian int16 followed by its CRC-8
(polynomial 0x31, init 0xFF; computed with the `crc` library). Pressure in Pa = raw / scale; the
scale is transmitted and must match the model (20 /Pa for the 1500 Pa SDP33, 60 /Pa for 500 Pa parts,
240 /Pa for 125 Pa parts); temperature in °C = raw / 200.

Timing (Sensirion's command definitions, Sensirion/python-i2c-sdp `sdp/commands.py`): after the stop
command the sensor takes no command for 500 µs; after a start command the first result is ready after
8 ms and may be a few % off for 12 ms more, so the first reading is taken 20 ms after the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import struct
import time
from collections.abc import Callable, Mapping
from functools import cache
from typing import Protocol

from drivers.base import DeviceTimeout, DeviceUnavailable, PressureReading, ProtocolError
from drivers.poller import PollingDriver
from drivers.runtime import Backoff

log = logging.getLogger(__name__)

START_CONTINUOUS_DP_AVERAGE = 0x3615
STOP_CONTINUOUS = 0x3FF9
STOP_SETTLE_S = 0.0005
"""The sensor is receptive to another command 500 µs after a stop."""
START_SETTLE_S = 0.020
"""First result after 8 ms, full accuracy 12 ms later."""

MODELS: Mapping[str, tuple[int, int]] = {
    "sdp31": (0x21, 60),
    "sdp32": (0x21, 240),
    "sdp33": (0x21, 20),
    "sdp800-500": (0x25, 60),
    "sdp810-500": (0x25, 60),
    "sdp801-500": (0x26, 60),
    "sdp811-500": (0x26, 60),
    "sdp800-125": (0x25, 240),
    "sdp810-125": (0x25, 240),
}
"""Model -> (default I2C address, scale factor per Pa): Sensirion's SDP3x and SDP8xx datasheets (the SDP33,
±1500 Pa, from its own preliminary datasheet, version 0.1, August 2017)."""

ADDRESSES: Mapping[str, tuple[int, ...]] = {
    model: ((0x21, 0x22, 0x23) if model.startswith("sdp3") else (address,))
    for model, (address, _scale) in MODELS.items()
}
"""The I2C addresses each model can have: an SDP3x's ADDR pin selects 0x21, 0x22 or 0x23; an SDP8x0 is
fixed at 0x25 and an SDP8x1 at 0x26 (Sensirion/python-i2c-sdp `sdp/device.py`)."""


class SdpError(ProtocolError):
    """Bytes from the sensor that fail the CRC or do not fit the model."""


@cache
def _calculator() -> object:
    from crc import Calculator, Configuration

    return Calculator(
        Configuration(
            width=8, polynomial=0x31, init_value=0xFF, final_xor_value=0x00, reverse_input=False, reverse_output=False
        )
    )


def crc8(data: bytes) -> int:
    """Sensirion's CRC-8 of a word (0xBEEF -> 0x92)."""
    return int(_calculator().checksum(data))  # type: ignore[attr-defined]


def command_bytes(command: int) -> bytes:
    """A 16-bit command, MSB first."""
    return struct.pack(">H", command)


def encode_measurement(pressure_pa: float, temperature_c: float, scale: int) -> bytes:
    """The 9 bytes a sensor returns (for the fake)."""
    out = bytearray()
    for word in (round(pressure_pa * scale), round(temperature_c * 200), scale):
        raw = struct.pack(">h", max(-32768, min(32767, word)))
        out += raw + bytes([crc8(raw)])
    return bytes(out)


def decode_measurement(data: bytes, expected_scale: int | None = None) -> tuple[float, float]:
    """(pressure Pa, temperature °C) from the 9 bytes; SdpError on a CRC or scale mismatch."""
    if len(data) != 9:
        raise SdpError(f"{len(data)} bytes, expected 9")
    words = []
    for i in range(0, 9, 3):
        raw = bytes(data[i : i + 2])
        if crc8(raw) != data[i + 2]:
            raise SdpError(f"CRC mismatch in word {i // 3}: {raw.hex()} has CRC {data[i + 2]:#04x}")
        words.append(struct.unpack(">h", raw)[0])
    pressure, temperature, scale = words
    if scale <= 0:
        raise SdpError(f"scale factor {scale} is not positive")
    if expected_scale is not None and scale != expected_scale:
        raise SdpError(f"sensor says scale {scale}/Pa but the model has {expected_scale}/Pa: check the model setting")
    return pressure / scale, temperature / 200.0


class I2CBus(Protocol):
    """Raw I2C transfers (the transport seam; smbus2 on a Pi, a fake in tests)."""

    def write(self, address: int, data: bytes) -> None:
        """One write transfer."""
        ...

    def read(self, address: int, length: int) -> bytes:
        """One read transfer."""
        ...


class SMBus2Bus:
    """An I2C bus through smbus2's raw i2c_rdwr (the SDP needs plain reads, not SMBus registers)."""

    def __init__(self, bus: int = 1) -> None:
        self.bus_number = bus
        self._bus: object | None = None

    def _open(self) -> object:
        if self._bus is None:
            from smbus2 import SMBus

            try:
                self._bus = SMBus(self.bus_number)
            except OSError as exc:
                raise DeviceUnavailable(
                    f"cannot open /dev/i2c-{self.bus_number}: {exc}; enable I2C (raspi-config) and add the user "
                    "to group i2c"
                ) from exc
        return self._bus

    def write(self, address: int, data: bytes) -> None:
        """One write transfer."""
        from smbus2 import i2c_msg

        self._open().i2c_rdwr(i2c_msg.write(address, data))  # type: ignore[attr-defined]

    def read(self, address: int, length: int) -> bytes:
        """One read transfer."""
        from smbus2 import i2c_msg

        msg = i2c_msg.read(address, length)
        self._open().i2c_rdwr(msg)  # type: ignore[attr-defined]
        return bytes(msg)

    def close(self) -> None:
        """Close the bus device."""
        bus, self._bus = self._bus, None
        if bus is not None:
            bus.close()  # type: ignore[attr-defined]


def _bus_error(exc: OSError, address: int) -> DeviceUnavailable:
    if exc.errno in (errno.EREMOTEIO, errno.ENXIO, errno.EIO):
        return DeviceUnavailable(
            f"no answer at I2C address {address:#04x}: check SDA/SCL/3.3 V/GND wiring, the address "
            "(i2cdetect -y 1) and the model setting"
        )
    return DeviceUnavailable(f"I2C error at {address:#04x}: {exc}")


class SdpSensor(PollingDriver[PressureReading]):
    """An SDP3x/SDP8xx in continuous mode; restarts continuous mode after any bus error."""

    def __init__(
        self,
        bus: I2CBus,
        *,
        model: str = "sdp810-500",
        address: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        interval_s: float = 0.2,
        stale_after_s: float = 5.0,
        retries: int = 2,
        backoff: Backoff | None = None,
        name: str = "pressure (SDP)",
    ) -> None:
        super().__init__(
            name, log, clock=clock, interval_s=interval_s, stale_after_s=stale_after_s, retries=retries, backoff=backoff
        )
        default_address, self.scale = MODELS[model]
        self.model = model
        self.address = default_address if address is None else address
        self.bus = bus
        self.transfer_timeout_s = 1.0
        self._running = False

    async def _transfer(self, what: str, call: Callable[[], bytes | None]) -> bytes | None:
        """One bus transfer in a worker thread (a stuck bus must not stall the event loop), with a timeout."""
        try:
            async with asyncio.timeout(self.transfer_timeout_s):
                return await asyncio.to_thread(call)
        except TimeoutError as exc:
            self._running = False
            raise DeviceTimeout(f"I2C {what} at {self.address:#04x} took over {self.transfer_timeout_s:g} s") from exc
        except OSError as exc:
            self._running = False
            raise _bus_error(exc, self.address) from exc

    async def _begin(self) -> None:
        with contextlib.suppress(DeviceUnavailable):  # not measuring yet: the sensor NACKs the stop command
            await self._transfer("stop", lambda: self.bus.write(self.address, command_bytes(STOP_CONTINUOUS)))
        await asyncio.sleep(STOP_SETTLE_S)
        start = command_bytes(START_CONTINUOUS_DP_AVERAGE)
        await self._transfer("start", lambda: self.bus.write(self.address, start))
        self._running = True
        self._health.reconnected()
        await asyncio.sleep(START_SETTLE_S)

    async def _read(self) -> PressureReading:
        if not self._running:
            await self._begin()
        data = await self._transfer("read", lambda: self.bus.read(self.address, 9))
        assert data is not None
        pressure, temperature = decode_measurement(data, self.scale)
        return PressureReading(self._clock(), pressure, temperature)

    async def _disconnect(self) -> None:
        self._running = False

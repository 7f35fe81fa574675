"""An SDP3x/SDP8xx sensor behind a fake I2C bus: it answers the real command bytes and returns real
9-byte measurements with CRCs. Faults: CRC errors, NACKs (a glitch), a stuck bus (a read that hangs),
unplug/replug (after a replug the sensor is idle again and NACKs reads until told to start measuring).
Like the sensor, it NACKs any command sent less than 500 µs after a stop.
"""

from __future__ import annotations

import errno
import time

from drivers.sdp import MODELS, START_CONTINUOUS_DP_AVERAGE, STOP_CONTINUOUS, STOP_SETTLE_S, encode_measurement


class SdpFakeBus:
    """One sensor on a bus; the driver talks to it through the I2CBus protocol."""

    def __init__(self, model: str = "sdp810-500", pressure_pa: float = 5.0, temperature_c: float = 22.5) -> None:
        self.address, self.scale = MODELS[model]
        self.pressure_pa = pressure_pa
        self.temperature_c = temperature_c
        self.measuring = False
        self.present = True
        self.crc_errors = 0
        self.nacks = 0
        self.stuck_reads = 0
        self.stuck_s = 0.3
        self.commands: list[int] = []
        self.reads = 0
        self.too_soon = 0
        self._stopped_at: float | None = None

    def _check(self, address: int) -> None:
        if not self.present or address != self.address:
            raise OSError(errno.EREMOTEIO, "Remote I/O error")
        if self.nacks:
            self.nacks -= 1
            raise OSError(errno.EREMOTEIO, "Remote I/O error")

    def write(self, address: int, data: bytes) -> None:
        """A command from the driver."""
        self._check(address)
        if self._stopped_at is not None and time.monotonic() - self._stopped_at < STOP_SETTLE_S:
            self.too_soon += 1  # still stopping: the sensor does not acknowledge its address
            raise OSError(errno.EREMOTEIO, "Remote I/O error")
        command = int.from_bytes(data[:2], "big")
        self.commands.append(command)
        if command == STOP_CONTINUOUS:
            if not self.measuring:
                raise OSError(errno.EREMOTEIO, "Remote I/O error")
            self.measuring = False
            self._stopped_at = time.monotonic()
        elif command == START_CONTINUOUS_DP_AVERAGE:
            self.measuring = True

    def read(self, address: int, length: int) -> bytes:
        """A measurement read."""
        self._check(address)
        if not self.measuring:
            raise OSError(errno.EREMOTEIO, "Remote I/O error")
        if self.stuck_reads:  # a slave holding SCL low: the transfer only ends at the adapter's timeout
            self.stuck_reads -= 1
            time.sleep(self.stuck_s)
        self.reads += 1
        data = bytearray(encode_measurement(self.pressure_pa, self.temperature_c, self.scale))
        if self.crc_errors:
            self.crc_errors -= 1
            data[2] ^= 0x5A
        return bytes(data[:length])

    def unplug(self) -> None:
        """The sensor's cable comes off."""
        self.present = False
        self.measuring = False

    def replug(self) -> None:
        """The sensor is back, idle (power-on state)."""
        self.present = True

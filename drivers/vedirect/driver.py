"""VE.Direct shunt driver: reads a SmartShunt/BMV over a serial port in the background."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drivers.base import ChargerReading, DeviceUnavailable, ShuntReading, WrongProduct
from drivers.listener import ListeningDriver
from drivers.runtime import Backoff
from drivers.serialport import BY_ID, open_serial, resolve_port
from drivers.vedirect.codec import Block, BlockParser, ReadingAssembler, VEDirectError
from drivers.vedirect.decoder import refusal

log = logging.getLogger(__name__)

BAUDRATE = 19200


class VEDirectShunt(ListeningDriver[ShuntReading]):
    """A Victron battery monitor on a serial port (VE.Direct-USB cable or a UART).

    The port is resolved again at every reconnect (see drivers.serialport). Corrupt blocks are rejected
    and counted; after `reopen_after_s` without a byte the port is closed and opened again. Each block
    is classified by its product id: a solar charger's blocks become `charger` readings (never shunt
    readings), any other product makes the driver unavailable with a message naming it (`wrong_product`).
    """

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = BAUDRATE,
        clock: Callable[[], float] = time.monotonic,
        stale_after_s: float = 5.0,
        reopen_after_s: float = 30.0,
        poll_s: float = 0.5,
        backoff: Backoff | None = None,
        by_id_dir: Path = BY_ID,
        name: str = "shunt (VE.Direct)",
    ) -> None:
        super().__init__(name, log, clock=clock, stale_after_s=stale_after_s, backoff=backoff or Backoff())
        self.port = port
        self.baudrate = baudrate
        self._reopen_after_s = reopen_after_s
        self._poll_s = poll_s
        self._by_id_dir = by_id_dir
        self._assembler = ReadingAssembler()
        self._opened_once = False
        self.bytes_received = 0
        self.charger: ChargerReading | None = None
        self.wrong_product: str | None = None

    async def _session(self) -> None:
        path = resolve_port(self.port, self._by_id_dir)
        ser = await asyncio.to_thread(open_serial, path, baudrate=self.baudrate)
        if self._opened_once:
            self._health.reconnected()
        self._opened_once = True
        log.debug("%s: opened %s", self._health.name, path)
        try:
            await self._read_loop(ser)
        finally:
            with contextlib.suppress(Exception):
                ser.close()

    async def _read_loop(self, ser: Any) -> None:
        parser = BlockParser()
        last_byte_s = self._clock()
        silent_counted = False
        while True:
            data = await _read_available(ser, self._poll_s)
            now = self._clock()
            if not data:
                silence = now - last_byte_s
                if silence > self._health.stale_after_s and not silent_counted:
                    self._health.timeout(f"no bytes from {self.port} for {silence:.1f} s")
                    silent_counted = True
                if silence > self._reopen_after_s:
                    raise DeviceUnavailable(f"no bytes from {self.port} for {silence:.0f} s")
                self._health.check_stale()
                continue
            last_byte_s = now
            silent_counted = False
            self.bytes_received += len(data)
            hex_before, skipped_before = parser.hex_frames, parser.skipped_bytes
            for item in parser.feed(data):
                self._handle(item, now)
            if parser.hex_frames != hex_before:
                self._health.count("hex_frames", parser.hex_frames - hex_before)
            if parser.skipped_bytes != skipped_before:
                self._health.count("skipped_bytes", parser.skipped_bytes - skipped_before)
            self._health.check_stale()

    def _handle(self, item: Block | VEDirectError, now: float) -> None:
        if isinstance(item, VEDirectError):
            self._health.corrupt(str(item))
            self._health.count(f"rejected_{item.kind}")
            return
        try:
            reading = self._assembler.accept(item, now)
        except VEDirectError as exc:
            self._health.corrupt(str(exc))
            self._health.count(f"rejected_{exc.kind}")
            return
        except WrongProduct as exc:
            self._refuse(exc.product, str(exc))
            return
        self._health.count("blocks")
        if isinstance(reading, ChargerReading):
            self.charger = reading
            found = self._assembler.found
            self._refuse(reading.product or "a solar charger", str(refusal(found)) if found else "a solar charger")
            return
        if reading is not None:
            self.wrong_product = None
            self._publish(reading)

    def _refuse(self, product: str, message: str) -> None:
        self.wrong_product = product
        self._health.count("wrong_product_blocks")
        self._health.unavailable(message)


async def _read_available(ser: Any, timeout_s: float) -> bytes:
    """Wait up to timeout_s for the port to become readable, then read what is there (b"" if nothing)."""
    import serial

    loop = asyncio.get_running_loop()
    try:
        fd = ser.fileno()
    except (AttributeError, OSError, serial.SerialException) as exc:
        raise DeviceUnavailable(f"port closed: {exc}") from exc
    ready: asyncio.Future[None] = loop.create_future()

    def on_ready() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, on_ready)
    try:
        await asyncio.wait([ready], timeout=timeout_s)
    finally:
        loop.remove_reader(fd)
    if not ready.done():
        return b""
    try:
        data: bytes = ser.read(max(1, ser.in_waiting))
    except (serial.SerialException, OSError) as exc:
        raise DeviceUnavailable(f"the serial port went away ({exc}); check the USB cable") from exc
    return data

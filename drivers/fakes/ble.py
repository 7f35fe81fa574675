"""Bluetooth LE devices played at the bleak seam from replay files (see tests/fixtures/ble/README.md):
`ReplayScanner` stands in for `bleak.BleakScanner` (Victron Instant Readout advertisements through the
detection callback) and `ReplayStationClient` for `bleak.BleakClient` (an Anker SOLIX station: answers
each negotiation command with the station's recorded answer, then sends telemetry encrypted with the
session's shared secret, as the station does). The libraries' own decoding and decryption run unchanged.

`Airwaves` holds the faults a test (or a demo) can switch: the device goes silent (out of range), the
connection drops, connects fail, a notification arrives garbled.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VICTRON_COMPANY_ID = 0x02E1
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BleReplay:
    """A replay file's content."""

    kind: str
    address: str
    name: str
    interval_s: float = 1.0
    key: str = ""
    model: str = ""
    advertisements: tuple[bytes, ...] = ()
    negotiation: dict[bytes, tuple[bytes, ...]] = field(default_factory=dict)
    telemetry_command: bytes = b"\xc4\x05"
    telemetry: tuple[bytes, ...] = ()

    @classmethod
    def load(cls, path: Path) -> BleReplay:
        """Read a replay file (ValueError naming the file when it is not one)."""
        try:
            raw = json.loads(path.read_text())
            return cls(
                kind=str(raw["kind"]),
                address=str(raw["address"]),
                name=str(raw.get("name", "")),
                interval_s=float(raw.get("interval_s", 1.0)),
                key=str(raw.get("key", "")),
                model=str(raw.get("model", "")),
                advertisements=tuple(bytes.fromhex(a) for a in raw.get("advertisements", ())),
                negotiation={
                    bytes.fromhex(k): tuple(bytes.fromhex(x) for x in v) for k, v in raw.get("negotiation", {}).items()
                },
                telemetry_command=bytes.fromhex(raw.get("telemetry_command", "c405")),
                telemetry=tuple(bytes.fromhex(t) for t in raw.get("telemetry", ())),
            )
        except (OSError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"{path} is not a Bluetooth replay file: {exc}") from exc


@dataclass(slots=True)
class Airwaves:
    """The radio between the fakes and the driver, with its faults."""

    replay: BleReplay
    speedup: float = 1.0
    silent: bool = False
    garbage: int = 0
    failing_connects: int = 0
    connects: int = 0
    sent: int = 0
    clients: list[ReplayStationClient] = field(default_factory=list)

    @property
    def interval_s(self) -> float:
        """Seconds between two advertisements or telemetry packets."""
        return self.replay.interval_s / self.speedup

    def drop(self) -> None:
        """The link drops (the station's side closes the connection)."""
        for client in list(self.clients):
            client.lose_connection()


def _device(replay: BleReplay) -> Any:
    from bleak.backends.device import BLEDevice

    return BLEDevice(replay.address, replay.name, {})


class ReplayScanner:
    """`BleakScanner(detection_callback=...)`, hearing the replay's advertisements in turn."""

    def __init__(self, airwaves: Airwaves, *, detection_callback: Callable[[Any, Any], None], **_: Any) -> None:
        self.airwaves = airwaves
        self._callback = detection_callback
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start hearing (BleakError while the adapter fails)."""
        from bleak.exc import BleakError

        if self.airwaves.failing_connects:
            self.airwaves.failing_connects -= 1
            raise BleakError("org.bluez.Error.NotReady: Resource Not Ready")
        self.airwaves.connects += 1
        self._task = asyncio.get_running_loop().create_task(self._hear())

    async def stop(self) -> None:
        """Stop hearing."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _hear(self) -> None:
        from bleak.backends.scanner import AdvertisementData

        replay = self.airwaves.replay
        position = 0
        while True:
            if not self.airwaves.silent and replay.advertisements:
                data = replay.advertisements[position % len(replay.advertisements)]
                position += 1
                advertisement = AdvertisementData(replay.name, {VICTRON_COMPANY_ID: data}, {}, [], None, -60, ())
                self._callback(_device(replay), advertisement)
                self.airwaves.sent += 1
            await asyncio.sleep(self.airwaves.interval_s)


def _checksum(packet: bytes) -> bytes:
    value = 0
    for byte in packet:
        value ^= byte
    return bytes([value])


def _packet(pattern: bytes, command: bytes, payload: bytes) -> bytes:
    body = b"\xff\x09" + (2 + 2 + 3 + 2 + len(payload) + 1).to_bytes(2, "little") + pattern + command + payload
    return body + _checksum(body)


def _shared_secret(station_answer: bytes) -> bytes:
    """The secret both sides derive once the station has sent its public key (negotiation stage 5)."""
    from cryptography.hazmat.primitives.asymmetric.ec import (
        ECDH,
        SECP256R1,
        EllipticCurvePublicKey,
        derive_private_key,
    )
    from SolixBLE.const import PRIVATE_KEY

    payload = station_answer[9:-1].removeprefix(b"\x00")
    assert payload[:2] == b"\xa1\x40", "the stage 5 answer carries the station's public key as parameter a1"
    station_key = EllipticCurvePublicKey.from_encoded_point(SECP256R1(), b"\x04" + payload[2:66])
    app_key = derive_private_key(int(PRIVATE_KEY, 16), SECP256R1())
    return app_key.exchange(ECDH(), station_key)


def _encrypt(secret: bytes, payload: bytes) -> bytes:
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    padder = padding.PKCS7(128).padder()
    padded = padder.update(payload) + padder.finalize()
    encryptor = Cipher(algorithms.AES(secret[:16]), modes.CBC(secret[16:32])).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


Notify = Callable[[Any, bytearray], Awaitable[None] | None]


class ReplayStationClient:
    """`BleakClient(device, disconnected_callback=...)` connected to a recorded SOLIX station."""

    def __init__(
        self, airwaves: Airwaves, device: Any, disconnected_callback: Callable[[Any], None] | None = None, **_: Any
    ) -> None:
        self.airwaves = airwaves
        self.address = getattr(device, "address", str(device))
        self._on_disconnect = disconnected_callback
        self._notify: Notify | None = None
        self._connected = False
        self._task: asyncio.Task[None] | None = None
        self.mtu_size = 256

    @property
    def is_connected(self) -> bool:
        """Whether the link is up."""
        return self._connected

    async def connect(self, **_: Any) -> bool:
        """Connect (BleakError while connects fail or the station is out of range)."""
        from bleak.exc import BleakError

        if self.airwaves.failing_connects or self.airwaves.silent:
            self.airwaves.failing_connects = max(0, self.airwaves.failing_connects - 1)
            raise BleakError(f"Device with address {self.address} was not found")
        self._connected = True
        self.airwaves.connects += 1
        self.airwaves.clients.append(self)
        return True

    async def disconnect(self) -> bool:
        """Close the link from this side."""
        self._stop()
        return True

    async def start_notify(self, _uuid: str, callback: Notify, **_: Any) -> None:
        """Subscribe to the telemetry characteristic."""
        self._notify = callback

    async def write_gatt_char(self, _uuid: str, data: bytes | bytearray, response: bool = False) -> None:
        """A command from the app: answer it as the station did."""
        answers = self.airwaves.replay.negotiation.get(bytes(data), ())
        for answer in answers:
            await self._send(answer)
            if answer[7:9] == b"\x08\x21":  # the station's public key: the session is encrypted from now on
                secret = _shared_secret(answer)
                self._task = asyncio.get_running_loop().create_task(self._telemetry(secret))

    async def _send(self, packet: bytes) -> None:
        if self._notify is None or not self._connected:
            return
        try:
            result = self._notify(None, bytearray(packet))
            if asyncio.iscoroutine(result):
                await result
        except Exception:  # bleak logs what a notification callback raises and goes on
            log.debug("notification callback failed", exc_info=True)

    async def _telemetry(self, secret: bytes) -> None:
        replay = self.airwaves.replay
        position = 0
        while self._connected:
            await asyncio.sleep(self.airwaves.interval_s)
            if self.airwaves.silent or not replay.telemetry:
                continue
            payload = replay.telemetry[position % len(replay.telemetry)]
            position += 1
            encrypted = b"\x11" + _encrypt(secret, payload)  # fragment 1 of 1
            packet = _packet(b"\x03\x01\x0f", replay.telemetry_command, encrypted)
            if self.airwaves.garbage:
                self.airwaves.garbage -= 1
                packet = packet[:-1] + bytes([packet[-1] ^ 0xFF])  # a wrong checksum
            await self._send(packet)
            self.airwaves.sent += 1

    def _stop(self) -> None:
        self._connected = False
        with contextlib.suppress(ValueError):
            self.airwaves.clients.remove(self)
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    def lose_connection(self) -> None:
        """The station goes away: the link closes and bleak calls the disconnected callback."""
        self._stop()
        if self._on_disconnect is not None:
            self._on_disconnect(self)

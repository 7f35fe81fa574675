"""The Modbus transport: the only module that talks to pymodbus clients. It opens RTU or ASCII links
(serial, by stable name; pymodbus's RTU or ASCII framer) or TCP links, reads and writes registers with a
timeout, and turns pymodbus outcomes into the driver errors: no answer -> DeviceTimeout, a garbled answer
(bytes arrived, none valid: bad CRC or LRC) -> ProtocolError, an exception response -> ProtocolError, no
port / refused -> DeviceUnavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from drivers.base import DeviceTimeout, DeviceUnavailable, ProtocolError
from drivers.serialport import BY_ID, resolve_port

log = logging.getLogger(__name__)

EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "device failure",
    5: "acknowledge",
    6: "device busy",
}


@dataclass(frozen=True, slots=True)
class ModbusSettings:
    """How to reach one Modbus device."""

    transport: Literal["rtu", "ascii", "tcp"] = "rtu"
    port: str = ""
    host: str = ""
    tcp_port: int = 502
    baudrate: int = 9600
    bytesize: int = 8
    parity: Literal["N", "E", "O"] = "N"
    stopbits: int = 1
    device_id: int = 1
    timeout_s: float = 1.0

    def describe(self) -> str:
        """Where the device is, for messages."""
        if self.transport == "tcp":
            return f"device {self.device_id} at {self.host}:{self.tcp_port}"
        framing = ", Modbus ASCII" if self.transport == "ascii" else ""
        return (
            f"device {self.device_id} on {self.port} ({self.baudrate} baud, {self.bytesize}{self.parity}"
            f"{self.stopbits}{framing})"
        )

    def no_answer_hint(self) -> str:
        """What to check when the device is silent."""
        if self.transport == "tcp":
            return "check the gateway's serial settings and that the device id matches the device"
        return (
            "check the A/B wires (swap them if unsure), the device id, the baud rate and parity "
            "against the device's manual, and the bus termination"
        )


class ModbusLink:
    """One client connection, created again (and the port resolved again) after each failure."""

    def __init__(self, settings: ModbusSettings, *, by_id_dir: Path = BY_ID) -> None:
        self.settings = settings
        self._by_id_dir = by_id_dir
        self._client: Any = None
        self._received = 0
        self._lock = asyncio.Lock()

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if not sending:
            self._received += len(data)
        return data

    async def connect(self) -> None:
        """Open the link if it is not open; DeviceUnavailable with a hint if it cannot be."""
        if self._client is not None and self._client.connected:
            return
        await self.close()
        from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
        from pymodbus.framer import FramerType

        # pymodbus logs every missed answer at ERROR with a frame dump; this driver classifies, counts and
        # logs each failure itself (once), so pymodbus is kept quiet unless someone set its level.
        pymodbus_log = logging.getLogger("pymodbus.logging")
        if pymodbus_log.level == logging.NOTSET:
            pymodbus_log.setLevel(logging.CRITICAL)
        s = self.settings
        common: dict[str, Any] = {
            "timeout": s.timeout_s,
            "retries": 0,
            "reconnect_delay": 0,
            "reconnect_delay_max": 0,
            "trace_packet": self._trace,
        }
        client: Any
        if s.transport == "tcp":
            client = AsyncModbusTcpClient(s.host, port=s.tcp_port, **common)
        else:
            path = resolve_port(s.port, self._by_id_dir)
            client = AsyncModbusSerialClient(
                path,
                framer=FramerType.ASCII if s.transport == "ascii" else FramerType.RTU,
                baudrate=s.baudrate,
                bytesize=s.bytesize,
                parity=s.parity,
                stopbits=s.stopbits,
                **common,
            )
        try:
            async with asyncio.timeout(s.timeout_s + 1.0):
                ok = await client.connect()
        except (TimeoutError, OSError) as exc:
            ok = False
            log.debug("connect failed: %s", exc)
        if not ok:
            client.close()
            where = "is the gateway on and the address right" if s.transport == "tcp" else "check the adapter"
            raise DeviceUnavailable(f"cannot connect to {s.describe()}: {where}")
        self._client = client

    async def close(self) -> None:
        """Close the client (safe to call twice)."""
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    async def read(self, function_code: int, address: int, count: int) -> list[int]:
        """Read `count` registers with function 3 or 4."""
        async with self._lock:
            await self.connect()
            method = "read_holding_registers" if function_code == 3 else "read_input_registers"
            response = await self._call(getattr(self._client, method), address, count=count)
            registers: list[int] = list(response.registers)
            if len(registers) < count:
                raise ProtocolError(f"{self.settings.describe()}: {len(registers)} registers for {count} asked")
            return registers[:count]

    async def write(self, address: int, values: Sequence[int]) -> None:
        """Write holding registers (function 6 for one, 16 for several)."""
        async with self._lock:
            await self.connect()
            if len(values) == 1:
                await self._call(self._client.write_register, address, int(values[0]))
            else:
                await self._call(self._client.write_registers, address, [int(v) for v in values])

    async def _call(self, method: Any, address: int, *args: Any, **kwargs: Any) -> Any:
        from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

        s = self.settings
        self._received = 0
        try:
            async with asyncio.timeout(s.timeout_s * 2 + 1.0):
                response = await method(address, *args, device_id=s.device_id, **kwargs)
        except (ModbusIOException, TimeoutError) as exc:
            if self._client is not None and not self._client.connected:
                await self.close()
                raise DeviceUnavailable(f"{s.describe()}: connection lost") from exc
            if self._received:
                raise ProtocolError(
                    f"{s.describe()}: {self._received} bytes came back but no valid answer (bad CRC or "
                    f"garbled frame): check the baud rate, parity and shielding"
                ) from exc
            hint = s.no_answer_hint()
            raise DeviceTimeout(f"no answer from {s.describe()} within {s.timeout_s:g} s: {hint}") from exc
        except ConnectionException as exc:
            await self.close()
            raise DeviceUnavailable(f"{s.describe()}: {exc}") from exc
        except ModbusException as exc:
            raise ProtocolError(f"{s.describe()}: {exc}") from exc
        if response is None or response.isError():
            code = getattr(response, "exception_code", None)
            name = EXCEPTION_NAMES.get(code or 0, "error")
            raise ProtocolError(
                f"{s.describe()} answered exception {code} ({name}) for register {address}: "
                "check the register map (address, function) for this device"
            )
        return response

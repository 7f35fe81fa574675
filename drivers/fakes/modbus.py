"""A Modbus device played by a real pymodbus server (3.16 SimDevice API), over RTU on a
pseudo-terminal or over TCP on a free local port, holding registers the test or the simulator sets.

RTU and ASCII plumbing (pymodbus's own framers): the server opens one pty's slave, the driver opens
another's (through an optional stable-name symlink), and a relay copies bytes between the two masters,
as an RS485 adapter and bus would. Faults: no answer (timeouts), a corrupted CRC or LRC (or a truncated
TCP frame), an exception response, and unplug/replug of the driver's side.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from drivers.fakes.pty import FakeSerialLine
from drivers.modbus.maps import ShuntMap
from drivers.modbus.registers import Register, encode
from drivers.runtime import Service, TaskOwner

Block = Literal["holding", "input"]


class ModbusFake(Service):
    """A pymodbus server holding `holding` and `input` registers for one device id."""

    def __init__(
        self,
        *,
        transport: Literal["rtu", "ascii", "tcp"] = "rtu",
        device_id: int = 1,
        holding: Mapping[int, int] | None = None,
        input: Mapping[int, int] | None = None,
        baudrate: int = 9600,
        parity: str = "N",
        stopbits: int = 1,
        link: Path | None = None,
        on_write: Callable[[int, list[int]], None] | None = None,
    ) -> None:
        self.transport = transport
        self.device_id = device_id
        self.registers: dict[Block, dict[int, int]] = {"holding": dict(holding or {}), "input": dict(input or {})}
        self.baudrate, self.parity, self.stopbits = baudrate, parity, stopbits
        self.on_write = on_write
        self.link = link
        self.host = "127.0.0.1"
        self.tcp_port = 0
        self.requests = 0
        self.writes: list[tuple[int, list[int]]] = []
        self.faults: dict[str, int] = {}
        self.no_answer = 0
        self.bad_crc = 0
        self.exception_code = 0
        self.exceptions_left = 0
        self._server: Any = None
        self._server_line: FakeSerialLine | None = None
        self.client_line: FakeSerialLine | None = None
        self._relaying: list[int] = []
        self._tasks = TaskOwner("modbus fake")

    @property
    def port(self) -> str:
        """The serial path the driver opens (RTU)."""
        assert self.client_line is not None
        return self.client_line.port

    def set(self, block: Block, address: int, words: Sequence[int]) -> None:
        """Put raw words into registers."""
        for i, word in enumerate(words):
            self.registers[block][address + i] = word & 0xFFFF

    def set_value(self, register: Register, value_si: float) -> None:
        """Put an SI value where a map says the device keeps it."""
        self.set(register.function, register.address, encode(register, value_si))

    def set_shunt(self, shunt_map: ShuntMap, values: Mapping[str, float]) -> None:
        """Fill a battery monitor's registers from SI values."""
        for name, value in values.items():
            if name in shunt_map.registers:
                self.set_value(shunt_map.registers[name], value)

    def _count(self, fault: str) -> None:
        self.faults[fault] = self.faults.get(fault, 0) + 1

    def _span(self) -> tuple[int, int]:
        addresses = [a for block in self.registers.values() for a in block] or [0]
        return 0, max(addresses) + 130

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        current_registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> Any:
        from pymodbus.constants import ExcCodes

        self.requests += 1
        if self.exceptions_left:
            self.exceptions_left -= 1
            self._count("exception")
            return ExcCodes(self.exception_code)
        block: Block = "input" if function_code == 4 else "holding"
        if set_values is not None:
            words = [int(v) for v in set_values]
            self.set(block, address, words)
            self.writes.append((address, words))
            if self.on_write is not None:
                self.on_write(address, words)
            return None
        registers = self.registers[block]
        for i in range(count):
            current_registers[address - start_address + i] = registers.get(address + i, 0)
        return None

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if not sending or not data:
            return data
        if self._addressed_to(data) not in (None, self.device_id):
            return b""  # pymodbus 3.16's SimCore answers any id; on a real bus only the addressed device talks
        if self.no_answer:
            self.no_answer -= 1
            self._count("no_answer")
            return b""
        if self.bad_crc:
            self.bad_crc -= 1
            self._count("bad_crc")
            if self.transport == "tcp":
                return data[:-1]
            if self.transport == "ascii":  # a wrong LRC (the two hex digits before CR LF)
                return data[:-4] + (b"00" if data[-4:-2] != b"00" else b"FF") + data[-2:]
            return data[:-1] + bytes([data[-1] ^ 0xFF])
        return data

    def _addressed_to(self, data: bytes) -> int | None:
        if self.transport == "rtu":
            return data[0]
        if self.transport == "ascii" and len(data) >= 3:
            return int(data[1:3], 16)
        return None

    def _device(self) -> Any:
        from pymodbus.simulator import DataType, SimData, SimDevice

        start, end = self._span()

        def regs() -> list[Any]:
            return [SimData(start, count=end - start, values=0, datatype=DataType.REGISTERS)]

        bits = [SimData(0, count=16, values=False, datatype=DataType.BITS)]
        return SimDevice(self.device_id, simdata=(bits, list(bits), regs(), regs()), action=self._action)

    async def start(self) -> None:
        """Start the server (and the RTU relay)."""
        from pymodbus.framer import FramerType
        from pymodbus.server import ModbusSerialServer, ModbusTcpServer

        await self._tasks.start()
        if self.transport == "tcp":
            self._server = ModbusTcpServer(
                self._device(), framer=FramerType.SOCKET, address=(self.host, self.tcp_port), trace_packet=self._trace
            )
            await self._server.serve_forever(background=True)
            if not self.tcp_port:
                self.tcp_port = self._server.transport.sockets[0].getsockname()[1]
            return
        self._server_line = FakeSerialLine()
        self.client_line = FakeSerialLine(self.link)
        self._server = ModbusSerialServer(
            self._device(),
            framer=FramerType.ASCII if self.transport == "ascii" else FramerType.RTU,
            port=self._server_line.slave_path or "",
            baudrate=self.baudrate,
            parity=self.parity,
            stopbits=self.stopbits,
            ignore_missing_devices=True,  # on a real RS485 bus, nobody answers a wrong device id
            trace_packet=self._trace,
        )
        await self._server.serve_forever(background=True)
        self._start_relay()

    def _start_relay(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._server_line is not None
        assert self.client_line is not None
        a, b = self._server_line, self.client_line
        for src, dst in ((a, b), (b, a)):
            if src.master is not None:
                fd = src.master
                loop.add_reader(fd, self._copy, src, dst)
                self._relaying.append(fd)

    def _stop_relay(self) -> None:
        loop = asyncio.get_running_loop()
        for fd in self._relaying:
            with contextlib.suppress(Exception):
                loop.remove_reader(fd)
        self._relaying.clear()

    def _copy(self, src: FakeSerialLine, dst: FakeSerialLine) -> None:
        data = src.read()
        if not data and src.master is not None:
            try:
                os.read(src.master, 0)
            except OSError:
                self._stop_relay()
            return
        if data and dst.plugged:
            dst.write(data)

    def unplug(self) -> None:
        """RTU: pull the driver's adapter out. TCP: the gateway goes away (server stops)."""
        self._count("unplug")
        if self.transport != "tcp":
            self._stop_relay()
            assert self.client_line is not None
            self.client_line.unplug()
        else:
            self._tasks.spawn(self._server.shutdown, "modbus fake: gateway goes away")

    async def replug(self) -> None:
        """Bring the device back (RTU: as a new tty number behind the same stable link)."""
        self._count("replug")
        if self.transport != "tcp":
            assert self.client_line is not None
            self.client_line.plug()
            self._stop_relay()
            self._start_relay()
        else:
            await self.start()

    async def close(self) -> None:
        """Stop everything."""
        await self._tasks.close()
        if self.transport != "tcp" and self._relaying:
            self._stop_relay()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.shutdown()
        for line in (self._server_line, self.client_line):
            if line is not None:
                line.close()

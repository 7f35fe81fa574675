"""A Victron battery monitor on a pseudo-terminal: VE.Direct text blocks at the device's pace (one
main + history pair per second; faster for tests), with switchable faults.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Sequence
from pathlib import Path

from drivers.fakes.pty import FakeSerialLine
from drivers.vedirect.codec import battery_monitor_blocks


def replay(blocks: Sequence[bytes], per_tick: int = 2, cycle: bool = True) -> Callable[[], list[bytes]]:
    """A block source that plays captured blocks in order, `per_tick` at a time."""
    position = 0

    def next_blocks() -> list[bytes]:
        nonlocal position
        out = []
        for _ in range(per_tick):
            if position >= len(blocks):
                if not cycle or not blocks:
                    break
                position = 0
            out.append(blocks[position])
            position += 1
        return out

    return next_blocks


def constant(voltage_v: float = 13.2, current_a: float = -4.0, soc_pct: float = 87.5) -> Callable[[], list[bytes]]:
    """A block source for a monitor that always reports the same battery state."""
    return lambda: battery_monitor_blocks(
        voltage_v=voltage_v, current_a=current_a, soc_pct=soc_pct, consumed_ah=-12.5, time_to_go_min=600
    )


class VEDirectFake:
    """Writes blocks from `source` to a pty every `interval_s`; fault switches below."""

    def __init__(
        self,
        source: Callable[[], Sequence[bytes]],
        *,
        interval_s: float = 1.0,
        link: Path | None = None,
        seed: int = 0,
    ) -> None:
        self.source = source
        self.interval_s = interval_s
        self.line = FakeSerialLine(link)
        self._rng = random.Random(seed)
        self._task: asyncio.Task[None] | None = None
        self._pending_garbage = bytearray()
        self._bad_checksums = 0
        self._flips = 0
        self._cuts = 0
        self.silent = False
        self.blocks_sent = 0
        self.faults: dict[str, int] = {}

    @property
    def port(self) -> str:
        """The path a driver opens."""
        return self.line.port

    async def start(self) -> None:
        """Start sending."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="vedirect fake")

    async def close(self) -> None:
        """Stop and remove the pty."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.line.close()

    def _count(self, fault: str) -> None:
        self.faults[fault] = self.faults.get(fault, 0) + 1

    def inject_garbage(self, data: bytes | None = None, size: int = 40) -> None:
        """Send noise before the next block (random bytes unless given)."""
        self._pending_garbage += data if data is not None else self._rng.randbytes(size)
        self._count("garbage")

    def corrupt_checksums(self, blocks: int = 1) -> None:
        """Give the next blocks a wrong checksum byte."""
        self._bad_checksums += blocks

    def flip_bits(self, blocks: int = 1) -> None:
        """Flip one bit of one byte in each of the next blocks (a line glitch)."""
        self._flips += blocks

    def cut(self, blocks: int = 1) -> None:
        """Send only the first half of the next blocks."""
        self._cuts += blocks

    def unplug(self) -> None:
        """The USB adapter is pulled out."""
        self.line.unplug()
        self._count("unplug")

    def replug(self) -> None:
        """The adapter comes back (as a new tty number; the stable link follows)."""
        self.line.plug()
        self._count("replug")

    def _mangle(self, block: bytes) -> bytes:
        if self._bad_checksums:
            self._bad_checksums -= 1
            self._count("bad_checksum")
            return block[:-1] + bytes([(block[-1] + 1) & 0xFF])
        if self._flips:
            self._flips -= 1
            self._count("bit_flip")
            index = self._rng.randrange(2, len(block) - 1)
            flipped = bytearray(block)
            flipped[index] ^= 1 << self._rng.randrange(8)
            return bytes(flipped)
        if self._cuts:
            self._cuts -= 1
            self._count("cut")
            return block[: len(block) // 2]
        return block

    def send_tick(self) -> None:
        """Send what the device sends in one period (called by the pacing task)."""
        if not self.line.plugged or self.silent:
            return
        if self._pending_garbage:
            self.line.write(bytes(self._pending_garbage))
            self._pending_garbage.clear()
        for block in self.source():
            self.line.write(self._mangle(block))
            self.blocks_sent += 1

    async def _run(self) -> None:
        while True:
            self.send_tick()
            await asyncio.sleep(self.interval_s)

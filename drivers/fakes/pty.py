"""A pseudo-terminal that plays a serial device: the fake writes to the master side, the driver opens
the slave path with pyserial exactly as it would open a USB adapter. Unplugging closes both sides (the
driver's reads fail with EIO like a vanished USB device); replugging makes a new terminal with a new
number, and an optional symlink plays the adapter's stable `/dev/serial/by-id/` name.
"""

from __future__ import annotations

import contextlib
import os
import tty
from pathlib import Path


class FakeSerialLine:
    """One pseudo-terminal pair, optionally reachable through a stable-name symlink."""

    def __init__(self, link: Path | None = None) -> None:
        self.link = link
        self.master: int | None = None
        self._slave: int | None = None
        self.slave_path: str | None = None
        self.plug()

    @property
    def port(self) -> str:
        """What a driver should open: the stable link if there is one, else the slave path."""
        if self.link is not None:
            return str(self.link)
        assert self.slave_path is not None
        return self.slave_path

    @property
    def plugged(self) -> bool:
        """Whether the line exists right now."""
        return self.master is not None

    def plug(self) -> None:
        """Create a new terminal (a new /dev/pts number, as a replugged adapter gets a new ttyUSB)."""
        if self.master is not None:
            return
        previous = self.slave_path
        master, slave = os.openpty()
        if os.ttyname(slave) == previous:  # the kernel reuses free numbers; a replugged adapter gets a new one
            old_master, old_slave = master, slave
            master, slave = os.openpty()
            os.close(old_master)
            os.close(old_slave)
        tty.setraw(slave)
        os.set_blocking(master, False)
        self.master, self._slave = master, slave
        self.slave_path = os.ttyname(slave)
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
            self.link.parent.mkdir(parents=True, exist_ok=True)
            self.link.symlink_to(self.slave_path)

    def unplug(self) -> None:
        """Remove the device: close both sides and the stable link."""
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
        for fd in (self.master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.master = self._slave = None

    def write(self, data: bytes) -> int:
        """Write what fits (a device does not wait for a reader); returns bytes written."""
        if self.master is None or not data:
            return 0
        try:
            return os.write(self.master, data)
        except (BlockingIOError, OSError):
            return 0

    def read(self, size: int = 4096) -> bytes:
        """What the driver sent (b"" if nothing)."""
        if self.master is None:
            return b""
        try:
            return os.read(self.master, size)
        except (BlockingIOError, OSError):
            return b""

    def close(self) -> None:
        """Release everything."""
        self.unplug()

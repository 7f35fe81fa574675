"""Fan on a Linux hardware PWM channel through sysfs (kernel ABI "sysfs-class-pwm"), with an optional
tachometer for RPM and stall detection.

The chip is found by its `device` symlink (e.g. `1f00098000.pwm` on a Pi 5), not by its number: the
number changed between kernels (pwmchip2 on 6.6 became pwmchip0 on 6.12). The tachometer is a file:
either an hwmon `fan*_input` (RPM, e.g. from the `pwm-fan` or `gpio-fan` drivers) or a cumulative
pulse counter file (e.g. a GPIO edge counter), read at each refresh; 4-wire fans give 2 pulses per
revolution.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from drivers.base import DeviceUnavailable, DriverStats, FanReading, ProtocolError
from drivers.health import Health
from drivers.runtime import Service, TaskOwner

log = logging.getLogger(__name__)

SYSFS_PWM = Path("/sys/class/pwm")


@dataclass(frozen=True, slots=True)
class Tachometer:
    """Where the fan's speed is read and how to tell a stall."""

    path: Path
    kind: Literal["rpm", "pulses"] = "rpm"
    pulses_per_rev: int = 2
    stall_rpm: float = 150.0
    stall_min_command_pct: float = 20.0
    stall_after_s: float = 5.0


def find_chip(chip: str, root: Path = SYSFS_PWM) -> Path:
    """The pwmchip folder for `chip`: a device name (matched against each chip's `device` link), a
    `pwmchipN` name, or "" when there is exactly one chip."""
    try:
        chips = sorted(p for p in root.iterdir() if p.name.startswith("pwmchip"))
    except OSError as exc:
        raise DeviceUnavailable(f"no PWM in {root}: enable it with dtoverlay=pwm or pwm-2chan ({exc})") from exc
    if chip.startswith("pwmchip"):
        if (root / chip).is_dir():
            return root / chip
    else:
        matches = [p for p in chips if not chip or os.path.basename(os.path.realpath(p / "device")) == chip]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            names = ", ".join(os.path.basename(os.path.realpath(p / "device")) for p in matches)
            raise DeviceUnavailable(f"several PWM chips ({names}): set chip to one of them")
    present = ", ".join(f"{p.name} ({os.path.basename(os.path.realpath(p / 'device'))})" for p in chips) or "none"
    raise DeviceUnavailable(
        f"PWM chip {chip!r} not found (present: {present}); check the dtoverlay=pwm line in config.txt"
    )


class PwmFan(Service):
    """A fan whose speed is a PWM duty cycle (100 % = full speed; `inverted` for an inverting driver stage)."""

    def __init__(
        self,
        *,
        chip: str = "",
        channel: int = 0,
        frequency_hz: float = 25_000.0,
        inverted: bool = False,
        tachometer: Tachometer | None = None,
        sysfs_root: Path = SYSFS_PWM,
        clock: Callable[[], float] = time.monotonic,
        refresh_s: float = 1.0,
        stale_after_s: float = 5.0,
        export_timeout_s: float = 2.0,
        name: str = "fan (PWM)",
    ) -> None:
        self.chip = chip
        self.channel = channel
        self.period_ns = round(1e9 / frequency_hz)
        self.inverted = inverted
        self.tachometer = tachometer
        self._root = sysfs_root
        self._clock = clock
        self.refresh_s = refresh_s
        self._export_timeout_s = export_timeout_s
        self._health = Health(name, log, clock, stale_after_s)
        self.stats: DriverStats = self._health.stats
        self._dir: Path | None = None
        self._software_inversion = inverted
        self._command: float | None = None
        self._latest: FanReading | None = None
        self._pulses: tuple[float, int] | None = None
        self._low_since: float | None = None
        self._stalled = False
        self._tasks = TaskOwner(name)

    async def start(self) -> None:
        """Export and configure the channel (retried by the refresh task if it fails now)."""
        try:
            await self._open()
        except DeviceUnavailable as exc:
            self._health.unavailable(str(exc))
        except ProtocolError as exc:
            self._dir = None
            self._health.corrupt(str(exc))
        if not self._tasks.running:
            await self._tasks.start()
            self._tasks.spawn(self._run)

    async def close(self) -> None:
        """Stop the refresh task; the channel keeps its duty (the kernel holds it)."""
        await self._tasks.close()

    def latest(self) -> FanReading | None:
        """The applied command and, with a tachometer, the measured speed."""
        return self._latest

    async def set_command(self, command_pct: float) -> None:
        """Set the duty cycle; failures are counted and retried by the refresh task, never raised."""
        self._command = min(100.0, max(0.0, command_pct))
        self._apply()

    def _write(self, name: str, value: str | int) -> None:
        assert self._dir is not None
        path = self._dir / name
        try:
            path.write_text(f"{value}\n")
        except FileNotFoundError as exc:
            self._dir = None
            raise DeviceUnavailable(f"{path} vanished (channel unexported?)") from exc
        except OSError as exc:
            if exc.errno == errno.EACCES:
                raise DeviceUnavailable(f"no permission to write {path}: add the service user to group gpio") from exc
            raise ProtocolError(f"kernel refused {value} for {path}: {exc}") from exc

    async def _open(self) -> None:
        chip = find_chip(self.chip, self._root)
        channel_dir = chip / f"pwm{self.channel}"
        if not channel_dir.is_dir():
            try:
                (chip / "export").write_text(f"{self.channel}\n")
            except OSError as exc:
                if exc.errno != errno.EBUSY:
                    raise DeviceUnavailable(f"cannot export channel {self.channel} of {chip}: {exc}") from exc
            deadline = self._clock() + self._export_timeout_s
            # udev creates the files and fixes their group shortly after the export.
            while not (channel_dir / "duty_cycle").exists():
                if self._clock() > deadline:
                    raise DeviceUnavailable(f"{channel_dir} did not appear after export")
                await asyncio.sleep(0.005)
        self._dir = channel_dir
        self._write("enable", 0)
        self._write("duty_cycle", 0)
        self._write("period", self.period_ns)
        # An inverting driver stage is compensated by the chip's "inversed" polarity where the chip supports
        # it (polarity can only change while disabled), else by inverting the duty cycle in software.
        self._software_inversion = self.inverted
        if (channel_dir / "polarity").exists():
            try:
                self._write("polarity", "inversed" if self.inverted else "normal")
                self._software_inversion = False
            except ProtocolError:
                log.debug("%s: polarity refused; inverting the duty cycle in software", self._health.name)
        self._write("enable", 1)
        log.debug("%s: %s configured, period %d ns", self._health.name, channel_dir, self.period_ns)

    def _duty_ns(self, pct: float) -> int:
        duty = round(self.period_ns * pct / 100.0)
        return self.period_ns - duty if self._software_inversion else duty

    def _apply(self) -> bool:
        if self._command is None:
            return True
        if self._dir is None:
            return False  # the refresh task reopens the channel; the reason is already in stats
        try:
            self._write("duty_cycle", self._duty_ns(self._command))
            self._write("enable", 1)
        except DeviceUnavailable as exc:
            self._health.unavailable(str(exc))
            return False
        except ProtocolError as exc:
            self._health.corrupt(str(exc))
            return False
        self._update(self._clock())
        return True

    def _read_rpm(self, now: float) -> float | None:
        tach = self.tachometer
        if tach is None:
            return None
        try:
            raw = int(tach.path.read_text().strip())
        except (OSError, ValueError) as exc:
            self._health.count("tach_errors")
            log.debug("%s: tachometer unreadable: %s", self._health.name, exc)
            return None
        if tach.kind == "rpm":
            return float(raw)
        previous, self._pulses = self._pulses, (now, raw)
        if previous is None or now <= previous[0] or raw < previous[1]:
            return None
        return (raw - previous[1]) / tach.pulses_per_rev / (now - previous[0]) * 60.0

    def _update(self, now: float) -> None:
        if self._command is None:
            return
        rpm = self._read_rpm(now)
        tach = self.tachometer
        stalled = False
        if tach is not None and rpm is not None and self._command >= tach.stall_min_command_pct:
            if rpm < tach.stall_rpm:
                self._low_since = now if self._low_since is None else self._low_since
                stalled = now - self._low_since >= tach.stall_after_s
            else:
                self._low_since = None
        else:
            self._low_since = None
        if stalled and not self._stalled:
            self._health.count("stalls")
            log.warning("%s: fan stalled (%.0f rpm at %.0f %%)", self._health.name, rpm or 0.0, self._command)
        elif self._stalled and not stalled:
            log.info("%s: fan turning again", self._health.name)
        self._stalled = stalled
        self._latest = FanReading(now, self._command, rpm, stalled)
        self._health.ok()

    async def refresh(self) -> None:
        """One refresh: reopen if needed, re-apply the command, read the tachometer."""
        if self._dir is None or not (self._dir / "duty_cycle").exists():
            self._dir = None
            try:
                await self._open()
                self._health.reconnected()
            except DeviceUnavailable as exc:
                self._health.unavailable(str(exc))
                return
            except ProtocolError as exc:
                self._health.corrupt(str(exc))
                return
        if self._command is not None:
            self._apply()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_s)
            try:
                await self.refresh()
            except Exception as exc:  # a driver bug must not kill the daemon
                self._health.unexpected(exc)

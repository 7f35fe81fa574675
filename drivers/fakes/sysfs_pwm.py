"""A sysfs-shaped PWM folder with a tiny "kernel": exporting a channel creates its files, and a fan
model turns the duty cycle into a speed written to an hwmon-style `fan1_input` (RPM) file or a pulse
counter file. Faults: a stalled fan, and the channel vanishing (unexported behind the driver's back).
Kernel rules the driver must respect are checked and counted in `violations` (duty above period).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from pathlib import Path

from drivers.runtime import Service, TaskOwner


class PwmSysfsFake(Service):
    """`root` plays /sys/class/pwm with one chip whose `device` link names `device_name`."""

    def __init__(
        self,
        root: Path,
        *,
        device_name: str = "1f00098000.pwm",
        chip_number: int = 0,
        npwm: int = 4,
        max_rpm: float = 3000.0,
        tach_kind: str = "rpm",
    ) -> None:
        self.root = root
        self.chip = root / f"pwmchip{chip_number}"
        self.devices = root.parent / "devices" / "platform" / "axi" / device_name
        self.devices.mkdir(parents=True, exist_ok=True)
        self.chip.mkdir(parents=True, exist_ok=True)
        (self.chip / "device").symlink_to(self.devices)
        (self.chip / "npwm").write_text(f"{npwm}\n")
        (self.chip / "export").write_text("")
        (self.chip / "unexport").write_text("")
        self.npwm = npwm
        self.max_rpm = max_rpm
        self.tach_kind = tach_kind
        self.tach_path = root.parent / "hwmon" / ("fan1_input" if tach_kind == "rpm" else "pulses")
        self.tach_path.parent.mkdir(parents=True, exist_ok=True)
        self.tach_path.write_text("0\n")
        self.stalled = False
        self.polarity_supported = True
        """False plays a chip whose driver has no polarity attribute."""
        self.violations: list[str] = []
        self.exports = 0
        self._pulses = 0.0
        self._tasks = TaskOwner("pwm sysfs fake")

    def channel(self, n: int) -> Path:
        """The folder of channel n."""
        return self.chip / f"pwm{n}"

    def read(self, n: int, name: str) -> str:
        """A channel attribute as the driver left it."""
        return (self.channel(n) / name).read_text().strip()

    def step(self, dt_s: float = 0.0) -> None:
        """What the kernel and the fan do: handle exports, check rules, spin the fan."""
        export = (self.chip / "export").read_text().strip()
        if export:
            n = int(export)
            (self.chip / "export").write_text("")
            if 0 <= n < self.npwm and not self.channel(n).exists():
                ch = self.channel(n)
                ch.mkdir()
                for name, value in (("period", "0"), ("duty_cycle", "0"), ("enable", "0"), ("polarity", "normal")):
                    if name != "polarity" or self.polarity_supported:
                        (ch / name).write_text(value + "\n")
                self.exports += 1
        for ch in self.chip.glob("pwm[0-9]*"):
            with contextlib.suppress(OSError, ValueError):
                period = int((ch / "period").read_text())
                duty = int((ch / "duty_cycle").read_text())
                if duty > period:
                    self.violations.append(f"{ch.name}: duty {duty} > period {period}")
        rpm = 0.0 if self.stalled else self.rpm(0)
        if self.tach_kind == "rpm":
            self._publish(f"{round(rpm)}\n")
        else:
            self._pulses += rpm / 60.0 * 2 * dt_s
            self._publish(f"{int(self._pulses)}\n")

    def _publish(self, text: str) -> None:
        """Replace the tachometer file at once, as a kernel attribute read is (never a half-written file)."""
        scratch = self.tach_path.with_suffix(".new")
        scratch.write_text(text)
        os.replace(scratch, self.tach_path)

    def rpm(self, n: int) -> float:
        """The speed a fan wired straight to channel n's pin would have (no stall, no inverting stage)."""
        ch = self.channel(n)
        try:
            if (ch / "enable").read_text().strip() != "1":
                return 0.0
            period = int((ch / "period").read_text())
            duty = int((ch / "duty_cycle").read_text())
            inversed = self.polarity_supported and (ch / "polarity").read_text().strip() == "inversed"
        except (OSError, ValueError):
            return 0.0
        if period <= 0:
            return 0.0
        fraction = min(1.0, duty / period)
        return self.max_rpm * ((1.0 - fraction) if inversed else fraction)

    def duty_pct(self, n: int) -> float:
        """The share of each period channel n's pin is high, 0-100 (0 when disabled): what a simulated
        plant reads as the fan command."""
        return 100.0 * self.rpm(n) / self.max_rpm if self.max_rpm else 0.0

    def vanish(self, n: int) -> None:
        """The channel disappears (someone unexported it)."""
        shutil.rmtree(self.channel(n), ignore_errors=True)

    async def start(self, interval_s: float = 0.005) -> None:
        """Run the kernel/fan model in the background."""

        async def run() -> None:
            while True:
                self.step(interval_s)
                await asyncio.sleep(interval_s)

        if not self._tasks.running:
            await self._tasks.start()
            self._tasks.spawn(run)

    async def close(self) -> None:
        """Stop the model."""
        await self._tasks.close()

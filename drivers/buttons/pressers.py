"""How a press reaches the purifier: a GPIO line bridging a button's contacts (libgpiod v2), or the
remote's code sent by the kernel's IR transmitter (`ir-ctl` from v4l-utils on a `/dev/lircN` device).

Both raise PressFailed when the press cannot be made (no chip, no device, the tool failed), which the
driver counts as its device being unavailable.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import gpiod
from gpiod.line import Direction, Value

RequestLines = Callable[..., Any]
"""gpiod.request_lines, or a fake with its signature (the seam of the GPIO presser)."""
RunTool = Callable[[list[str]], Awaitable[tuple[int, str]]]
"""Runs a command line and returns (exit status, standard error): the seam of the IR presser."""
Sleep = Callable[[float], Awaitable[None]]


class PressFailed(Exception):
    """A press could not be made (the message says why and what to check)."""


class Presser(Protocol):
    """Makes presses of named buttons."""

    def buttons(self) -> frozenset[str]:
        """The buttons it can press."""
        ...

    async def open(self) -> None:
        """Claim the hardware (idempotent); PressFailed when it is not there."""
        ...

    async def press(self, button: str) -> None:
        """One press of `button`, and the pause after it; PressFailed when it could not be made."""
        ...

    def close(self) -> None:
        """Release the hardware."""
        ...


@dataclass(frozen=True, slots=True)
class Wiring:
    """Where each button's optocoupler or relay hangs and how long a press lasts."""

    chip: str
    lines: Mapping[str, int]
    active_low: bool = False
    press_s: float = 0.15
    release_s: float = 0.35


def chip_path(chip: str) -> str:
    """`gpiochip0` or `/dev/gpiochip0` as a path."""
    return chip if chip.startswith("/") else f"/dev/{chip}"


class GpioPresser:
    """Presses by driving a GPIO line active for press_s, then inactive for release_s."""

    def __init__(self, wiring: Wiring, sleep: Sleep = asyncio.sleep, request_lines: RequestLines = gpiod.request_lines):
        self.wiring = wiring
        self._sleep = sleep
        self._request_lines = request_lines
        self._request: Any = None

    def buttons(self) -> frozenset[str]:
        """The buttons that have a line."""
        return frozenset(self.wiring.lines)

    async def open(self) -> None:
        """Request every line as an output, inactive."""
        if self._request is not None:
            return
        settings = gpiod.LineSettings(
            direction=Direction.OUTPUT, active_low=self.wiring.active_low, output_value=Value.INACTIVE
        )
        offsets = tuple(sorted(set(self.wiring.lines.values())))
        path = chip_path(self.wiring.chip)
        try:
            self._request = self._request_lines(path, config={offsets: settings}, consumer="cleanroom-buttons")
        except (OSError, ValueError) as exc:
            raise PressFailed(f"cannot request lines {offsets} of {path}: {exc}") from exc

    async def press(self, button: str) -> None:
        """Hold the button's line active for press_s, release it, wait release_s."""
        line = self.wiring.lines[button]
        try:
            self._request.set_value(line, Value.ACTIVE)
            await self._sleep(self.wiring.press_s)
            self._request.set_value(line, Value.INACTIVE)
        except (OSError, AttributeError, gpiod.RequestReleasedError) as exc:
            self.close()
            raise PressFailed(f"pressing {button} (line {line}) failed: {exc}") from exc
        await self._sleep(self.wiring.release_s)

    def close(self) -> None:
        """Release the lines (the kernel keeps them inactive)."""
        request, self._request = self._request, None
        if request is not None:
            try:
                request.release()
            except Exception:  # a request that is already gone has nothing left to release
                return


async def run_tool(argv: list[str]) -> tuple[int, str]:
    """Run a command; (exit status, standard error). A missing program is status 127."""
    try:
        process = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
    except OSError as exc:
        return 127, str(exc)
    _, err = await process.communicate()
    return process.returncode or 0, err.decode(errors="replace").strip()


def send_argv(ir_ctl: str, device: str, code: str) -> list[str]:
    """The ir-ctl command line that sends one code: a scancode "protocol:number" (e.g. "nec:0x40bf") with
    --scancode, or the path of a file of raw pulses and spaces (as `cleanroom learn-ir` saves) with --send."""
    if os.sep in code or code.endswith((".ir", ".txt")):
        return [ir_ctl, f"--device={device}", f"--send={code}"]
    return [ir_ctl, f"--device={device}", f"--scancode={code}"]


class IrPresser:
    """Presses by sending the remote's code for the button through a lirc transmitter with ir-ctl."""

    def __init__(
        self,
        device: str,
        codes: Mapping[str, str],
        *,
        ir_ctl: str = "ir-ctl",
        gap_s: float = 0.3,
        sleep: Sleep = asyncio.sleep,
        run: RunTool = run_tool,
    ) -> None:
        self.device = device
        self.codes = dict(codes)
        self.ir_ctl = ir_ctl
        self.gap_s = gap_s
        self._sleep = sleep
        self._run = run
        self._checked = False

    def buttons(self) -> frozenset[str]:
        """The buttons that have a code."""
        return frozenset(self.codes)

    async def open(self) -> None:
        """Ask ir-ctl for the transmitter's features: a missing device or tool fails here, not mid-press."""
        if self._checked:
            return
        status, err = await self._run([self.ir_ctl, f"--device={self.device}", "--features"])
        if status != 0:
            hint = "install v4l-utils" if status == 127 else "add dtoverlay=gpio-ir-tx to config.txt"
            raise PressFailed(f"no IR transmitter at {self.device} ({err or status}): {hint}")
        self._checked = True

    async def press(self, button: str) -> None:
        """Send the button's code, then wait gap_s."""
        status, err = await self._run(send_argv(self.ir_ctl, self.device, self.codes[button]))
        if status != 0:
            self._checked = False
            hint = " (install v4l-utils)" if status == 127 else ""
            raise PressFailed(f"{self.ir_ctl} could not send {button!r} on {self.device}: {err or status}{hint}")
        await self._sleep(self.gap_s)

    def close(self) -> None:
        """Nothing is held between sends; the next open checks the device again."""
        self._checked = False

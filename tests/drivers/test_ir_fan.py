"""The `ir` fan driver: the same planning and power verification as `buttons`, its presses sent as the
remote's codes through ir-ctl (the seam): in process through the ir-ctl fake, and as a real program
(the fake run as `ir-ctl`) through the driver's own subprocess call."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from pathlib import Path

import pytest

from drivers.base import DeviceState
from drivers.buttons.driver import ButtonFan
from drivers.buttons.plan import OFF, Layout, State
from drivers.buttons.pressers import IrPresser, run_tool, send_argv
from drivers.buttons.verify import PowerSignature, Rules
from drivers.fakes.gpiod_lines import SimulatedPurifier
from drivers.fakes.ir_ctl import FakeIrCtl
from tests.drivers.helpers import fast_backoff
from tests.drivers.test_button_fan import COMMANDS, WATTS, ManualClock

REPO = Path(__file__).resolve().parents[2]
CODES = {"1": "nec:0x0001", "2": "nec:0x0002", "3": "nec:0x0003", "4": "nec:0x0004", "5": "nec:0x0005"}
CODES |= {"6": "nec:0x0006", "off": "nec:0x00ff"}
LAYOUT = Layout("per-setting", 6, per_setting=(1, 2, 3, 4, 5, 6), has_off_button=True)


def ir_fan(clock: ManualClock, run: object, device: str = "/dev/lirc0") -> ButtonFan:
    return ButtonFan(
        IrPresser(device, CODES, sleep=clock.sleep, run=run),  # type: ignore[arg-type]
        LAYOUT,
        commands_pct=COMMANDS,
        signature=PowerSignature.from_watts(WATTS),
        rules=Rules(settle_s=3.0),
        power_up=OFF,
        clock=clock.monotonic,
        sleep=clock.sleep,
        backoff=fast_backoff(),
        name="fan (ir)",
    )


async def feed(clock: ManualClock, fan: ButtonFan, purifier: SimulatedPurifier, seconds: int) -> None:
    for _ in range(seconds):
        await clock.sleep(1.0)
        fan.observe_power(0.0 if purifier.setting == OFF else WATTS[purifier.setting - 1], clock.now)
        for _ in range(5):
            await asyncio.sleep(0)


def test_codes_become_ir_ctl_command_lines() -> None:
    assert send_argv("ir-ctl", "/dev/lirc0", "nec:0x40bf") == ["ir-ctl", "--device=/dev/lirc0", "--scancode=nec:0x40bf"]
    raw = "/var/lib/cleanroom/ir/3.ir"
    assert send_argv("ir-ctl", "/dev/lirc0", raw) == ["ir-ctl", "--device=/dev/lirc0", f"--send={raw}"]


async def test_codes_reach_the_purifier_and_a_missed_one_is_sent_again() -> None:
    clock, ir_ctl = ManualClock(), FakeIrCtl()
    purifier = SimulatedPurifier(LAYOUT, {}, State(OFF, 1))
    buttons = {code: button for button, code in CODES.items()}
    ir_ctl.listeners.append(lambda code: purifier.press(buttons[code]))
    purifier.miss_next = 1
    fan = ir_fan(clock, ir_ctl)
    async with fan:
        await fan.set_command(COMMANDS[3])
        await feed(clock, fan, purifier, 12)
        assert purifier.setting == 4
        assert fan.presses == 2
        assert fan.stats.counters["corrections"] == 1
        assert fan.stats.state is DeviceState.OK
    sends = [argv for argv in ir_ctl.calls if "--features" not in argv]
    assert sends[0] == ["ir-ctl", "--device=/dev/lirc0", "--scancode=nec:0x0004"]


async def test_a_missing_transmitter_is_unavailable_with_the_overlay_hint() -> None:
    clock, ir_ctl = ManualClock(), FakeIrCtl(devices=())
    fan = ir_fan(clock, ir_ctl)
    async with fan:
        await fan.set_command(COMMANDS[1])
        purifier = SimulatedPurifier(LAYOUT, {}, State(OFF, 1))
        await feed(clock, fan, purifier, 3)
        assert fan.stats.state is DeviceState.UNAVAILABLE
        assert "gpio-ir-tx" in (fan.stats.last_error or "")
        ir_ctl.devices.add("/dev/lirc0")
        buttons = {code: button for button, code in CODES.items()}
        ir_ctl.listeners.append(lambda code: purifier.press(buttons[code]))
        await feed(clock, fan, purifier, 8)
        assert purifier.setting == 2
        assert fan.stats.state is DeviceState.OK


@pytest.fixture
def fake_program(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The ir-ctl fake as a program, a lirc 'device' file, and the log of what it sent."""
    program = tmp_path / "ir-ctl"
    program.write_text(f'#!/bin/sh\ncd {REPO}\nexec {sys.executable} -m drivers.fakes.ir_ctl "$@"\n')
    program.chmod(program.stat().st_mode | stat.S_IEXEC)
    device = tmp_path / "lirc0"
    device.write_text("")
    return program, device, tmp_path / "sent.log"


async def test_the_real_subprocess_call_sends_through_the_program(
    fake_program: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    program, device, log = fake_program
    monkeypatch.setenv("FAKE_IR_CTL_LOG", str(log))
    presser = IrPresser(str(device), CODES, ir_ctl=str(program), gap_s=0.01, run=run_tool)
    await presser.open()
    await presser.press("3")
    assert log.read_text() == f"{device} nec:0x0003\n"
    missing = IrPresser(str(device.with_name("lirc9")), CODES, ir_ctl=str(program), run=run_tool)
    with pytest.raises(Exception, match="gpio-ir-tx"):
        await missing.open()
    absent = IrPresser(str(device), CODES, ir_ctl=str(device.with_name("no-such-ir-ctl")), run=run_tool)
    with pytest.raises(Exception, match="install v4l-utils"):
        await absent.open()
    assert os.access(program, os.X_OK)

"""The `buttons` and `ir` fan drivers built from their configuration and the fan curve (the composition
root's part; the configuration is read in controller.config.buttons)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import gpiod

from controller.config.buttons import button_layout, position, signature
from controller.models.fan import FanCurve
from drivers.buttons.driver import ButtonFan
from drivers.buttons.pressers import GpioPresser, IrPresser, Presser, RequestLines, RunTool, Wiring, run_tool
from drivers.buttons.verify import Rules
from drivers.config import ButtonsFanConfig


def build_button_fan(
    config: ButtonsFanConfig,
    curve: FanCurve,
    *,
    safe_speed_pct: float = 50.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    request_lines: RequestLines | None = None,
    run_ir: RunTool | None = None,
) -> ButtonFan:
    """The `buttons` or `ir` fan driver for this configuration and curve (not started); `request_lines`
    and `run_ir` replace gpiod's and ir-ctl's (the seams the simulator's fakes sit at)."""
    layout = button_layout(config, curve)
    labels = tuple(p.setting for p in curve.points)
    power_up = None if config.power_up == "last" else position(config, labels, "power_up", config.power_up)
    commands = tuple(p.command_pct for p in curve.points)
    safe = max(1, sum(1 for c in commands if c <= safe_speed_pct + 1e-9))
    presser: Presser
    if config.driver == "ir":
        presser = IrPresser(
            config.device, dict(config.codes), ir_ctl=config.ir_ctl, gap_s=config.gap_s,
            sleep=sleep or asyncio.sleep, run=run_ir or run_tool,
        )  # fmt: skip
    else:
        wiring = Wiring(config.chip, dict(config.lines), config.active_low, config.press_s, config.release_s)
        presser = GpioPresser(wiring, sleep or asyncio.sleep, request_lines or gpiod.request_lines)
    return ButtonFan(
        presser,
        layout,
        commands_pct=commands,
        signature=signature(config, curve),
        rules=Rules(settle_s=config.settle_s),
        power_up=power_up,
        safe_setting=safe,
        clock=clock,
        sleep=sleep or asyncio.sleep,
        name=f"fan ({config.driver})",
    )

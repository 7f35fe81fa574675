"""A simulated purifier behind real buttons: the real `buttons` driver presses, through the gpiod fake,
a purifier state machine whose setting drives the simulated plant's fan."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from controller.button_fan import build_button_fan
from controller.clock import SimulatedClock
from controller.config.buttons import button_layout
from controller.config.plant import FanSection
from controller.sim.devices import SimulatedPlant
from drivers.buttons.driver import ButtonFan
from drivers.buttons.plan import OFF, State
from drivers.buttons.pressers import chip_path
from drivers.config import ButtonsFanConfig, FanConfig
from drivers.fakes.gpiod_lines import FakeGpioChip, SimulatedPurifier
from drivers.fakes.ir_ctl import FakeIrCtl

DEFAULT_LINE = 17


def default_buttons(fan: FanSection, driver: str = "buttons") -> ButtonsFanConfig:
    """The simulator's purifier when the configuration has none. Buttons: one button cycling off, then each
    setting from lowest to highest (every press of the round trip down is counted), switched on while off.
    IR: a remote with one code per setting and one for off (made-up NEC scancodes)."""
    labels = tuple(p.setting for p in fan.curve.points)
    if driver == "ir":
        codes = tuple((label, f"nec:0x{index + 1:04x}") for index, label in enumerate(labels))
        return ButtonsFanConfig(
            layout="per-setting", codes=(*codes, ("off", "nec:0x00ff")), power_up="off", driver="ir"
        )
    return ButtonsFanConfig(layout="cycle", lines=(("cycle", DEFAULT_LINE),), cycle=("off", *labels), power_up="off")


def purifier_buttons(configured: FanConfig, fan: FanSection, driver: str) -> ButtonsFanConfig:
    """The configuration's own buttons (or remote) when it has them for this driver, else the default."""
    if isinstance(configured, ButtonsFanConfig) and configured.driver == driver:
        return configured
    return default_buttons(fan, driver)


@dataclass(frozen=True, slots=True)
class PressedPurifier:
    """The driver the daemon runs and the purifier it presses (the benchmarks read both)."""

    fan: ButtonFan
    purifier: SimulatedPurifier
    clock: SimulatedClock


def pressed_purifier(
    plant: SimulatedPlant,
    fan: FanSection,
    config: ButtonsFanConfig,
    clock: SimulatedClock,
    *,
    miss_probability: float = 0.0,
    seed: int = 0,
) -> PressedPurifier:
    """The purifier on the plant (starting off, or at its fixed power-up setting) and the real driver.

    An accelerated clock advances by every sleep of every task, each after one turn of the event loop, so
    a press sequence would be spread over several of the loop's ticks; there the driver's sleeps advance
    the clock without yielding, so that a sequence takes its simulated seconds between two ticks, as it
    does in real time."""
    curve = fan.curve
    layout = button_layout(config, curve)
    labels = tuple(p.setting for p in curve.points)
    start = labels.index(config.power_up) + 1 if config.power_up in labels else OFF
    commands = tuple(p.command_pct for p in curve.points)

    def apply(setting: int) -> None:
        plant.set_command(0.0 if setting == OFF else commands[setting - 1])

    purifier = SimulatedPurifier(
        layout,
        {offset: button for button, offset in config.lines},
        State(start, max(start, 1)),
        apply=apply,
        wired_active_low=config.active_low,
        min_press_s=min(0.05, config.press_s),
        miss_probability=miss_probability,
        rng=random.Random(seed + 7),
    )
    apply(start)
    sleep = clock.sleep if clock.speed is not None else _advancing(clock)
    if config.driver == "ir":
        ir_ctl = FakeIrCtl((config.device,))
        buttons = {code: button for button, code in config.codes}
        ir_ctl.listeners.append(lambda code: purifier.press(buttons[code]) if code in buttons else None)
        driver = build_button_fan(config, curve, safe_speed_pct=fan.safe_speed_pct, clock=clock.monotonic,
                                  sleep=sleep, run_ir=ir_ctl)  # fmt: skip
    else:
        chip = FakeGpioChip(chip_path(config.chip), clock=clock.monotonic)
        purifier.attach(chip)
        driver = build_button_fan(config, curve, safe_speed_pct=fan.safe_speed_pct, clock=clock.monotonic,
                                  sleep=sleep, request_lines=chip.request_lines)  # fmt: skip
    return PressedPurifier(driver, purifier, clock)


def _advancing(clock: SimulatedClock) -> Callable[[float], Awaitable[None]]:
    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    return sleep

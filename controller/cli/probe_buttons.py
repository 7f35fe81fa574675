"""`cleanroom probe fan --driver buttons --config FILE --set PCT`: press a purifier's buttons toward the
setting of PCT and report what the fan's measured power says about it (through the configured shunt)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from controller.daemon_settings import DaemonSettings
from controller.step.state import ShuntInput
from controller.step.views import measured_fan_w
from drivers.base import DeviceState, Shunt
from drivers.buttons.driver import ButtonFan
from drivers.buttons.plan import OFF, setting_of
from drivers.config import ButtonsFanConfig

POLL_S = 1.0


def _label(setting: int | None) -> str | None:
    return None if setting is None else ("off" if setting == OFF else str(setting))


async def probe_buttons(
    fan: ButtonFan,
    shunt: Shunt,
    settings: DaemonSettings,
    set_pct: float,
    *,
    wait_s: float,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> tuple[dict[str, Any], str | None]:
    """Press toward the setting of set_pct for up to wait_s, handing the fan's power to the driver every
    POLL_S, and report the driver's belief, what the power said and how many presses it took."""
    await shunt.start()
    await fan.start()
    fan_w: float | None = None
    target = fan.setting_for(set_pct)
    try:
        await fan.set_command(set_pct)
        waited = 0.0
        while waited < wait_s:
            await sleep(POLL_S)
            waited += POLL_S
            reading = shunt.latest()
            shunt_input = (
                None if reading is None else ShuntInput(reading.monotonic_s, reading.voltage_v, reading.current_a)
            )
            fan_w = measured_fan_w(settings, shunt_input)
            fan.observe_power(fan_w, reading.monotonic_s if reading is not None else 0.0)
            if fan.message.startswith("verified") and setting_of(fan.belief) == target:
                break
    finally:
        await fan.close()
        await shunt.close()
    seen = None if fan_w is None or fan.signature is None else fan.signature.identify(fan_w)
    result = {
        "target_setting": _label(target),
        "believed_setting": _label(setting_of(fan.belief)),
        "power_says": _label(seen),
        "fan_power_w": None if fan_w is None else round(fan_w, 2),
        "presses": fan.presses,
        "corrections": fan.stats.counters.get("corrections", 0),
        "state": fan.stats.state.value,
        "message": fan.message,
    }
    verified = seen is not None and seen == target
    reason = fan.stats.last_error if fan.stats.state is DeviceState.UNAVAILABLE else fan.message
    return result, None if verified else f"the power does not confirm {_label(target)}: {reason}"


async def run_buttons_probe(args: argparse.Namespace, timeout_s: float) -> tuple[dict[str, Any], str | None]:
    """The probe with the configuration's shunt, [fan] curve and buttons (flags such as --chip win)."""
    from dataclasses import replace

    from controller.config.loader import load_config
    from controller.devices import build_fan, build_shunt
    from controller.errors import ConfigError

    expected = 'a configuration with [devices.fan] driver = "buttons", its [fan] curve and a [devices.shunt]'
    if args.config is None:
        raise ConfigError("command line", "--config", None, expected)
    if args.set_pct is None or not 0 <= args.set_pct <= 100:
        raise ConfigError("command line", "--set", args.set_pct, "the command to press toward, in % from 0 to 100")
    config = load_config(args.config)
    buttons = config.devices.fan
    if not isinstance(buttons, ButtonsFanConfig):
        raise ConfigError(str(args.config), "devices.fan.driver", getattr(buttons, "driver", None), expected)
    if args.chip:
        config = replace(config, devices=replace(config.devices, fan=replace(buttons, chip=args.chip)))
    fan = build_fan(config.devices, fan=config.fan)
    assert isinstance(fan, ButtonFan)
    shunt = build_shunt(config.devices)
    settings = DaemonSettings.from_config(config, None)
    wait_s = timeout_s if args.timeout else fan.rules.settle_s + 10.0
    return await probe_buttons(fan, shunt, settings, args.set_pct, wait_s=wait_s)

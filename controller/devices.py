"""The composition root's device wiring: the configured driver of each role, built from its parameters.
"simulated" roles are built by the simulator, not here."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from controller.button_fan import build_button_fan
from controller.config.plant import FanSection
from controller.errors import ConfigError
from drivers.base import Fan, PressureSensor, Shunt
from drivers.config import ButtonsFanConfig, DevicesSection, Simulated
from drivers.factory import fan_driver, pressure_driver, shunt_driver

SOURCE = "[devices]"


def _simulated(role: str, driver: str) -> ConfigError:
    return ConfigError(
        SOURCE,
        f"devices.{role}.driver",
        driver,
        'a hardware driver here; "simulated" devices are provided by `cleanroom sim`',
    )


def build_shunt(
    section: DevicesSection, clock: Callable[[], float] = time.monotonic, rng: random.Random | None = None
) -> Shunt:
    """The battery monitor driver of the configuration (not started)."""
    if isinstance(section.shunt, Simulated):
        raise _simulated("shunt", section.shunt.driver)
    return shunt_driver(section.shunt, clock, rng)


def build_pressure_sensor(
    section: DevicesSection, clock: Callable[[], float] = time.monotonic, rng: random.Random | None = None
) -> PressureSensor:
    """The pressure sensor driver of the configuration (not started)."""
    if isinstance(section.pressure, Simulated):
        raise _simulated("pressure", section.pressure.driver)
    return pressure_driver(section.pressure, clock, rng)


def build_fan(
    section: DevicesSection,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    fan: FanSection | None = None,
) -> Fan:
    """The fan driver of the configuration (not started); a `buttons` fan needs the [fan] section, whose
    curve names its settings and whose safe speed is its fallback setting."""
    if isinstance(section.fan, Simulated):
        raise _simulated("fan", section.fan.driver)
    if isinstance(section.fan, ButtonsFanConfig):
        if fan is None:
            raise ConfigError(SOURCE, "devices.fan.driver", "buttons", "a configuration with a [fan] curve")
        return build_button_fan(section.fan, fan.curve, safe_speed_pct=fan.safe_speed_pct, clock=clock)
    return fan_driver(section.fan, clock, rng)

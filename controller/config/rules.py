"""Values that are each in range but contradict each other: one row per rule, checked on the whole
configuration after every section is parsed (by `load_config`, so `check-config`, `run` and `sim` refuse the
same files). A row names the key the user should change, shows its value with its unit, and says what it
must be relative to the other key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from controller.errors import ConfigError

if TYPE_CHECKING:
    from controller.config.loader import Config


@dataclass(frozen=True, slots=True)
class Rule:
    """`holds(config)` must be true; otherwise `key` = `shown(config)` is refused with `expected(config)`."""

    key: str
    holds: Callable[[Config], bool]
    shown: Callable[[Config], str]
    expected: Callable[[Config], str]


def _pct(value: float) -> str:
    return f"{value:g} %"


def _pa(value: float) -> str:
    return f"{value:g} Pa"


def _v(value: float) -> str:
    return f"{value:g} V"


RULES: tuple[Rule, ...] = (
    Rule(
        "fan.min_duty",
        lambda c: c.fan.min_duty_pct <= c.fan.safe_speed_pct,
        lambda c: _pct(c.fan.min_duty_pct),
        lambda c: f"at most safe_speed ({_pct(c.fan.safe_speed_pct)}): the fan must be able to run at its safe speed",
    ),
    Rule(
        "fan.kick_start",
        lambda c: c.fan.kick_start_pct == 0.0 or c.fan.kick_start_pct >= c.fan.min_duty_pct,
        lambda c: _pct(c.fan.kick_start_pct),
        lambda c: f"0 % (no kick) or at least min_duty ({_pct(c.fan.min_duty_pct)})",
    ),
    Rule(
        "control.pressure_floor",
        lambda c: c.control.pressure_floor_pa < c.control.pressure_cap_pa,
        lambda c: _pa(c.control.pressure_floor_pa),
        lambda c: f"below pressure_cap ({_pa(c.control.pressure_cap_pa)})",
    ),
    Rule(
        "control.pressure_setpoint",
        lambda c: c.control.pressure_floor_pa <= c.control.pressure_setpoint_pa <= c.control.pressure_cap_pa,
        lambda c: _pa(c.control.pressure_setpoint_pa),
        lambda c: (
            f"between pressure_floor ({_pa(c.control.pressure_floor_pa)}) "
            f"and pressure_cap ({_pa(c.control.pressure_cap_pa)})"
        ),
    ),
    Rule(
        "battery.cutoff_voltage",
        lambda c: c.battery.cutoff_v < c.battery.nominal_v,
        lambda c: _v(c.battery.cutoff_v),
        lambda c: f"below nominal_voltage ({_v(c.battery.nominal_v)})",
    ),
    Rule(
        "battery.charged_voltage",
        lambda c: c.battery.charged_v > c.battery.nominal_v,
        lambda c: _v(c.battery.charged_v),
        lambda c: f"above nominal_voltage ({_v(c.battery.nominal_v)})",
    ),
    Rule(
        "control.shutdown_soc",
        lambda c: c.control.shutdown_soc_pct < min(c.control.soc_points_pct, default=100.0),
        lambda c: _pct(c.control.shutdown_soc_pct),
        lambda c: f"below the lowest of soc_points ({_pct(min(c.control.soc_points_pct, default=100.0))})",
    ),
)


def check_rules(config: Config, rules: tuple[Rule, ...] = RULES) -> None:
    """Raise a ConfigError for the first rule the configuration breaks."""
    for rule in rules:
        if not rule.holds(config):
            raise ConfigError(config.source, rule.key, rule.shown(config), rule.expected(config))

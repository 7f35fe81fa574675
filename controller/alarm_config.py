"""The `[alerts]` section: one row per key the alarm catalogue's rows read (unit, default, upper bound),
parsed into `AlertsSection` and checked against the catalogue (every band clears on its safe side, a
more severe band sets beyond a milder one)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field

from controller import units
from controller.alarm_catalogue import ALARMS, Trips
from controller.config.reader import Table

_YEAR_S = 366 * 86400.0


@dataclass(frozen=True, slots=True)
class AlertKey:
    """One quantity key of `[alerts]`: its unit, default and the largest value it accepts."""

    key: str
    unit: units.Unit
    default: float
    high: float = _YEAR_S

    name: str = field(init=False, compare=False)
    """The key with its unit suffix, as the code names the value: `soc_warning_pct` (the alarms read it
    every tick)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", f"{self.key}_{self.unit.suffix}")


def _delays(stem: str, delay_s: float, return_delay_s: float, return_key: str | None = None) -> tuple[AlertKey, ...]:
    return (
        AlertKey(f"{stem}_delay", units.SECOND, delay_s),
        AlertKey(return_key or f"{stem}_return_delay", units.SECOND, return_delay_s),
    )


ALERT_KEYS: tuple[AlertKey, ...] = (
    AlertKey("soc_warning", units.PERCENT, 30.0, 100.0),
    AlertKey("soc_warning_clear", units.PERCENT, 35.0, 100.0),
    AlertKey("soc_critical", units.PERCENT, 15.0, 100.0),
    AlertKey("soc_critical_clear", units.PERCENT, 20.0, 100.0),
    AlertKey("runtime_warning", units.SECOND, 24 * 3600.0),
    AlertKey("runtime_warning_clear", units.SECOND, 27 * 3600.0),
    AlertKey("runtime_critical", units.SECOND, 6 * 3600.0),
    AlertKey("runtime_critical_clear", units.SECOND, 7 * 3600.0),
    *_delays("battery", 30.0, 60.0),
    *_delays("deadline", 120.0, 300.0),
    AlertKey("deadline_margin", units.SECOND, 1800.0),
    *_delays("pressure_low", 60.0, 30.0, return_key="pressure_return_delay"),
    *_delays("pressure_high", 60.0, 30.0),
    AlertKey("pressure_clear_margin", units.PASCAL, 0.5, 100.0),
    *_delays("sensor_stale", 10.0, 10.0, return_key="sensor_return_delay"),
    *_delays("fan", 15.0, 15.0),
    *_delays("charging", 30.0, 60.0),
    *_delays("history_backlog", 0.0, 0.0),
    *_delays("broker", 60.0, 0.0),
    AlertKey("sync_max_age", units.SECOND, 30 * 86400.0),
    *_delays("sync", 0.0, 0.0),
    AlertKey("capacity_low", units.PERCENT, 85.0, 100.0),
    *_delays("capacity", 0.0, 0.0),
)
ALERT_KEYS_BY_KEY: dict[str, AlertKey] = {k.key: k for k in ALERT_KEYS}
LATCH_KEY = "latch_battery"


def _default_levels() -> dict[str, float]:
    return {k.name: k.default for k in ALERT_KEYS}


@dataclass(frozen=True, slots=True)
class AlertsSection:
    """The `[alerts]` configuration: every key of ALERT_KEYS by its suffixed name, and battery latching.

    `section.soc_warning_pct` reads a level by its suffixed name; `section.value("soc_warning")` by key.
    """

    levels: Mapping[str, float] = field(default_factory=_default_levels)
    latch_battery: bool = True

    def with_levels(self, **levels: float) -> AlertsSection:
        """A copy with some levels changed, by suffixed name: `with_levels(battery_delay_s=2.0)`."""
        unknown = set(levels) - set(self.levels)
        if unknown:
            raise TypeError(f"unknown [alerts] levels {sorted(unknown)}")
        return AlertsSection({**self.levels, **levels}, self.latch_battery)

    def value(self, key: str) -> float:
        """The value of one `[alerts]` key, in the key's internal unit."""
        return self.levels[ALERT_KEYS_BY_KEY[key].name]

    def __getattr__(self, name: str) -> float:
        try:
            return object.__getattribute__(self, "levels")[name]  # type: ignore[no-any-return]
        except KeyError:
            raise AttributeError(name) from None


def parse_alerts(table: Table) -> AlertsSection:
    """Read the `[alerts]` section; every key is optional and defaults to its ALERT_KEYS row."""
    levels = {
        k.name: table.quantity(k.key, k.unit.kind, f"{k.default:g} {k.unit.symbol}", low=0.0, high=k.high)
        for k in ALERT_KEYS
    }
    section = AlertsSection(levels, table.boolean(LATCH_KEY, True))
    table.finish()
    _check_levels(table, section)
    return section


def _shown(key: str, value: float) -> str:
    return units.show_bound(value, ALERT_KEYS_BY_KEY[key].unit)


def _check_levels(table: Table, section: AlertsSection) -> None:
    """Every configured band clears on the safe side of where it sets, and a more severe band of a row
    sets beyond the less severe one."""
    for row in ALARMS:
        sign = 1.0 if row.trips is Trips.LOW else -1.0
        keyed = [b for b in row.bands if b.set_level.key is not None and b.clear_level.key is not None]
        for band in keyed:
            set_key, clear_key = band.set_level.key, band.clear_level.key
            assert set_key is not None
            assert clear_key is not None
            set_value, clear_value = section.value(set_key), section.value(clear_key)
            if sign * (clear_value - set_value) <= 0:
                side = "above" if sign > 0 else "below"
                raise table.error(
                    clear_key,
                    _shown(clear_key, clear_value),
                    f"a clear level {side} {set_key} ({_shown(set_key, set_value)})",
                )
        for milder, worse in itertools.pairwise(keyed):
            milder_key, worse_key = milder.set_level.key, worse.set_level.key
            assert milder_key is not None
            assert worse_key is not None
            if sign * (section.value(milder_key) - section.value(worse_key)) <= 0:
                side = "below" if sign > 0 else "above"
                raise table.error(
                    worse_key,
                    _shown(worse_key, section.value(worse_key)),
                    f"a level {side} {milder_key} ({_shown(milder_key, section.value(milder_key))})",
                )

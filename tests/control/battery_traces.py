"""Synthetic shunt readings from a simple physical battery: the simulator's LiFePO4 curve (its own copy
of physics.md §3) and internal resistance, self-discharge, a current-sensor offset and a voltmeter that
resolves 10 mV. The estimator under test never sees the truth, only these readings."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from controller.sim.plant import SECONDS_PER_MONTH, loaded_voltage_v, open_circuit_v
from controller.truth import TruthReading

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class TrueBattery:
    """The battery as it really is."""

    capacity_ah: float = 20.0
    soc_pct: float = 100.0
    resistance_ohm: float = 0.02
    self_discharge_pct_per_month: float = 3.0
    offset_a: float = 0.0
    """What the shunt adds to the true current."""


@dataclass(frozen=True, slots=True)
class Sample:
    """A reading and the truth behind it."""

    reading: TruthReading
    true_charge_ah: float


def discharge(
    battery: TrueBattery, load_w: Callable[[float], float], *, tick_s: float = 10.0, until_soc_pct: float = 5.0,
    max_s: float = 30 * 86400.0,
) -> Iterator[Sample]:  # fmt: skip
    """Readings every tick while a constant-power load (a function of time) discharges the battery."""
    charge = battery.capacity_ah * battery.soc_pct / 100.0
    now = 0.0
    while now < max_s:
        soc = 100.0 * charge / battery.capacity_ah
        if soc <= until_soc_pct:
            return
        ocv = open_circuit_v(soc)
        volts = loaded_voltage_v(ocv, load_w(now), battery.resistance_ohm) or 0.0
        amps = load_w(now) / volts if volts > 0 else 0.0
        now += tick_s
        leak = battery.capacity_ah * battery.self_discharge_pct_per_month / 100.0 * tick_s / SECONDS_PER_MONTH
        charge = max(0.0, charge - amps * tick_s / 3600.0 - leak)
        measured_v = math.floor(volts * 100.0 + 0.5) / 100.0
        reading = TruthReading(now, T0 + timedelta(seconds=now), tick_s, measured_v, -amps + battery.offset_a)
        yield Sample(reading, charge)


def settings_steps(period_s: float, watts: tuple[float, ...]) -> Callable[[float], float]:
    """A load that cycles through fan settings, one per period (the steps the resistance is learned from)."""
    return lambda t: watts[int(t // period_s) % len(watts)]

"""Estimators: pure functions from readings to what the controller believes.

- room: the flow a leakage curve Q = C * dP^n needs for a pressure, and the reverse (the pressure filter,
  the door, stall and loss classification and the online learning of C live in `controller.room_pressure`);
- energy: usable energy from the state of charge, the loaded voltage and the reserve; a conservative
  dead-reckoned estimate while the shunt is stale;
- runtime: model-based (energy over planned power), corrected slowly by measured/modelled power.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

SECONDS_PER_HOUR = 3600.0


def ewma_alpha(dt_s: float, tau_s: float) -> float:
    """Weight of a new sample for an exponential filter of time constant tau_s."""
    if tau_s <= 0.0:
        return 1.0
    return 1.0 - math.exp(-max(0.0, dt_s) / tau_s)


def flow_for_pressure(c_cfm: float, n: float, pressure_pa: float) -> float:
    """The flow that holds a pressure in a room of leakage C, n."""
    return float(c_cfm * max(0.0, pressure_pa) ** n)


def pressure_for_flow(c_cfm: float, n: float, flow_cfm: float) -> float:
    """The pressure a flow gives in a room of leakage C, n."""
    return float((max(0.0, flow_cfm) / c_cfm) ** (1.0 / n))


@dataclass(frozen=True, slots=True)
class EnergyState:
    """Slow corrections and the last trustworthy energy figure (for dead reckoning when the shunt is stale)."""

    voltage_eff_v: float
    power_ratio: float = 1.0
    last_usable_wh: float | None = None
    last_usable_s: float | None = None


def usable_energy_wh(soc_pct: float, capacity_ah: float, voltage_v: float, reserve_pct: float) -> float:
    """Energy above the reserve: remaining charge times the effective discharge voltage."""
    return max(0.0, (soc_pct - reserve_pct) / 100.0 * capacity_ah * voltage_v)


def update_energy(
    state: EnergyState,
    *,
    now_s: float,
    dt_s: float,
    soc_pct: float | None,
    shunt_fresh: bool,
    measured_power_w: float | None,
    modelled_power_w: float,
    voltage_v: float | None,
    discharging: bool,
    capacity_ah: float,
    reserve_pct: float,
    correction_tau_s: float,
    stale_margin: float = 1.25,
    correct_power: bool = True,
) -> tuple[EnergyState, float | None]:
    """The new state and the usable energy in Wh (None when nothing is known).

    With a fresh shunt: SoC x capacity x effective voltage, minus the reserve; the effective voltage and
    the measured/modelled power ratio are slow averages taken only while discharging steadily (the ratio
    not while `correct_power` is False: a stopped fan's draw says nothing about the model). With a stale
    shunt: the last figure minus what the model says was spent since, times a safety margin.
    """
    if shunt_fresh and discharging and voltage_v is not None and voltage_v > 0:
        state = replace(
            state, voltage_eff_v=state.voltage_eff_v + ewma_alpha(dt_s, 3600.0) * (voltage_v - state.voltage_eff_v)
        )
        if correct_power and measured_power_w is not None and modelled_power_w > 0.5:
            ratio = min(2.0, max(0.5, measured_power_w / modelled_power_w))
            state = replace(
                state, power_ratio=state.power_ratio + ewma_alpha(dt_s, correction_tau_s) * (ratio - state.power_ratio)
            )
    if shunt_fresh and soc_pct is not None:
        usable = usable_energy_wh(soc_pct, capacity_ah, state.voltage_eff_v, reserve_pct)
        return replace(state, last_usable_wh=usable, last_usable_s=now_s), usable
    if state.last_usable_wh is None or state.last_usable_s is None:
        return state, None
    spent_wh = modelled_power_w * state.power_ratio * stale_margin * (now_s - state.last_usable_s) / SECONDS_PER_HOUR
    return state, max(0.0, state.last_usable_wh - spent_wh)


def runtime_s(usable_wh: float | None, power_w: float | None, power_ratio: float, charging: bool) -> float | None:
    """How long the usable energy lasts at a draw on the store (None while charging or unknown)."""
    if charging or usable_wh is None or power_w is None or power_w <= 0.0:
        return None
    return usable_wh * SECONDS_PER_HOUR / (power_w * power_ratio)


def time_to_soc_s(
    soc_pct: float | None,
    points_pct: tuple[float, ...],
    capacity_ah: float,
    voltage_v: float,
    power_w: float | None,
    power_ratio: float,
    charging: bool,
) -> tuple[tuple[float, float | None], ...]:
    """Seconds until each SoC point under a draw (None for points already passed, while charging, or unknown)."""
    out: list[tuple[float, float | None]] = []
    for point in points_pct:
        if soc_pct is None or charging or power_w is None or power_w <= 0.0 or point >= soc_pct:
            out.append((point, None))
        else:
            energy_wh = (soc_pct - point) / 100.0 * capacity_ah * voltage_v
            out.append((point, energy_wh * SECONDS_PER_HOUR / (power_w * power_ratio)))
    return tuple(out)

"""Estimators: pure functions from readings to what the controller believes.

- pressure: wind-gust filter (EWMA) and a door-open detector (a sudden collapse);
- room: the leakage coefficient C of Q = C * dP^n, learned online from steady (flow, pressure) pairs;
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


@dataclass(frozen=True, slots=True)
class PressureState:
    """Filtered pressure, recent raw samples for the door detector, and the door hold."""

    filtered_pa: float | None = None
    last_s: float | None = None
    recent: tuple[tuple[float, float], ...] = ()
    door_open_until_s: float | None = None

    def door_open(self, now_s: float) -> bool:
        """Whether a door opening is being held (pressure loop frozen, pressure alarms held)."""
        return self.door_open_until_s is not None and now_s < self.door_open_until_s


@dataclass(frozen=True, slots=True)
class PressureSettings:
    """How pressure is filtered and how a door opening is recognised."""

    filter_s: float
    door_drop_pa: float
    door_window_s: float
    door_hold_s: float


def update_pressure(
    state: PressureState, raw_pa: float | None, now_s: float, settings: PressureSettings
) -> tuple[PressureState, bool]:
    """Filter a new raw reading (None = stale: the filter holds its value). Returns the new state and
    whether a door opening was detected at this tick.

    A door opening is a collapse: two consecutive readings, within door_window_s (or a tick and a half,
    when ticks are longer), at least door_drop_pa below the filtered level and under 30 % of it. A gust
    moves one reading by a few Pa; an open door empties the room's overpressure and keeps it empty.
    """
    if raw_pa is None:
        return state, False
    window_s = settings.door_window_s
    if state.last_s is not None:
        window_s = max(window_s, 1.5 * (now_s - state.last_s))
    recent = (*tuple((t, p) for t, p in state.recent if now_s - t <= window_s), (now_s, raw_pa))
    level = state.filtered_pa
    detected = False
    if level is not None and len(recent) >= 2 and not state.door_open(now_s):
        previous = recent[-2][1]
        detected = all(level - p >= settings.door_drop_pa and p <= 0.3 * level for p in (previous, raw_pa))
    door_until = now_s + settings.door_hold_s if detected else state.door_open_until_s
    if state.filtered_pa is None or state.last_s is None:
        filtered = raw_pa
    elif detected or state.door_open(now_s):
        filtered = state.filtered_pa
    else:
        weight = ewma_alpha(now_s - state.last_s, settings.filter_s)
        filtered = state.filtered_pa + weight * (raw_pa - state.filtered_pa)
    return PressureState(filtered, now_s, recent[-8:], door_until), detected


@dataclass(frozen=True, slots=True)
class RoomEstimate:
    """The learned leakage coefficient (CFM at 1 Pa) and how many steady samples informed it."""

    c_cfm: float
    samples: int = 0


def learn_room(
    estimate: RoomEstimate,
    flow_cfm: float,
    pressure_pa: float,
    n: float,
    dt_s: float,
    tau_s: float = 1800.0,
    min_pressure_pa: float = 0.5,
) -> RoomEstimate:
    """Nudge C towards flow / dP^n (in log space, so one gust cannot swing it). Call only with a steady
    fan and a valid, door-closed, filtered pressure."""
    if flow_cfm <= 0.0 or pressure_pa < min_pressure_pa:
        return estimate
    observed = math.log(flow_cfm) - n * math.log(pressure_pa)
    weight = ewma_alpha(dt_s, tau_s) if estimate.samples else 1.0
    c_log = math.log(estimate.c_cfm) + weight * (observed - math.log(estimate.c_cfm))
    return RoomEstimate(math.exp(c_log), estimate.samples + 1)


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
) -> tuple[EnergyState, float | None]:
    """The new state and the usable energy in Wh (None when nothing is known).

    With a fresh shunt: SoC x capacity x effective voltage, minus the reserve; the effective voltage and
    the measured/modelled power ratio are slow averages taken only while discharging steadily. With a
    stale shunt: the last figure minus what the model says was spent since, times a safety margin.
    """
    if shunt_fresh and discharging and voltage_v is not None and voltage_v > 0:
        state = replace(
            state, voltage_eff_v=state.voltage_eff_v + ewma_alpha(dt_s, 3600.0) * (voltage_v - state.voltage_eff_v)
        )
        if measured_power_w is not None and modelled_power_w > 0.5:
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

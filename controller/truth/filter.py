"""The battery state estimator: a two-state Kalman filter (remaining charge, current-sensor offset) that
fuses the coulomb count with the battery's voltage.

- Predict: the measured current minus the estimated offset, integrated over the tick, minus self-discharge
  (which no shunt sees). The offset's uncertainty grows the charge's uncertainty with time.
- Correct: the loaded voltage, corrected by the learned internal resistance, read through the OCV curve as
  a state of charge whose standard deviation is the voltage's uncertainty over the curve's slope. Strong
  at both knees; on the flat middle a few tens of mV of curve error are tens of percent, and such readings
  are not used at all. A reading far outside the combined uncertainty means the count is wrong: the
  charge's uncertainty is widened to the disagreement, so the voltage wins, and the disagreement is kept;
  but only when the next informative reading disagrees too (one reading may be a sag or a bad sample).
- Synchronise: at full (the charger's charged voltage and tail current, held; or a resting voltage at the
  top of the curve) and at empty (the knee seen in the voltage). Between a full and an empty
  synchronisation the charge that really left the battery measures its capacity.
- The internal resistance is a least-squares fit of voltage steps on current steps (the fan's own setting
  changes make them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from controller.truth.ocv import OcvCurve

SECONDS_PER_HOUR = 3600.0
SECONDS_PER_MONTH = 30.0 * 86400.0

LEARNED_CAPACITY_SIGMA_PCT = 1.5
SyncKind = Literal["full", "empty"]
CapacitySource = Literal["configured", "learned"]


@dataclass(frozen=True, slots=True)
class TruthSettings:
    """The battery and how far each measurement is trusted (SI units: Ah, A, V, ohm, s, percent)."""

    capacity_ah: float
    curve: OcvCurve
    charged_v: float
    tail_current_a: float
    charged_time_s: float
    self_discharge_pct_per_month: float = 3.0
    curve_sigma_v: float = 0.03
    """How far a real pack's resting voltage may sit from the curve (temperature, hysteresis, ageing)."""
    voltage_resolution_v: float = 0.01
    current_resolution_a: float = 0.001
    charge_resolution_ah: float = 0.1
    """The smallest charge the shunt resolves: the estimate is never claimed tighter than this."""
    offset_sigma_a: float = 0.02
    offset_drift_a_per_h: float = 0.0005
    capacity_sigma_pct: float = 13.0
    """How far a configured (not yet learned) capacity may be from the real one."""
    shunt_soc_sigma_pct: float = 3.0
    no_soc_sigma_pct: float = 30.0
    max_voltage_sigma_pct: float = 5.0
    """Voltage readings that pin the state of charge no better than this are not used (the flat middle)."""
    voltage_interval_s: float = 60.0
    knee_soc_pct: float = 12.0
    bend_sigma_pct: float = 2.5
    """Below the curve's lower bend (where the voltage reads the state of charge within this), a count well
    above what the voltage reads is synchronised there and then, and a discharge since full teaches the
    capacity: a pack smaller than configured shows at the bend, hours before the knee."""
    full_soc_pct: float = 99.0
    sync_sigma_pct: float = 1.5
    min_learn_fraction: float = 0.5
    """Capacity is learned only from a discharge of at least this share of the capacity."""
    resistance_ohm: float = 0.02
    min_step_a: float = 0.2
    max_step_dt_s: float = 120.0


@dataclass(frozen=True, slots=True)
class TruthState:
    """The filter's belief. Covariances in Ah², Ah·A and A²; wall times are UTC (display, persistence)."""

    charge_ah: float
    offset_a: float
    p_qq: float
    p_qb: float
    p_bb: float
    capacity_ah: float
    capacity_source: CapacitySource = "configured"
    capacity_learned_utc: datetime | None = None
    resistance_ohm: float = 0.02
    step_sxy: float = 0.0
    step_sxx: float = 0.0
    last_voltage_v: float | None = None
    last_current_a: float | None = None
    last_reading_s: float | None = None
    last_update_s: float | None = None
    discharged_since_full_ah: float | None = None
    """Charge that left the battery since the last full synchronisation, as the shunt counts it plus
    self-discharge (None: no full anchor). The offset estimate stays out of it: on a slow discharge a
    capacity error and a current offset look alike, and the capacity learned is the one the count meets."""
    last_sync: SyncKind | None = None
    last_sync_utc: datetime | None = None
    started_utc: datetime | None = None
    disagreement_pct: float | None = None
    """How far the voltage put the charge from the count at the last disagreement (since the last sync)."""
    full_since_s: float | None = None
    bend_seen_s: float | None = None
    """When a voltage reading first put the pack below the lower bend with the count well above it (None:
    the last reading did not); the next reading (not waiting for the voltage interval) must agree before it
    syncs."""
    doubted_s: float | None = None
    """When a voltage reading last disagreed with the count beyond both uncertainties without being acted on:
    one reading may be a sag or a bad sample, so only if the next reading (not waiting for the voltage
    interval) disagrees too does the estimate move."""

    @property
    def soc_pct(self) -> float:
        """The estimated state of charge of the capacity in use."""
        return 100.0 * self.charge_ah / self.capacity_ah

    @property
    def charge_sigma_ah(self) -> float:
        """One standard deviation of the remaining charge."""
        return math.sqrt(max(0.0, self.p_qq))


@dataclass(frozen=True, slots=True)
class TruthReading:
    """One fresh shunt reading (discharge current negative) and the time since the last one."""

    now_s: float
    now_utc: datetime
    dt_s: float
    voltage_v: float | None
    current_a: float | None


@dataclass(frozen=True, slots=True)
class LearnedCapacity:
    """A capacity learned in an earlier run (persisted) and when."""

    capacity_ah: float
    learned_utc: datetime


def start(
    settings: TruthSettings,
    *,
    soc_pct: float | None,
    voltage_v: float | None,
    current_a: float | None,
    now_utc: datetime,
    learned: LearnedCapacity | None = None,
) -> TruthState | None:
    """The first belief: the shunt's state of charge with its uncertainty, or (without one) the voltage's
    reading of the curve with a wide uncertainty. None when neither is known."""
    capacity = learned.capacity_ah if learned is not None else settings.capacity_ah
    if soc_pct is not None and math.isfinite(soc_pct):
        soc = min(100.0, max(0.0, soc_pct))
        sigma_pct = settings.shunt_soc_sigma_pct
    elif voltage_v is not None and math.isfinite(voltage_v):
        ocv = voltage_v - settings.resistance_ohm * (current_a or 0.0)
        soc = settings.curve.soc_at(ocv)
        sigma_pct = max(
            settings.no_soc_sigma_pct,
            _voltage_sigma_pct(settings, soc, current_a or 0.0, settings.resistance_ohm),
        )
    else:
        return None
    sigma_ah = min(sigma_pct, 50.0) / 100.0 * capacity
    return TruthState(
        charge_ah=soc / 100.0 * capacity,
        offset_a=0.0,
        p_qq=sigma_ah**2,
        p_qb=0.0,
        p_bb=settings.offset_sigma_a**2,
        capacity_ah=capacity,
        capacity_source="learned" if learned is not None else "configured",
        capacity_learned_utc=learned.learned_utc if learned is not None else None,
        resistance_ohm=settings.resistance_ohm,
        started_utc=now_utc,
    )


def _voltage_sigma_pct(settings: TruthSettings, soc_pct: float, current_a: float, resistance_sigma: float) -> float:
    """How well a loaded voltage pins the state of charge here: the voltage's uncertainty over the slope."""
    sigma_v = math.sqrt(
        settings.curve_sigma_v**2 + settings.voltage_resolution_v**2 + (resistance_sigma * current_a) ** 2
    )
    return sigma_v / max(settings.curve.slope_at(soc_pct), 1e-9)


def update(state: TruthState, settings: TruthSettings, reading: TruthReading) -> TruthState:
    """Advance the belief by one fresh reading (one copy of the state on most ticks: this runs every tick)."""
    current, voltage = reading.current_a, reading.voltage_v
    if current is None or not math.isfinite(current):
        return state
    if voltage is not None and not math.isfinite(voltage):
        voltage = None
    changes = _predict(state, settings, current, max(0.0, reading.dt_s))
    if voltage is not None:
        changes.update(_learn_resistance(state, settings, reading, voltage, current))
    state = replace(state, **changes)
    if voltage is None:
        return state
    state = _detect_full(state, settings, reading, voltage, current)
    interval_over = state.last_update_s is None or reading.now_s - state.last_update_s >= settings.voltage_interval_s
    due = interval_over or state.doubted_s is not None or state.bend_seen_s is not None  # confirm at once
    if current <= 0.0 and due:
        state = _correct(state, settings, reading, voltage, current)
    return state


def _predict(state: TruthState, settings: TruthSettings, current_a: float, dt_s: float) -> dict[str, Any]:
    """The count over one tick: the charge, its covariance with the offset, and the charge since full."""
    hours = dt_s / SECONDS_PER_HOUR
    self_discharge_ah = state.capacity_ah * settings.self_discharge_pct_per_month / 100.0 * dt_s / SECONDS_PER_MONTH
    flow_ah = (current_a - state.offset_a) * hours - self_discharge_ah
    charge = min(state.capacity_ah, max(0.0, state.charge_ah + flow_ah))
    p_qq = state.p_qq - 2.0 * hours * state.p_qb + hours**2 * state.p_bb + (settings.current_resolution_a * hours) ** 2
    p_qb = state.p_qb - hours * state.p_bb
    p_bb = state.p_bb + settings.offset_drift_a_per_h**2 * hours
    p_qq = min(max(p_qq, settings.charge_resolution_ah**2), (state.capacity_ah / 2.0) ** 2)
    discharged = state.discharged_since_full_ah
    if discharged is not None:
        discharged = max(0.0, discharged - current_a * hours + self_discharge_ah)
    return {"charge_ah": charge, "p_qq": p_qq, "p_qb": p_qb, "p_bb": p_bb, "discharged_since_full_ah": discharged}


def _learn_resistance(
    state: TruthState, settings: TruthSettings, reading: TruthReading, voltage_v: float, current_a: float
) -> dict[str, Any]:
    """Least squares of the voltage step on the current step between consecutive readings (R = dV/dI,
    discharge current negative), with a slow forgetting so an ageing pack is followed."""
    last_v, last_i, last_s = state.last_voltage_v, state.last_current_a, state.last_reading_s
    changes: dict[str, Any] = {"last_voltage_v": voltage_v, "last_current_a": current_a}
    changes["last_reading_s"] = reading.now_s
    if last_v is None or last_i is None or last_s is None or reading.now_s - last_s > settings.max_step_dt_s:
        return changes
    d_i, d_v = current_a - last_i, voltage_v - last_v
    if abs(d_i) < settings.min_step_a or current_a > 0.0 or last_i > 0.0:
        return changes
    sxy, sxx = 0.98 * state.step_sxy + d_v * d_i, 0.98 * state.step_sxx + d_i * d_i
    return {**changes, "step_sxy": sxy, "step_sxx": sxx, "resistance_ohm": min(1.0, max(0.0, sxy / sxx))}


def resistance_sigma_ohm(state: TruthState, settings: TruthSettings) -> float:
    """One standard deviation of the learned resistance (the prior's size until steps were seen)."""
    if state.step_sxx <= 0.0:
        return settings.resistance_ohm
    return min(settings.resistance_ohm, settings.voltage_resolution_v * math.sqrt(2.0 / state.step_sxx))


def _detect_full(
    state: TruthState, settings: TruthSettings, reading: TruthReading, voltage_v: float, current_a: float
) -> TruthState:
    """The charger's full: charged voltage with only the tail current flowing, for the charged-detection time."""
    looks_full = voltage_v >= settings.charged_v and 0.0 <= current_a <= settings.tail_current_a
    if not looks_full:
        return replace(state, full_since_s=None) if state.full_since_s is not None else state
    since = reading.now_s if state.full_since_s is None else state.full_since_s
    if reading.now_s - since < settings.charged_time_s:
        return replace(state, full_since_s=since)
    return _sync(replace(state, full_since_s=since), settings, "full", 100.0, reading.now_utc)


def _sync(
    state: TruthState,
    settings: TruthSettings,
    kind: SyncKind,
    soc_pct: float,
    now_utc: datetime,
    settles_disagreement: bool = True,
) -> TruthState:
    """Pin the charge at a known point of the curve; at empty after a full, learn the capacity. A
    disagreement between count and voltage stays reported until a synchronisation that `settles` it."""
    capacity, source, learned_utc = state.capacity_ah, state.capacity_source, state.capacity_learned_utc
    discharged = state.discharged_since_full_ah
    if kind == "empty" and discharged is not None and discharged >= settings.min_learn_fraction * capacity:
        capacity, source, learned_utc = discharged / (1.0 - soc_pct / 100.0), "learned", now_utc
    charge = soc_pct / 100.0 * capacity
    sigma_ah = max(settings.charge_resolution_ah, settings.sync_sigma_pct / 100.0 * capacity)
    return replace(
        state,
        charge_ah=charge,
        p_qq=min(state.p_qq, sigma_ah**2),
        capacity_ah=capacity,
        capacity_source=source,
        capacity_learned_utc=learned_utc,
        discharged_since_full_ah=(100.0 - soc_pct) / 100.0 * capacity if kind == "full" else None,
        last_sync=kind,
        last_sync_utc=now_utc,
        disagreement_pct=None if settles_disagreement else state.disagreement_pct,
    )


def _correct(
    state: TruthState, settings: TruthSettings, reading: TruthReading, voltage_v: float, current_a: float
) -> TruthState:
    """The Kalman update on the state of charge the voltage reads, where the curve is steep enough."""
    state = replace(state, last_update_s=reading.now_s)
    ocv = voltage_v - state.resistance_ohm * current_a
    soc_v = settings.curve.soc_at(ocv)
    sigma_pct = _voltage_sigma_pct(settings, soc_v, current_a, resistance_sigma_ohm(state, settings))
    if sigma_pct > settings.max_voltage_sigma_pct:  # the flat middle: above the bend, if nothing else
        return replace(state, bend_seen_s=None, doubted_s=None)
    capacity = state.capacity_ah
    reading_ah = soc_v / 100.0 * capacity
    capacity_part_ah = capacity_sigma_pct(state, settings) / 100.0 * (capacity - reading_ah)
    r_meas = (sigma_pct / 100.0 * capacity) ** 2 + capacity_part_ah**2
    innovation = reading_ah - state.charge_ah
    disagreement, disagrees = state.disagreement_pct, innovation**2 > 9.0 * (state.p_qq + r_meas)
    if disagrees and state.doubted_s is None:  # a sag, a cold pack or a bad sample: the next reading must agree
        return replace(state, doubted_s=reading.now_s, bend_seen_s=None)
    if disagrees:
        disagreement = 100.0 * innovation / capacity
        state = replace(state, p_qq=max(state.p_qq, innovation**2))
    s = state.p_qq + r_meas
    k_q, k_b = state.p_qq / s, state.p_qb / s
    max_offset = 3.0 * settings.offset_sigma_a
    state = replace(
        state,
        charge_ah=min(capacity, max(0.0, state.charge_ah + k_q * innovation)),
        offset_a=min(max_offset, max(-max_offset, state.offset_a + k_b * innovation)),
        p_qq=max((1.0 - k_q) * state.p_qq, settings.charge_resolution_ah**2),
        p_qb=(1.0 - k_q) * state.p_qb,
        p_bb=max(state.p_bb - k_b * state.p_qb, 1e-12),
        disagreement_pct=disagreement,
        doubted_s=None,
    )
    if sigma_pct <= settings.sync_sigma_pct and soc_v <= settings.knee_soc_pct:
        return _sync(state, settings, "empty", soc_v, reading.now_utc, settles_disagreement=not disagrees)
    if sigma_pct <= settings.sync_sigma_pct and soc_v >= settings.full_soc_pct:
        return _sync(state, settings, "full", soc_v, reading.now_utc, settles_disagreement=False)
    count_too_high = -innovation > 3.0 * sigma_pct / 100.0 * capacity
    if not (count_too_high and sigma_pct <= settings.bend_sigma_pct and soc_v <= lower_bend_pct(settings)):
        return replace(state, bend_seen_s=None) if state.bend_seen_s is not None else state
    if state.bend_seen_s is None and not disagrees:  # a disagreement got here on its second reading already
        return replace(state, bend_seen_s=reading.now_s)
    return _sync(state, settings, "empty", soc_v, reading.now_utc, settles_disagreement=False)


def lower_bend_pct(settings: TruthSettings) -> float:
    """The state of charge below which the voltage reveals what the pack really holds."""
    return settings.curve.lower_bend_pct(settings.curve_sigma_v, settings.bend_sigma_pct)


@dataclass(frozen=True, slots=True)
class Energy:
    """Energy left above empty at rest, and one standard deviation of it (never below the resolution)."""

    mean_wh: float
    sigma_wh: float

    def lower_wh(self, z: float) -> float:
        """The one-sided lower bound `z` standard deviations down (never below zero)."""
        return max(0.0, self.mean_wh - z * self.sigma_wh)


def capacity_sigma_pct(state: TruthState, settings: TruthSettings) -> float:
    """How far the capacity in use may be from the real one (learned: the learning's own error)."""
    return LEARNED_CAPACITY_SIGMA_PCT if state.capacity_source == "learned" else settings.capacity_sigma_pct


def energy(state: TruthState, settings: TruthSettings) -> Energy:
    """The usable energy the belief stands for. Its uncertainty is the filter's on the charge and, apart
    from it (the voltage reads a state of charge, not a charge), the capacity's on the charge left."""
    soc = state.soc_pct
    mean = settings.curve.energy_wh(soc, state.capacity_ah)
    capacity_part_ah = capacity_sigma_pct(state, settings) / 100.0 * state.charge_ah
    sigma_ah = max(math.hypot(state.charge_sigma_ah, capacity_part_ah), settings.charge_resolution_ah)
    return Energy(mean, sigma_ah * settings.curve.voltage_at(soc))

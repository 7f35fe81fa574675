"""What this tick's readings mean: the battery (power, charging, belief, usable energy) and the room
(filtered pressure, door, stopped fan, loss, learned leakage). Pure functions of the step's state and inputs."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from statistics import NormalDist

from controller.battery import BatteryState, FullDetection, update_battery
from controller.daemon_settings import DaemonSettings
from controller.estimators import EnergyState, update_energy
from controller.room_pressure import (
    RoomEstimate,
    RoomPressureState,
    RoomReading,
    RoomSettings,
    RoomVerdict,
    plausible_pa,
    update_room,
)
from controller.step.state import BendWarning, ShuntInput, StepInputs
from controller.truth import Energy, LearnedCapacity, TruthReading, TruthState, energy, start, update
from controller.truth.filter import capacity_sigma_pct, lower_bend_pct

CHARGING_CURRENT_A = 0.05
CARRIED_SHARE = 0.25
MIN_CARRIED_W = 1.0
"""Below this modelled fan draw the missing current says nothing (a fan barely turning)."""


@dataclass(frozen=True, slots=True)
class BatteryView:
    """The battery this tick. `draw_w` is positive while discharging; None when the shunt is stale."""

    fresh: bool
    voltage_v: float | None
    current_a: float | None
    draw_w: float | None
    charging: bool
    consumed_ah: float | None
    belief: BatteryState
    energy: EnergyState
    usable_wh: float | None
    """What the plan may spend: the estimate's lower bound, never more than the energy above the reserve."""
    truth: TruthState | None = None
    estimate: Energy | None = None
    expected_wh: float | None = None
    """The estimate's central value above the reserve: what the runtime people read is computed from (the
    plan spends the lower bound; a runtime from the bound would always read short)."""
    bend: BendWarning | None = None
    """None once the pack is at its lower bend (the estimate then follows the voltage) or without an estimator."""


def full_detection(settings: DaemonSettings) -> FullDetection:
    """When a shunt without its own state of charge counts the battery as full."""
    battery = settings.battery
    return FullDetection(
        battery.capacity_ah,
        battery.charged_v,
        battery.tail_current_pct / 100.0 * battery.capacity_ah,
        battery.charged_time_s,
    )


def measured_draw_w(shunt: ShuntInput) -> float | None:
    """Battery draw in W (positive = discharging). V x I first: a SmartShunt's own P is in whole watts,
    10 % of a 5 W load."""
    if shunt.voltage_v is not None and shunt.current_a is not None:
        return -shunt.voltage_v * shunt.current_a
    if shunt.power_w is not None:
        return -shunt.power_w
    return None


def fresh_shunt(settings: DaemonSettings, shunt: ShuntInput | None, now_s: float) -> ShuntInput | None:
    """The shunt's reading while it is fresh, else None."""
    if shunt is None or now_s - shunt.monotonic_s > settings.control.stale_after_s:
        return None
    return shunt


def read_battery(
    settings: DaemonSettings,
    belief: BatteryState,
    energy_state: EnergyState,
    truth: TruthState | None,
    shunt: ShuntInput | None,
    *,
    now_s: float,
    now_utc: datetime,
    dt_s: float,
    modelled_w: float,
    correct_power: bool = True,
) -> BatteryView:
    """Trust a reading only while it is fresh; advance the belief, the estimator and the usable energy.
    `correct_power` is False while the fan is stopped or off: its modelled power is then left out, and the
    measured/modelled correction must not learn from it."""
    fresh = fresh_shunt(settings, shunt, now_s)
    voltage = fresh.voltage_v if fresh else None
    current = fresh.current_a if fresh else None
    draw_w = measured_draw_w(fresh) if fresh else None
    belief = _advance_belief(settings, belief, fresh, now_s=now_s, now_utc=now_utc, dt_s=dt_s)
    if fresh is not None:
        truth = _advance_truth(settings, truth, belief, fresh, now_s=now_s, now_utc=now_utc, dt_s=dt_s)
    energy_state, usable_wh = update_energy(
        energy_state,
        now_s=now_s,
        dt_s=dt_s,
        soc_pct=None,
        shunt_fresh=fresh is not None,
        measured_power_w=draw_w,
        modelled_power_w=modelled_w,
        voltage_v=voltage,
        discharging=current is not None and current < 0,
        capacity_ah=settings.battery.capacity_ah,
        reserve_pct=settings.battery.reserve_pct,
        correction_tau_s=settings.control.power_correction_tau_s,
        correct_power=correct_power,
    )
    estimate = None if truth is None else energy(truth, settings.truth())
    expected_wh, bend = usable_wh, None
    if fresh is not None and truth is not None and estimate is not None:
        usable_wh, expected_wh, bend = _spendable(settings, truth, estimate)
        energy_state = replace(energy_state, last_usable_wh=usable_wh, last_usable_s=now_s)
    if truth is not None and truth.capacity_learned_utc != belief.capacity_learned_utc:
        belief = replace(belief, capacity_learned_ah=truth.capacity_ah, capacity_learned_utc=truth.capacity_learned_utc)
    return BatteryView(
        fresh=fresh is not None,
        voltage_v=voltage,
        current_a=current,
        draw_w=draw_w,
        charging=on_charger(settings, voltage, current, modelled_w if correct_power else 0.0),
        consumed_ah=fresh.consumed_ah if fresh else None,
        belief=belief,
        energy=energy_state,
        usable_wh=usable_wh,
        truth=truth,
        estimate=estimate,
        expected_wh=expected_wh,
        bend=bend,
    )


def _spendable(
    settings: DaemonSettings, truth: TruthState, estimate: Energy
) -> tuple[float, float, BendWarning | None]:
    """The plan's lower bound, the central estimate above the reserve, and the bend's warning."""
    expected_wh = max(0.0, _above_reserve_wh(settings, truth, estimate))
    return plannable_wh(settings, truth, estimate), expected_wh, bend_warning(settings, truth, estimate)


def on_charger(settings: DaemonSettings, voltage_v: float | None, current_a: float | None, fan_w: float) -> bool:
    """A charger carries the load: current flows into the battery, or the battery sits at the top of its
    curve while supplying less than a quarter of what the running fan draws (`fan_w`, 0 while it is stopped):
    a float charger holds a full pack at about 0 A and feeds the fan itself."""
    if current_a is None:
        return False
    if current_a > CHARGING_CURRENT_A:
        return True
    if voltage_v is None or fan_w < MIN_CARRIED_W:
        return False
    full_v = settings.battery.curve.voltage_at(settings.truth().full_soc_pct)
    return voltage_v >= full_v and -current_a * voltage_v < CARRIED_SHARE * fan_w


def _advance_belief(
    settings: DaemonSettings, belief: BatteryState, fresh: ShuntInput | None, *, now_s: float, now_utc: datetime,
    dt_s: float,
) -> BatteryState:  # fmt: skip
    return update_battery(
        belief,
        now_s=now_s,
        now_utc=now_utc,
        dt_s=dt_s,
        fresh=fresh is not None,
        shunt_soc_pct=fresh.soc_pct if fresh else None,
        shunt_synced_age_s=fresh.since_full_charge_s if fresh else None,
        voltage_v=fresh.voltage_v if fresh else None,
        current_a=fresh.current_a if fresh else None,
        full=full_detection(settings),
    )


def plannable_wh(settings: DaemonSettings, truth: TruthState, estimate: Energy) -> float:
    """The energy the plan may spend: the estimate's lower bound at the configured confidence, and never
    more than what lies above the fixed reserve (the floor for users who want one)."""
    z = NormalDist().inv_cdf(settings.battery.confidence_pct / 100.0)
    return max(0.0, min(_above_reserve_wh(settings, truth, estimate), estimate.lower_wh(z)))


def bend_warning(settings: DaemonSettings, truth: TruthState, estimate: Energy) -> BendWarning | None:
    """The low case the plan's spending must survive on the lower bend's warning alone (`BendWarning`)."""
    truth_settings, battery = settings.truth(), settings.battery
    bend_pct = lower_bend_pct(truth_settings)
    if truth.soc_pct <= bend_pct or estimate.mean_wh <= 0.0:
        return None
    z = NormalDist().inv_cdf(battery.confidence_pct / 100.0)
    capacity_share = capacity_sigma_pct(truth, truth_settings) / 100.0
    sigma_ah = math.hypot(truth.charge_sigma_ah, capacity_share * truth.capacity_ah)
    sigma_wh = sigma_ah * battery.curve.voltage_at(truth.soc_pct)
    low_case_wh = min(_above_reserve_wh(settings, truth, estimate), estimate.mean_wh - z * sigma_wh)
    low_capacity_ah = truth.capacity_ah * max(0.0, 1.0 - z * capacity_share)
    curve = battery.curve
    bend_wh = curve.energy_wh(bend_pct, low_capacity_ah) - curve.energy_wh(battery.reserve_pct, low_capacity_ah)
    if bend_wh <= 0.0 or low_case_wh <= 0.0:
        return None
    return BendWarning(low_case_wh, min(bend_wh, low_case_wh))


def _above_reserve_wh(settings: DaemonSettings, truth: TruthState, estimate: Energy) -> float:
    battery = settings.battery
    return estimate.mean_wh - battery.curve.energy_wh(battery.reserve_pct, truth.capacity_ah)


def _advance_truth(
    settings: DaemonSettings,
    truth: TruthState | None,
    belief: BatteryState,
    shunt: ShuntInput,
    *,
    now_s: float,
    now_utc: datetime,
    dt_s: float,
) -> TruthState | None:
    """Start the estimator on the first reading that says anything (the shunt's or the belief's state of
    charge, else the voltage), then advance it."""
    truth_settings = settings.truth()
    if truth is None:
        learned = None
        if belief.capacity_learned_ah is not None and belief.capacity_learned_utc is not None:
            learned = LearnedCapacity(belief.capacity_learned_ah, belief.capacity_learned_utc)
        soc = shunt.soc_pct if shunt.soc_pct is not None else belief.soc_pct
        truth = start(
            truth_settings, soc_pct=soc, voltage_v=shunt.voltage_v, current_a=shunt.current_a, now_utc=now_utc,
            learned=learned,
        )  # fmt: skip
        if truth is None:
            return None
    reading = TruthReading(now_s, now_utc, dt_s, shunt.voltage_v, shunt.current_a)
    return update(truth, truth_settings, reading)


@dataclass(frozen=True, slots=True)
class RoomView:
    """The room this tick: the estimator's verdict (filtered pressure, None while stale; any hold and why;
    whether the fan turns), its state and the learned leakage."""

    fresh: bool
    verdict: RoomVerdict
    filter_state: RoomPressureState
    room: RoomEstimate

    @property
    def raw_pa(self) -> float | None:
        """The fresh raw reading."""
        return self.verdict.raw_pa

    @property
    def pressure_pa(self) -> float | None:
        """The gust-filtered pressure, never held."""
        return self.verdict.pressure_pa

    @property
    def door_open(self) -> bool:
        """A door hold is in force."""
        return self.verdict.held

    @property
    def door_detected(self) -> bool:
        """A door opened at this tick."""
        return self.verdict.door_opened

    @property
    def fan_stopped(self) -> bool:
        """The fan is commanded to run but does not (tachometer, power or pressure evidence)."""
        return self.verdict.fan_stopped


def room_settings(settings: DaemonSettings) -> RoomSettings:
    """How the pressure is filtered and a door, a stopped fan and a loss are recognised."""
    control = settings.control
    return RoomSettings(
        control.pressure_filter_s,
        control.door_drop_pa,
        control.door_window_s,
        control.door_hold_s,
        leakage_n=settings.room.leakage_n,
    )


def measured_fan_w(settings: DaemonSettings, shunt: ShuntInput | None) -> float | None:
    """The fan's own draw from a fresh shunt reading while discharging (the path's overheads taken off);
    None when it cannot be told (stale, or charging: the charger then feeds the fan)."""
    if shunt is None or shunt.current_a is None or shunt.current_a >= 0:
        return None
    draw_w = measured_draw_w(shunt)
    if draw_w is None or not math.isfinite(draw_w):
        return None
    return settings.path.fan_budget_w(draw_w)


def read_room(
    settings: DaemonSettings,
    filter_state: RoomPressureState,
    room: RoomEstimate,
    inputs: StepInputs,
    *,
    dt_s: float,
    command_pct: float,
    steady_s: float,
) -> RoomView:
    """Filter and classify the pressure at the command in force since the last tick, and learn the room's
    leakage from a steady fan in a room that behaves normally."""
    now_s = inputs.now_s
    reading = inputs.pressure
    fresh = (
        reading is not None
        and now_s - reading.monotonic_s <= settings.control.stale_after_s
        and plausible_pa(reading.pressure_pa)
    )
    point = settings.fan.curve.point_at(command_pct)
    fan = inputs.fan
    estimator_input = RoomReading(
        now_s=now_s,
        raw_pa=reading.pressure_pa if fresh and reading is not None else None,
        expected_flow_cfm=point.flow_cfm,
        fan_model_w=point.power_w,
        fan_power_w=measured_fan_w(settings, fresh_shunt(settings, inputs.shunt, now_s)),
        tach_present=fan is not None and fan.rpm is not None,
        tach_stalled=fan is not None and fan.stalled,
        flow_steady_s=steady_s,
        dt_s=dt_s,
    )
    filter_state, room, verdict = update_room(filter_state, room, estimator_input, room_settings(settings))
    return RoomView(fresh, verdict, filter_state, room)

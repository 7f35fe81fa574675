"""The simulated plant as pure physics: a 12.8 V LiFePO4 battery with its BMS and charger, a fan with a
spin-up lag, and a leaky room with wind noise. One function, `step`, moves a frozen `PlantState` forward.

Every update is exact for a constant input over the step (exponential lags, Ornstein-Uhlenbeck wind,
closed-form loaded voltage), so the plant stays stable for any step from 0.1 s to a minute.

Conventions, like a battery shunt: current and power are negative while discharging. `current_a`,
`power_w`, `fan_power_w` and `flow_mean_cfm` are the averages over the step that produced the state (so that coulomb
counting over the reported currents is exact); everything else is the value at the end of the step.
"""

from __future__ import annotations

import bisect
import enum
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace

SECONDS_PER_MONTH = 30.0 * 86400.0

# Open-circuit voltage of a 12.8 V LiFePO4 pack against state of charge (physics.md §3): 3.2-3.3 V per
# cell over most of the range, with knees below ~15 % and above ~95 %. Its mean over 0-100 % is the nominal
# voltage, so capacity x nominal voltage is the energy the pack delivers at a light load. Scaled by
# nominal_v / 12.8 for other packs.
OCV_SOC_PCT = (0.0, 3.0, 6.0, 10.0, 15.0, 20.0, 40.0, 60.0, 80.0, 90.0, 95.0, 98.0, 100.0)
_OCV_V = (10.0, 11.3, 12.1, 12.5, 12.7, 12.78, 12.85, 12.92, 13.02, 13.12, 13.22, 13.37, 13.6)
_OCV_NOMINAL_V = 12.8
_STANDSTILL = 0.005
"""Rotor speed (fraction of full) below which a fan counts as standing still."""


class ChargeStage(enum.StrEnum):
    """What the charger is doing (OFF while the grid is down)."""

    OFF = "off"
    BULK = "bulk"
    ABSORPTION = "absorption"
    FLOAT = "float"


@dataclass(frozen=True, slots=True)
class BatteryParams:
    """A LiFePO4 pack, its BMS and its charger."""

    capacity_ah: float = 100.0
    nominal_v: float = 12.8
    initial_soc_pct: float = 100.0
    internal_resistance_ohm: float = 0.01
    bms_cutoff_v: float = 10.0
    """Loaded pack voltage below which the BMS disconnects everything."""
    charge_current_a: float = 20.0
    """The charger's output limit (it feeds the loads first, the battery gets the rest)."""
    self_discharge_pct_per_month: float = 3.0
    absorption_v: float = 14.2
    float_v: float = 13.5
    absorption_start_soc_pct: float = 98.0
    """Bulk (constant current) ends here; absorption then tapers the current exponentially."""
    absorption_tau_s: float = 600.0
    absorption_time_s: float = 3600.0
    charge_overpotential_v: float = 0.3
    """How far the terminal voltage sits above open circuit during bulk charging (polarisation)."""


@dataclass(frozen=True, slots=True)
class RoomParams:
    """The room's leakage Q = C * dP^n and the wind across its walls."""

    leakage_c_cfm: float = 20.0
    """CFM through the leaks at 1 Pa."""
    leakage_n: float = 0.65
    wind_rms_pa: float = 1.0
    wind_tau_s: float = 20.0
    door_leakage_factor: float = 100.0
    """An open door multiplies the leakage coefficient by this, so the pressure collapses to ~0 (a 0.8 m x 2 m
    doorway passes about 2700 CFM at 1 Pa, some 130 times a 20 CFM/Pa room)."""


def _no_fan(command_pct: float) -> float:
    return 0.0


@dataclass(frozen=True, slots=True)
class PlantParams:
    """Everything the plant needs; the fan is described by two callables over the command in percent."""

    battery: BatteryParams = field(default_factory=BatteryParams)
    room: RoomParams = field(default_factory=RoomParams)
    fan_power_w: Callable[[float], float] = _no_fan
    """Fan electrical draw at a command in percent (0-100), at full speed."""
    fan_flow_cfm: Callable[[float], float] = _no_fan
    """Fan free-air flow at a command in percent (0-100), at full speed."""
    controller_draw_w: float = 0.0
    """Standing load on the battery (the controller, via its converter)."""
    fan_spinup_s: float = 3.0
    """Time constant of the fan's first-order speed lag."""
    fan_max_rpm: float = 2000.0
    stall_power_fraction: float = 0.1
    """A stalled fan's draw as a fraction of its running draw at the same command."""
    fan_stop_below_pct: float = 0.0
    """A turning fan stops when the command falls below this (PWM fans have a minimum duty)."""
    fan_start_pct: float = 0.0
    """A standing fan only starts at or above this command (kick-start); below it, it stays still."""


@dataclass(frozen=True, slots=True)
class Disturbances:
    """What the world does to the plant during a step."""

    grid_on: bool = False
    fan_stalled: bool = False
    door_open: bool = False


@dataclass(frozen=True, slots=True)
class PlantState:
    """The plant at time t_s (see the module docstring for which fields are step averages)."""

    t_s: float
    charge_ah: float
    consumed_ah: float
    """Charge counted by a shunt since the battery was last full (<= 0; reset to 0 on a charger float)."""
    voltage_v: float
    """Terminal voltage (0 while the BMS has the terminals open)."""
    current_a: float
    power_w: float
    soc_pct: float
    speed_fraction: float
    """Actual fan speed as a fraction of the commanded speed (0-1): flow = fan_flow_cfm(command) * this."""
    fan_command_pct: float
    fan_power_w: float
    flow_cfm: float
    wind_pa: float
    pressure_pa: float
    fan_rpm: float
    bms_cut: bool
    charging: bool
    stalled: bool
    door_open: bool
    rotor_fraction: float = 0.0
    """Actual fan speed as a fraction of full speed (0-1); rpm = rotor_fraction * fan_max_rpm."""
    flow_mean_cfm: float = 0.0
    """The flow averaged over the step (like `fan_power_w`): the air the room really got in it."""
    charge_stage: ChargeStage = ChargeStage.OFF
    stage_s: float = 0.0
    """Seconds spent in the current charge stage."""


def open_circuit_v(soc_pct: float, nominal_v: float = _OCV_NOMINAL_V) -> float:
    """The pack's resting voltage at a state of charge (flat LiFePO4 curve, scaled to nominal_v)."""
    if soc_pct <= 0.0:
        v = _OCV_V[0]
    elif soc_pct >= 100.0:
        v = _OCV_V[-1]
    else:
        i = bisect.bisect_right(OCV_SOC_PCT, soc_pct)
        s0 = OCV_SOC_PCT[i - 1]
        v0 = _OCV_V[i - 1]
        v = v0 + (_OCV_V[i] - v0) * (soc_pct - s0) / (OCV_SOC_PCT[i] - s0)
    return v * (nominal_v / _OCV_NOMINAL_V)


def loaded_voltage_v(ocv_v: float, load_w: float, resistance_ohm: float) -> float | None:
    """Terminal voltage under a constant-power load: V = OCV - R * P / V; None if the pack cannot deliver."""
    discriminant = ocv_v * ocv_v - 4.0 * load_w * resistance_ohm
    if discriminant < 0.0:
        return None
    return 0.5 * (ocv_v + math.sqrt(discriminant))


def static_pressure_pa(flow_cfm: float, room: RoomParams, door_open: bool = False) -> float:
    """Room pressure from the leakage law Q = C * dP^n, without wind."""
    if flow_cfm <= 0.0:
        return 0.0
    c = room.leakage_c_cfm * (room.door_leakage_factor if door_open else 1.0)
    return float((flow_cfm / c) ** (1.0 / room.leakage_n))


def initial_state(params: PlantParams) -> PlantState:
    """A fully rested plant at t = 0: battery at its initial charge, fan off, no wind."""
    b = params.battery
    soc = min(100.0, max(0.0, b.initial_soc_pct))
    charge = b.capacity_ah * soc / 100.0
    return PlantState(
        t_s=0.0,
        charge_ah=charge,
        consumed_ah=charge - b.capacity_ah,
        voltage_v=open_circuit_v(soc, b.nominal_v),
        current_a=0.0,
        power_w=0.0,
        soc_pct=soc,
        speed_fraction=0.0,
        fan_command_pct=0.0,
        fan_power_w=0.0,
        flow_cfm=0.0,
        wind_pa=0.0,
        pressure_pa=0.0,
        fan_rpm=0.0,
        bms_cut=False,
        charging=False,
        stalled=False,
        door_open=False,
    )


@dataclass(frozen=True, slots=True)
class _BatteryStep:
    """The battery at the end of a step, and the current and terminal voltage over it."""

    charge_ah: float
    consumed_ah: float
    current_a: float
    voltage_v: float
    stage: ChargeStage
    stage_s: float
    bms_cut: bool


def _wind_pa(wind_pa: float, room: RoomParams, dt_s: float, rng: random.Random) -> float:
    """An exact Ornstein-Uhlenbeck update, stationary rms wind_rms_pa."""
    decay = math.exp(-dt_s / room.wind_tau_s) if room.wind_tau_s > 0.0 else 0.0
    return wind_pa * decay + room.wind_rms_pa * math.sqrt(1.0 - decay * decay) * rng.gauss(0.0, 1.0)


def _rotor_fractions(
    state: PlantState, params: PlantParams, dt_s: float, command_pct: float, halted: bool
) -> tuple[float, float]:
    """The rotor's speed (fraction of full) at the end of the step and averaged over it.

    The speed lags the command; a stalled or unpowered (`halted`) rotor stops at once; below its minimum
    duty (or its start duty, from standstill) the motor does not turn."""
    if halted:
        return 0.0, 0.0
    target = command_pct / 100.0
    standing = state.rotor_fraction < _STANDSTILL
    turning = command_pct >= params.fan_stop_below_pct and not (standing and command_pct < params.fan_start_pct)
    x = dt_s / params.fan_spinup_s if params.fan_spinup_s > 0.0 else math.inf
    lag = math.exp(-x)
    goal = target if turning else 0.0
    gap = state.rotor_fraction - goal
    return goal + gap * lag, goal + gap * (1.0 - lag) / x


def _speed_ratios(rotor: float, rotor_mean: float, command_pct: float) -> tuple[float, float]:
    """The rotor's speed as a fraction of the commanded speed, at the end of the step and averaged over it."""
    target = command_pct / 100.0
    if target > 0.0:
        return min(1.0, rotor / target), min(1.0, rotor_mean / target)
    return 0.0, 0.0


def _fan_power_w(params: PlantParams, command_pct: float, ratio_mean: float, bms_cut: bool, stalled: bool) -> float:
    """The fan's mean draw over the step (a stalled fan draws a fraction of its running draw)."""
    if bms_cut or command_pct <= 0.0:
        return 0.0
    if stalled:
        return params.fan_power_w(command_pct) * params.stall_power_fraction
    return params.fan_power_w(command_pct) * ratio_mean


def _charging(b: BatteryParams, state: PlantState, charge_ah: float, load_w: float, dt_s: float) -> _BatteryStep:
    """The charger feeds the loads and the battery: bulk (constant current), absorption, then float."""
    stage, stage_s, consumed = state.charge_stage, state.stage_s, state.consumed_ah
    capacity = b.capacity_ah
    if stage is ChargeStage.OFF:
        stage, stage_s = ChargeStage.BULK, 0.0
    soc_now = 100.0 * charge_ah / capacity
    if stage is ChargeStage.BULK and soc_now >= b.absorption_start_soc_pct:
        stage, stage_s = ChargeStage.ABSORPTION, 0.0
    elif stage is ChargeStage.ABSORPTION and stage_s >= b.absorption_time_s:
        stage, stage_s = ChargeStage.FLOAT, 0.0
        consumed = 0.0
    if stage is ChargeStage.BULK:
        estimate_v = min(b.absorption_v, open_circuit_v(soc_now, b.nominal_v) + b.charge_overpotential_v)
        current = max(0.0, b.charge_current_a - load_w / estimate_v)
        gained = min(current * dt_s / 3600.0, capacity - charge_ah)
        current = gained * 3600.0 / dt_s
        voltage = min(b.absorption_v, estimate_v + current * b.internal_resistance_ohm)
    else:
        # Absorption and float: the missing charge decays exponentially (the tapering tail current).
        missing = capacity - charge_ah
        gained = missing * (1.0 - math.exp(-dt_s / b.absorption_tau_s))
        current = gained * 3600.0 / dt_s
        voltage = b.absorption_v if stage is ChargeStage.ABSORPTION else b.float_v
    return _BatteryStep(
        charge_ah=charge_ah + gained,
        consumed_ah=min(0.0, consumed + gained),
        current_a=current,
        voltage_v=voltage,
        stage=stage,
        stage_s=stage_s + dt_s,
        bms_cut=False,
    )


def _discharging(
    b: BatteryParams, state: PlantState, charge_ah: float, load_w: float, dt_s: float, bms_cut: bool
) -> _BatteryStep:
    """The battery carries the load, until its BMS cuts off an empty or overloaded pack."""
    consumed = state.consumed_ah
    cut = _BatteryStep(charge_ah, consumed, 0.0, 0.0, ChargeStage.OFF, 0.0, True)
    if bms_cut:
        return cut
    ocv = open_circuit_v(100.0 * charge_ah / b.capacity_ah, b.nominal_v)
    loaded = loaded_voltage_v(ocv, load_w, b.internal_resistance_ohm)
    if charge_ah <= 0.0 or loaded is None or loaded < b.bms_cutoff_v:
        return cut
    drawn = min(load_w / loaded * dt_s / 3600.0, charge_ah)
    return _BatteryStep(
        charge_ah - drawn, consumed - drawn, -drawn * 3600.0 / dt_s, loaded, ChargeStage.OFF, 0.0, False
    )


def step(
    state: PlantState,
    params: PlantParams,
    dt_s: float,
    fan_command_pct: float,
    disturbances: Disturbances,
    rng: random.Random,
) -> PlantState:
    """Advance the plant by dt_s seconds with a constant fan command and constant disturbances."""
    if dt_s <= 0.0:
        return replace(state, fan_command_pct=min(100.0, max(0.0, fan_command_pct)))
    b = params.battery
    command = min(100.0, max(0.0, fan_command_pct))
    grid_on = disturbances.grid_on
    stalled = disturbances.fan_stalled
    wind = _wind_pa(state.wind_pa, params.room, dt_s, rng)
    charge = max(
        0.0, state.charge_ah - b.capacity_ah * b.self_discharge_pct_per_month / 100.0 * dt_s / SECONDS_PER_MONTH
    )
    bms_cut = state.bms_cut and not grid_on
    rotor, rotor_mean = _rotor_fractions(state, params, dt_s, command, bms_cut or stalled)
    ratio, ratio_mean = _speed_ratios(rotor, rotor_mean, command)
    fan_power = _fan_power_w(params, command, ratio_mean, bms_cut, stalled)
    load_w = fan_power + params.controller_draw_w
    if grid_on:
        battery = _charging(b, state, charge, load_w, dt_s)
    else:
        battery = _discharging(b, state, charge, load_w, dt_s, bms_cut)
    if battery.bms_cut:
        rotor = ratio = 0.0
        fan_power = 0.0
    running = ratio > 0.0 and command > 0.0
    flow = params.fan_flow_cfm(command) * ratio if running else 0.0
    flow_mean = params.fan_flow_cfm(command) * ratio_mean if running else 0.0
    door = disturbances.door_open
    return PlantState(
        t_s=state.t_s + dt_s,
        charge_ah=battery.charge_ah,
        consumed_ah=battery.consumed_ah,
        voltage_v=battery.voltage_v,
        current_a=battery.current_a,
        power_w=battery.voltage_v * battery.current_a,
        soc_pct=100.0 * battery.charge_ah / b.capacity_ah,
        speed_fraction=ratio,
        fan_command_pct=command,
        fan_power_w=fan_power,
        flow_cfm=flow,
        flow_mean_cfm=flow_mean,
        wind_pa=wind,
        pressure_pa=static_pressure_pa(flow, params.room, door) + wind,
        fan_rpm=rotor * params.fan_max_rpm,
        bms_cut=battery.bms_cut,
        charging=grid_on,
        stalled=stalled,
        door_open=door,
        rotor_fraction=rotor,
        charge_stage=battery.stage,
        stage_s=battery.stage_s,
    )

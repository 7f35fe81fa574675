"""What this tick's readings mean: the battery (power, charging, belief, usable energy) and the room
(filtered pressure, door, learned leakage). Pure functions of the step's state and inputs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from controller.battery import BatteryState, FullDetection, update_battery
from controller.daemon_settings import DaemonSettings
from controller.estimators import (
    EnergyState,
    PressureSettings,
    PressureState,
    RoomEstimate,
    learn_room,
    update_energy,
    update_pressure,
)
from controller.step.state import PressureInput, ShuntInput

CHARGING_CURRENT_A = 0.05


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


def read_battery(
    settings: DaemonSettings,
    belief: BatteryState,
    energy: EnergyState,
    shunt: ShuntInput | None,
    *,
    now_s: float,
    now_utc: datetime,
    dt_s: float,
    modelled_w: float,
) -> BatteryView:
    """Trust a reading only while it is fresh; advance the belief and the usable energy."""
    fresh_shunt = shunt if shunt is not None and now_s - shunt.monotonic_s <= settings.control.stale_after_s else None
    voltage = fresh_shunt.voltage_v if fresh_shunt else None
    current = fresh_shunt.current_a if fresh_shunt else None
    draw_w = measured_draw_w(fresh_shunt) if fresh_shunt else None
    belief = update_battery(
        belief,
        now_s=now_s,
        now_utc=now_utc,
        dt_s=dt_s,
        fresh=fresh_shunt is not None,
        shunt_soc_pct=fresh_shunt.soc_pct if fresh_shunt else None,
        shunt_synced_age_s=fresh_shunt.since_full_charge_s if fresh_shunt else None,
        voltage_v=voltage,
        current_a=current,
        full=full_detection(settings),
    )
    energy, usable_wh = update_energy(
        energy,
        now_s=now_s,
        dt_s=dt_s,
        soc_pct=belief.soc_pct,
        shunt_fresh=fresh_shunt is not None,
        measured_power_w=draw_w,
        modelled_power_w=modelled_w,
        voltage_v=voltage,
        discharging=current is not None and current < 0,
        capacity_ah=settings.battery.capacity_ah,
        reserve_pct=settings.battery.reserve_pct,
        correction_tau_s=settings.control.power_correction_tau_s,
    )
    return BatteryView(
        fresh=fresh_shunt is not None,
        voltage_v=voltage,
        current_a=current,
        draw_w=draw_w,
        charging=current is not None and current > CHARGING_CURRENT_A,
        consumed_ah=fresh_shunt.consumed_ah if fresh_shunt else None,
        belief=belief,
        energy=energy,
        usable_wh=usable_wh,
    )


@dataclass(frozen=True, slots=True)
class RoomView:
    """The room this tick: the filtered pressure (None while the sensor is stale), the door, the leakage."""

    fresh: bool
    raw_pa: float | None
    pressure_pa: float | None
    door_open: bool
    door_detected: bool
    filter_state: PressureState
    room: RoomEstimate


def pressure_settings(settings: DaemonSettings) -> PressureSettings:
    """How the pressure is filtered and a door recognised."""
    control = settings.control
    return PressureSettings(control.pressure_filter_s, control.door_drop_pa, control.door_window_s, control.door_hold_s)


def read_room(
    settings: DaemonSettings,
    filter_state: PressureState,
    room: RoomEstimate,
    reading: PressureInput | None,
    *,
    now_s: float,
    dt_s: float,
    applied_flow_cfm: float,
    steady_s: float,
) -> RoomView:
    """Filter the pressure, detect a door, and learn the room's leakage from a steady fan and a closed door."""
    control = settings.control
    fresh = reading is not None and now_s - reading.monotonic_s <= control.stale_after_s
    raw_pa = reading.pressure_pa if fresh and reading is not None else None
    filter_state, detected = update_pressure(filter_state, raw_pa, now_s, pressure_settings(settings))
    door_open = filter_state.door_open(now_s)
    pressure_pa = filter_state.filtered_pa if fresh else None
    may_learn = (
        pressure_pa is not None
        and not door_open
        and applied_flow_cfm > 0
        and steady_s >= 3 * control.pressure_filter_s + 10
    )
    if may_learn and pressure_pa is not None:
        room = learn_room(room, applied_flow_cfm, pressure_pa, settings.room.leakage_n, dt_s)
    return RoomView(fresh, raw_pa, pressure_pa, door_open, detected, filter_state, room)

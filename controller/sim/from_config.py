"""Plant parameters from the project's configuration sections, so that `cleanroom sim` simulates exactly
the battery, fan, power path and room the planner and the policy are configured for.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from controller.config.plant import BatterySection, FanSection, RoomSection
from controller.models.fan import FanCurve, OperatingPoint
from controller.models.power_path import PowerPath
from controller.sim.plant import BatteryParams, PlantParams, RoomParams


def fan_callables(
    curve: FanCurve, path: PowerPath | None = None
) -> tuple[Callable[[float], float], Callable[[float], float]]:
    """(power_w, flow_cfm) at a command: the fan's draw seen at the store (through the path's conversion
    losses) and its flow. Memoised, since a loop repeats a handful of commands."""
    efficiency = path.efficiency if path is not None else 1.0

    @lru_cache(maxsize=4096)
    def point(command_pct: float) -> OperatingPoint:
        return curve.point_at(command_pct)

    def power_w(command_pct: float) -> float:
        return point(command_pct).power_w / efficiency

    def flow_cfm(command_pct: float) -> float:
        return point(command_pct).flow_cfm

    return power_w, flow_cfm


def plant_params(
    battery: BatterySection,
    fan: FanSection,
    room: RoomSection,
    path: PowerPath,
    *,
    initial_soc_pct: float = 100.0,
    wind_rms_pa: float = 1.0,
    wind_tau_s: float = 20.0,
    self_discharge_pct_per_month: float = 3.0,
) -> PlantParams:
    """A plant whose store holds the path's stored energy at the battery's nominal voltage, whose fan follows
    the configured curve (with its minimum duty and kick-start), and whose standing load is the path's
    overhead plus the controller's draw through its converter.

    Self-discharge (default 3 %/month, about 0.7 % of the charge over a week) is energy no planner is told
    about; pass 0 to compare a run with the planner's bound exactly."""
    power_w, flow_cfm = fan_callables(fan.curve, path)
    return PlantParams(
        battery=BatteryParams(
            capacity_ah=path.store_energy_wh / battery.nominal_v,
            nominal_v=battery.nominal_v,
            initial_soc_pct=initial_soc_pct,
            bms_cutoff_v=battery.cutoff_v,
            self_discharge_pct_per_month=self_discharge_pct_per_month,
        ),
        room=RoomParams(
            leakage_c_cfm=room.leakage_c_cfm,
            leakage_n=room.leakage_n,
            wind_rms_pa=wind_rms_pa,
            wind_tau_s=wind_tau_s,
        ),
        fan_power_w=power_w,
        fan_flow_cfm=flow_cfm,
        controller_draw_w=path.standing_total_w,
        fan_stop_below_pct=fan.min_duty_pct,
        fan_start_pct=fan.kick_start_pct,
    )

"""The control loop's fixed settings, taken from a loaded configuration."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from controller.alerts import AlertsSection
from controller.config.control import ControlSection
from controller.config.plant import BatterySection, FanSection, RoomSection
from controller.models.power_path import PowerPath
from controller.policy import PolicySettings
from controller.truth import TruthSettings

if TYPE_CHECKING:
    from controller.config.loader import Config


@dataclass(frozen=True, slots=True)
class DaemonSettings:
    """Everything the loop needs from the configuration."""

    controller_id: str
    tick_s: float
    battery: BatterySection
    path: PowerPath
    fan: FanSection
    room: RoomSection
    control: ControlSection
    alerts: AlertsSection
    state_path: Path | None

    @classmethod
    def from_config(cls, config: Config, state_path: Path | None) -> DaemonSettings:
        """The loop's view of a loaded configuration."""
        return cls(
            controller_id=config.controller.controller_id,
            tick_s=config.controller.tick_s,
            battery=config.battery,
            path=config.power_path,
            fan=config.fan,
            room=config.room,
            control=config.control,
            alerts=config.alerts,
            state_path=state_path,
        )

    def truth(self) -> TruthSettings:
        """The battery estimator's settings."""
        return _truth_settings(self.battery)

    def policy(self) -> PolicySettings:
        """The policy's fixed settings."""
        return PolicySettings(
            curve=self.fan.curve,
            room_n=self.room.leakage_n,
            min_duty_pct=self.fan.min_duty_pct,
            kick_start_pct=self.fan.kick_start_pct,
            kick_start_s=self.fan.kick_start_s,
            slew_pct_per_s=self.fan.slew_pct_per_s,
            safe_speed_pct=self.fan.safe_speed_pct,
            pressure_cap_pa=self.control.pressure_cap_pa,
            deadband_pa=self.control.deadband_pa,
            pi_kp=self.control.pi_kp,
            pi_ki=self.control.pi_ki,
            share_period_s=self.control.share_period_s,
        )


@functools.lru_cache(maxsize=8)
def _truth_settings(battery: BatterySection) -> TruthSettings:
    return TruthSettings(
        capacity_ah=battery.capacity_ah,
        curve=battery.curve,
        charged_v=battery.charged_v,
        tail_current_a=battery.tail_current_pct / 100.0 * battery.capacity_ah,
        charged_time_s=battery.charged_time_s,
        self_discharge_pct_per_month=battery.self_discharge_pct_per_month,
        capacity_sigma_pct=battery.capacity_uncertainty_pct,
    )

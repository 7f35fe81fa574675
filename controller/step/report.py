"""The snapshot a tick publishes: what the step knows, in the shape every reader (MQTT, web, history) shares."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from controller.alerts import AlertUpdate
from controller.daemon_settings import DaemonSettings
from controller.estimators import time_to_soc_s
from controller.policy import Decision
from controller.setpoints import Setpoints
from controller.snapshot import Event, Snapshot
from controller.step.planning import Outlook
from controller.step.state import ControlState, StepInputs
from controller.step.views import BatteryView, RoomView


def build_snapshot(
    settings: DaemonSettings,
    inputs: StepInputs,
    state: ControlState,
    battery: BatteryView,
    room: RoomView,
    ahead: Outlook,
    alerts: AlertUpdate,
    decision: Decision,
    stalled: bool,
    events: tuple[Event, ...],
) -> Snapshot:
    now_s, now_utc, setpoints = inputs.now_s, inputs.now_utc, state.setpoints
    point = settings.fan.curve.point_at(state.command_pct)
    return Snapshot(
        controller_id=settings.controller_id,
        timestamp_utc=now_utc,
        monotonic_s=now_s,
        mode=setpoints.mode,
        voltage_v=battery.voltage_v,
        current_a=battery.current_a,
        power_w=None if battery.draw_w is None else -battery.draw_w,
        soc_pct=setpoints.battery.soc_pct,
        consumed_ah=battery.consumed_ah,
        soc_synced=setpoints.battery.synced,
        soc_sync_age_s=setpoints.battery.sync_age_s(now_utc),
        shunt_time_to_go_s=inputs.shunt.time_to_go_s if battery.fresh and inputs.shunt is not None else None,
        charging=battery.charging,
        energy_usable_wh=battery.usable_wh,
        pressure_pa=room.pressure_pa,
        pressure_raw_pa=room.raw_pa,
        pressure_floor_pa=setpoints.floor_pa,
        pressure_setpoint_pa=setpoints.setpoint_pa,
        fan_command_pct=state.command_pct,
        fan_setting=point.setting,
        fan_rpm=inputs.fan.rpm if inputs.fan else None,
        fan_power_w=point.power_w,
        flow_cfm=0.0 if stalled else point.flow_cfm,
        clean_air_ft3=state.totals.clean_air_ft3,
        runtime_now_s=ahead.runtime_now_s,
        runtime_plan_s=ahead.runtime_plan_s,
        plan_power_w=ahead.plan_power_w,
        deadline_utc=setpoints.deadline_utc(now_s, now_utc),
        deadline_met=ahead.deadline_met,
        shunt_status=inputs.shunt_status if battery.fresh else "stale",
        pressure_status=inputs.pressure_status if room.fresh else "stale",
        fan_status="stalled" if stalled else inputs.fan_status,
        time_to_soc_s=_time_to_soc(settings, setpoints, battery, ahead),
        alerts=alerts.active,
        events=events,
        reason=decision.reason,
        pressure_hold=room.verdict.hold_reason,
        room_condition=room.verdict.condition.value,
        room_condition_reason=room.verdict.reason,
        room_c_cfm=state.room.c_cfm,
        room_c_uncertainty_pct=state.room.uncertainty_pct,
        **_truth_fields(battery, now_utc),
    )


def _truth_fields(battery: BatteryView, now_utc: datetime) -> dict[str, Any]:
    """The estimator's belief as snapshot fields (all None until it has started)."""
    truth, estimate = battery.truth, battery.estimate
    if truth is None or estimate is None:
        return {}
    synced = truth.last_sync_utc
    return {
        "soc_estimate_pct": truth.soc_pct,
        "energy_estimate_wh": estimate.mean_wh,
        "energy_uncertainty_wh": estimate.sigma_wh,
        "capacity_ah": truth.capacity_ah,
        "capacity_source": truth.capacity_source,
        "capacity_learned_utc": truth.capacity_learned_utc,
        "last_sync": truth.last_sync,
        "last_sync_utc": synced,
        "last_sync_age_s": None if synced is None else max(0.0, (now_utc - synced).total_seconds()),
    }


def _time_to_soc(
    settings: DaemonSettings, setpoints: Setpoints, battery: BatteryView, ahead: Outlook
) -> tuple[tuple[float, float | None], ...]:
    ratio = battery.energy.power_ratio
    return time_to_soc_s(
        setpoints.battery.soc_pct,
        settings.control.soc_points_pct,
        settings.battery.capacity_ah,
        battery.energy.voltage_eff_v,
        ahead.plan_power_w / ratio if ahead.plan_power_w else None,
        ratio,
        battery.charging,
    )

"""The control loop: every tick, readings in, one decision, the fan command out, one snapshot to the sinks.

Everything that decides lives in pure modules (battery, estimators, planner, policy, alerts); this shell
only reads the drivers, keeps the state between ticks, applies commands, runs the one configured
shutdown action, persists the battery belief, and publishes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from controller.alerts import AlertInputs, AlertState, update_alerts
from controller.battery import BatteryState, FullDetection, update_battery
from controller.clock import Clock
from controller.command_bus import CommandBus
from controller.daemon_settings import DaemonSettings
from controller.estimators import (
    EnergyState,
    PressureSettings,
    PressureState,
    RoomEstimate,
    ewma_alpha,
    flow_for_pressure,
    learn_room,
    runtime_s,
    time_to_soc_s,
    update_energy,
    update_pressure,
)
from controller.hub import SnapshotHub
from controller.planner import Plan, candidates_for, plan
from controller.policy import PolicyInputs, PolicyState, decide
from controller.setpoints import Setpoints, apply_command
from controller.snapshot import Event, EventKind, Mode, Severity, Snapshot
from controller.state_store import load_battery, save_battery
from drivers.base import Fan, PressureSensor, Shunt

log = logging.getLogger(__name__)

CHARGING_CURRENT_A = 0.05


@dataclass(slots=True)
class RunTotals:
    """What a run did, for the simulator's summary."""

    ticks: int = 0
    elapsed_s: float = 0.0
    clean_air_ft3: float = 0.0
    below_floor_s: float = 0.0
    pressure_known_s: float = 0.0
    first_usable_wh: float | None = None
    energy_drawn_wh: float = 0.0
    last_snapshot: Snapshot | None = None
    events: list[Event] = field(default_factory=list)


class Daemon:
    """One controller: drivers in, fan command out, a snapshot per tick to the hub."""

    def __init__(
        self,
        settings: DaemonSettings,
        *,
        shunt: Shunt,
        pressure: PressureSensor,
        fan: Fan,
        clock: Clock,
        hub: SnapshotHub,
        commands: CommandBus,
        keep_events: bool = False,
    ) -> None:
        self.settings = settings
        self.shunt = shunt
        self.pressure = pressure
        self.fan = fan
        self.clock = clock
        self.hub = hub
        self.commands = commands
        self.keep_events = keep_events
        self.policy_settings = settings.policy()
        control = settings.control
        self.setpoints = Setpoints(
            control.mode,
            control.manual_speed_pct,
            control.pressure_setpoint_pa,
            control.pressure_floor_pa,
            None,
            BatteryState(),
        )
        self.energy = EnergyState(voltage_eff_v=settings.battery.nominal_v)
        self.pressure_state = PressureState()
        self.room = RoomEstimate(settings.room.leakage_c_cfm)
        self.policy_state = PolicyState()
        self.alert_state = AlertState()
        self.plan: Plan | None = None
        self.plan_meets_deadline = False
        self.plan_holds_floor = True
        self.plan_at_s: float | None = None
        self.replan_now = True
        self.command_pct = 0.0
        self.command_since_s = 0.0
        self.plan_power_w: float | None = None
        self.last_tick_s: float | None = None
        self.last_save_s: float | None = None
        self.shutdown_done = False
        self.totals = RunTotals()
        self.pressure_settings = PressureSettings(
            control.pressure_filter_s, control.door_drop_pa, control.door_window_s, control.door_hold_s
        )
        self.full = FullDetection(
            settings.battery.capacity_ah,
            settings.battery.charged_v,
            settings.battery.tail_current_pct / 100.0 * settings.battery.capacity_ah,
            settings.battery.charged_time_s,
        )

    @property
    def mode(self) -> Mode:
        """The control mode now."""
        return self.setpoints.mode

    @property
    def manual_speed_pct(self) -> float:
        """The manual mode's command."""
        return self.setpoints.manual_speed_pct

    @property
    def setpoint_pa(self) -> float:
        """The pressure mode's target."""
        return self.setpoints.setpoint_pa

    @property
    def floor_pa(self) -> float:
        """The pressure floor."""
        return self.setpoints.floor_pa

    @property
    def deadline_mono_s(self) -> float | None:
        """The deadline on the monotonic clock."""
        return self.setpoints.deadline_mono_s

    @property
    def battery(self) -> BatteryState:
        """The battery belief."""
        return self.setpoints.battery

    @battery.setter
    def battery(self, state: BatteryState) -> None:
        self.setpoints = replace(self.setpoints, battery=state)

    async def start(self) -> None:
        """Open the devices, restore the battery belief, set the deadline from the configuration."""
        now_s, now_utc = self.clock.monotonic(), self.clock.utc_now()
        control = self.settings.control
        if control.deadline_in_s is not None:
            self.setpoints = replace(self.setpoints, deadline_mono_s=now_s + control.deadline_in_s)
        elif control.deadline_utc is not None:
            seconds = (control.deadline_utc - now_utc).total_seconds()
            self.setpoints = replace(self.setpoints, deadline_mono_s=now_s + seconds)
        if self.settings.state_path is not None:
            restored = load_battery(self.settings.state_path)
            if restored is not None:
                self.battery = restored
        for device in (self.shunt, self.pressure, self.fan):
            await device.start()
        self.command_since_s = now_s
        log.info(
            "controller %s started in %s mode (deadline %s)",
            self.settings.controller_id,
            self.mode.value,
            self.deadline_utc(now_s, now_utc) or "none",
        )

    async def stop(self) -> None:
        """Leave the fan at the safe speed, save the battery belief, release the devices."""
        safe = self.settings.fan.safe_speed_pct
        log.info("stopping: fan to the safe speed %.0f %%", safe)
        await self.fan.set_command(safe)
        self.command_pct = safe
        self._save_battery(force=True)
        for device in (self.shunt, self.pressure, self.fan):
            try:
                await device.close()
            except Exception:  # a device that fails to close must not keep the others open
                log.exception("closing %s failed", type(device).__name__)

    async def run(
        self,
        *,
        duration_s: float | None = None,
        stop: asyncio.Event | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> RunTotals:
        """Tick until `duration_s` has passed, `stop` is set or `should_stop()` says so (checked after each
        tick; the simulator stops when the battery's BMS cuts the controller's power); then stop and close
        the hub."""
        await self.start()
        start_s = self.clock.monotonic()
        next_tick = start_s
        try:
            while stop is None or not stop.is_set():
                await self.tick()
                if duration_s is not None and self.clock.monotonic() - start_s >= duration_s - 1e-9:
                    break
                if should_stop is not None and should_stop():
                    break
                next_tick += self.settings.tick_s
                await self.clock.sleep(max(0.0, next_tick - self.clock.monotonic()))
        finally:
            await self.stop()
            self._publish_event_only(EventKind.STOPPING, "controller stopped; fan left at the safe speed")
            self.hub.close()
        return self.totals

    def deadline_utc(self, now_s: float, now_utc: datetime) -> datetime | None:
        """The deadline as wall time (it lives on the monotonic clock, so NTP jumps cannot move it)."""
        return self.setpoints.deadline_utc(now_s, now_utc)

    def _take_commands(self, now_s: float, now_utc: datetime) -> list[Event]:
        events: list[Event] = []
        for pending in self.commands.take_pending():
            before = self.mode
            self.setpoints, result = apply_command(
                self.setpoints, pending.command, now_s, now_utc, self.settings.control.pressure_cap_pa
            )
            if not pending.result.done():
                pending.result.set_result(result)
            kind = EventKind.COMMAND_ACCEPTED if result.accepted else EventKind.COMMAND_REJECTED
            events.append(
                Event(
                    kind,
                    f"{pending.source}: {result.message}",
                    now_utc,
                    Severity.INFO if result.accepted else Severity.WARNING,
                    values={"source": pending.source, "command": type(pending.command).__name__},
                )
            )
            if result.accepted:
                self.replan_now = True
                log.info("command from %s: %s", pending.source, result.message)
            else:
                log.warning("command from %s rejected: %s", pending.source, result.message)
            if self.mode is not before:
                events.append(Event(EventKind.MODE_CHANGED, f"mode {before.value} -> {self.mode.value}", now_utc))
        return events

    def _replan(self, usable_wh: float | None, now_s: float, now_utc: datetime) -> list[Event]:
        """Re-plan the energy schedule (runtime and auto modes) from what is left and the time to go."""
        self.plan_at_s = now_s
        self.replan_now = False
        curve = self.settings.fan.curve
        c, n = self.room.c_cfm, self.settings.room.leakage_n
        cap_cfm = flow_for_pressure(c, n, self.settings.control.pressure_cap_pa)
        remaining_s = None if self.deadline_mono_s is None else self.deadline_mono_s - now_s
        if self.mode not in (Mode.RUNTIME, Mode.AUTO) or usable_wh is None or remaining_s is None or remaining_s <= 0:
            self.plan, self.plan_meets_deadline = None, False
            return []
        horizon_s = max(remaining_s, self.settings.tick_s)
        energy_wh = usable_wh / self.energy.power_ratio
        floor_cfm = flow_for_pressure(c, n, self.floor_pa) if self.mode is Mode.AUTO else 0.0
        result = plan(
            energy_wh,
            horizon_s,
            candidates_for(curve, min_flow_cfm=floor_cfm, max_flow_cfm=cap_cfm),
            self.settings.path,
        )
        self.plan_holds_floor = True
        if not result.feasible and self.mode is Mode.AUTO and self.settings.control.priority == "runtime":
            result = plan(energy_wh, horizon_s, candidates_for(curve, max_flow_cfm=cap_cfm), self.settings.path)
            self.plan_holds_floor = False
        changed = self.plan is None or [s.point.setting for s in self.plan.schedule] != [
            s.point.setting for s in result.schedule
        ]
        self.plan, self.plan_meets_deadline = result, result.feasible
        if not changed:
            return []
        phases = ", ".join(f"{s.point.setting} {100 * s.share:.0f} %" for s in result.schedule)
        return [
            Event(
                EventKind.PLAN_UPDATED,
                f"plan: {phases}, {result.average_cfm:.0f} CFM average, "
                f"{'lasts until the deadline' if result.feasible else 'cannot last until the deadline'}",
                now_utc,
                values={"budget_w": round(result.budget_w, 3), "average_cfm": round(result.average_cfm, 1)},
            )
        ]

    async def _shutdown_action(self, now_utc: datetime) -> Event:
        command = self.settings.control.shutdown_command
        self.shutdown_done = True
        log.error("battery at the shutdown level: running %s", " ".join(command))
        try:
            process = await asyncio.create_subprocess_exec(*command)
            code = await asyncio.wait_for(process.wait(), 60.0)
            message = f"shutdown action {' '.join(command)} exited with {code}"
        except (OSError, TimeoutError) as exc:
            message = f"shutdown action {' '.join(command)} failed: {exc}"
        return Event(EventKind.SHUTDOWN_ACTION, message, now_utc, Severity.CRITICAL)

    def _save_battery(self, *, force: bool = False) -> None:
        path = self.settings.state_path
        now_s = self.clock.monotonic()
        if path is None or self.battery.soc_pct is None:
            return
        if (
            not force
            and self.last_save_s is not None
            and now_s - self.last_save_s < self.settings.control.state_save_interval_s
        ):
            return
        if save_battery(path, self.battery, self.clock.utc_now()):
            self.last_save_s = now_s

    def _publish_event_only(self, kind: EventKind, message: str) -> None:
        latest = self.hub.latest
        if latest is None:
            return
        event = Event(kind, message, self.clock.utc_now())
        self.hub.publish(replace(latest, timestamp_utc=event.timestamp_utc, events=(event,)))

    async def tick(self) -> Snapshot:
        """One decision: read, estimate, (re-)plan, decide, actuate, alert, publish."""
        s = self.settings
        control = s.control
        now_s, now_utc = self.clock.monotonic(), self.clock.utc_now()
        dt = 0.0 if self.last_tick_s is None else max(0.0, now_s - self.last_tick_s)
        self.last_tick_s = now_s
        events = self._take_commands(now_s, now_utc)
        if self.totals.ticks == 0:
            events.append(
                Event(EventKind.STARTED, f"controller {s.controller_id} started in {self.mode.value} mode", now_utc)
            )

        # clean air from the flow that ran during the last interval
        fan_reading = self.fan.latest()
        stalled = fan_reading is not None and fan_reading.stalled
        applied = s.fan.curve.point_at(self.command_pct)
        applied_flow = 0.0 if stalled else applied.flow_cfm
        self.totals.clean_air_ft3 += applied_flow * dt / 60.0

        shunt = self.shunt.latest()
        shunt_fresh = shunt is not None and now_s - shunt.monotonic_s <= control.stale_after_s
        voltage = shunt.voltage_v if shunt_fresh and shunt else None
        current = shunt.current_a if shunt_fresh and shunt else None
        measured_w = None
        if shunt_fresh and shunt is not None:
            # V (mV) x I (mA) first: a SmartShunt's own P is in whole watts, 10 % of a 5 W load.
            if voltage is not None and current is not None:
                measured_w = -voltage * current
            elif shunt.power_w is not None:
                measured_w = -shunt.power_w
        charging = current is not None and current > CHARGING_CURRENT_A
        self.battery = update_battery(
            self.battery,
            now_s=now_s,
            now_utc=now_utc,
            dt_s=dt,
            fresh=shunt_fresh,
            shunt_soc_pct=shunt.soc_pct if shunt_fresh and shunt else None,
            shunt_synced_age_s=shunt.history.get("since_full_charge_s") if shunt_fresh and shunt else None,
            voltage_v=voltage,
            current_a=current,
            full=self.full,
        )
        modelled_w = s.path.source_power_w(applied.power_w)
        self.energy, usable_wh = update_energy(
            self.energy,
            now_s=now_s,
            dt_s=dt,
            soc_pct=self.battery.soc_pct,
            shunt_fresh=shunt_fresh,
            measured_power_w=measured_w,
            modelled_power_w=modelled_w,
            voltage_v=voltage,
            discharging=current is not None and current < 0,
            capacity_ah=s.battery.capacity_ah,
            reserve_pct=s.battery.reserve_pct,
            correction_tau_s=control.power_correction_tau_s,
        )
        if measured_w is not None and measured_w > 0:
            self.totals.energy_drawn_wh += measured_w * dt / 3600.0
        if self.totals.first_usable_wh is None and usable_wh is not None:
            self.totals.first_usable_wh = usable_wh

        reading = self.pressure.latest()
        pressure_fresh = reading is not None and now_s - reading.monotonic_s <= control.stale_after_s
        raw_pa = reading.pressure_pa if pressure_fresh and reading else None
        self.pressure_state, door = update_pressure(self.pressure_state, raw_pa, now_s, self.pressure_settings)
        door_open = self.pressure_state.door_open(now_s)
        pressure_pa = self.pressure_state.filtered_pa if pressure_fresh else None
        if door:
            events.append(
                Event(EventKind.DOOR_OPEN, f"door opened: pressure fell to {raw_pa:.1f} Pa; alarms held", now_utc)
            )
        steady_s = now_s - self.command_since_s
        if (
            pressure_pa is not None
            and not door_open
            and applied_flow > 0
            and steady_s >= 3 * control.pressure_filter_s + 10
        ):
            self.room = learn_room(self.room, applied_flow, pressure_pa, s.room.leakage_n, dt)

        if self.replan_now or self.plan_at_s is None or now_s - self.plan_at_s >= control.replan_interval_s:
            events += self._replan(usable_wh, now_s, now_utc)

        critical = self.alert_state.battery_level == "critical"
        decision = decide(
            PolicyInputs(
                now_s=now_s,
                dt_s=dt,
                mode=self.mode,
                manual_speed_pct=self.manual_speed_pct,
                pressure_setpoint_pa=self.setpoint_pa,
                pressure_floor_pa=self.floor_pa,
                pressure_pa=pressure_pa,
                door_open=door_open,
                room_c_cfm=self.room.c_cfm,
                plan=self.plan,
                plan_meets_deadline=self.plan_meets_deadline,
                battery_critical=critical,
                fan_stalled=stalled,
                hold_floor=self.plan_holds_floor or self.plan is None,
            ),
            self.policy_state,
            self.policy_settings,
        )
        self.policy_state = decision.state
        command = decision.command_pct
        failing = not shunt_fresh or not pressure_fresh or stalled
        if command <= 0.0 and self.mode is not Mode.MANUAL and failing:
            command = s.fan.safe_speed_pct
        if command != self.command_pct:
            self.command_since_s = now_s
        self.command_pct = command
        await self.fan.set_command(command)

        point = s.fan.curve.point_at(command)
        source_now_w = s.path.source_power_w(point.power_w)
        if self.plan is not None:
            self.plan_power_w = self.plan.average_source_w * self.energy.power_ratio
        else:
            previous = self.plan_power_w if self.plan_power_w is not None else source_now_w
            self.plan_power_w = previous + ewma_alpha(dt, control.share_period_s) * (source_now_w - previous)
        ratio = self.energy.power_ratio
        runtime_now = runtime_s(usable_wh, source_now_w, ratio, charging)
        runtime_plan = runtime_s(usable_wh, self.plan_power_w / ratio, ratio, charging)
        remaining_s = None if self.deadline_mono_s is None else self.deadline_mono_s - now_s
        deadline_met: bool | None = None
        shortfall: float | None = None
        if remaining_s is not None and remaining_s > 0 and not charging:
            if runtime_plan is not None:
                shortfall = remaining_s - runtime_plan
                deadline_met = shortfall <= 0
            if self.plan is not None and self.mode is Mode.AUTO:
                deadline_met = self.plan_meets_deadline
                shortfall = None if self.plan_meets_deadline else remaining_s - self.plan.lasts_s
        if charging:
            deadline_met = True if remaining_s is not None else None

        alerts = update_alerts(
            self.alert_state,
            AlertInputs(
                now_utc=now_utc,
                monotonic_s=now_s,
                soc_pct=self.battery.soc_pct,
                runtime_left_s=runtime_plan,
                charging=charging,
                deadline_shortfall_s=shortfall,
                pressure_pa=pressure_pa,
                pressure_floor_pa=self.floor_pa if self.mode is not Mode.MANUAL else None,
                pressure_cap_pa=control.pressure_cap_pa,
                door_open=door_open,
                shunt_stale=not shunt_fresh,
                pressure_stale=not pressure_fresh,
                fan_stalled=stalled,
                fan_fault=self.fan.stats.state.value == "unavailable",
                conditions=self.hub.conditions,
            ),
            s.alerts,
        )
        self.alert_state = alerts.state
        events += alerts.events
        if (
            control.shutdown_command
            and not self.shutdown_done
            and self.battery.soc_pct is not None
            and self.battery.soc_pct <= control.shutdown_soc_pct
            and not charging
        ):
            events.append(await self._shutdown_action(now_utc))
        self._save_battery()

        if pressure_pa is not None:
            self.totals.pressure_known_s += dt
            if pressure_pa < self.floor_pa and self.mode is not Mode.MANUAL:
                self.totals.below_floor_s += dt
        self.totals.ticks += 1
        self.totals.elapsed_s += dt
        if self.keep_events:
            self.totals.events.extend(events)

        usable_voltage = self.energy.voltage_eff_v
        snapshot = Snapshot(
            controller_id=s.controller_id,
            timestamp_utc=now_utc,
            monotonic_s=now_s,
            mode=self.mode,
            voltage_v=voltage,
            current_a=current,
            power_w=None if measured_w is None else -measured_w,
            soc_pct=self.battery.soc_pct,
            consumed_ah=shunt.consumed_ah if shunt_fresh and shunt else None,
            soc_synced=self.battery.synced,
            soc_sync_age_s=self.battery.sync_age_s(now_utc),
            charging=charging,
            energy_usable_wh=usable_wh,
            pressure_pa=pressure_pa,
            pressure_raw_pa=raw_pa,
            pressure_floor_pa=self.floor_pa,
            pressure_setpoint_pa=self.setpoint_pa,
            fan_command_pct=command,
            fan_setting=point.setting,
            fan_rpm=fan_reading.rpm if fan_reading else None,
            fan_power_w=point.power_w,
            flow_cfm=0.0 if stalled else point.flow_cfm,
            clean_air_ft3=self.totals.clean_air_ft3,
            runtime_now_s=runtime_now,
            runtime_plan_s=runtime_plan,
            plan_power_w=self.plan_power_w,
            deadline_utc=self.deadline_utc(now_s, now_utc),
            deadline_met=deadline_met,
            shunt_status=self.shunt.stats.state.value if shunt_fresh else "stale",
            pressure_status=self.pressure.stats.state.value if pressure_fresh else "stale",
            fan_status="stalled" if stalled else self.fan.stats.state.value,
            time_to_soc_s=time_to_soc_s(
                self.battery.soc_pct,
                control.soc_points_pct,
                s.battery.capacity_ah,
                usable_voltage,
                self.plan_power_w / ratio if self.plan_power_w else None,
                ratio,
                charging,
            ),
            alerts=alerts.active,
            events=tuple(events),
            reason=decision.reason,
        )
        self.totals.last_snapshot = snapshot
        self.hub.publish(snapshot)
        return snapshot

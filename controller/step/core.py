"""The control step: one pure function from the state and this tick's inputs to the fan command, the
snapshot and the effects the shell carries out. Every decision the loop makes lives here or below."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from controller.alerts import AlertInputs, AlertState, update_alerts
from controller.battery import BatteryState, SocSource
from controller.commands import Command, CommandResult, SetSoc, SetSpeed
from controller.daemon_settings import DaemonSettings
from controller.estimators import EnergyState
from controller.models.fan import FanCurve
from controller.policy import Decision, PolicyInputs, PolicyState, decide
from controller.room_pressure import RoomEstimate, RoomPressureState
from controller.setpoints import Setpoints, apply_command
from controller.snapshot import Event, EventKind, Mode, Severity
from controller.step.battery_alerts import capacity_condition, sync_condition
from controller.step.planning import (
    Outlook,
    charger_plan,
    outlook,
    replan,
    replan_due,
    smoothed_plan_power_w,
    tight_room_condition,
)
from controller.step.report import build_snapshot
from controller.step.state import (
    ControlState,
    Effect,
    PlanState,
    RunShutdown,
    SaveBattery,
    SourcedCommand,
    StepInputs,
    StepResult,
    Totals,
)
from controller.step.views import BatteryView, RoomView, read_battery, read_room


def initial_state(
    settings: DaemonSettings, now_s: float, now_utc: datetime, restored: BatteryState | None = None
) -> ControlState:
    """The state a run starts from: the configured mode and targets, the deadline on the monotonic clock,
    and the battery belief restored from the last run (if any)."""
    control = settings.control
    deadline_s: float | None = None
    if control.deadline_in_s is not None:
        deadline_s = now_s + control.deadline_in_s
    elif control.deadline_utc is not None:
        deadline_s = now_s + (control.deadline_utc - now_utc).total_seconds()
    setpoints = Setpoints(
        control.mode,
        control.manual_speed_pct,
        control.pressure_setpoint_pa,
        control.pressure_floor_pa,
        deadline_s,
        restored if restored is not None else BatteryState(),
    )
    return ControlState(
        setpoints=setpoints,
        energy=EnergyState(voltage_eff_v=settings.battery.nominal_v),
        pressure=RoomPressureState(),
        room=RoomEstimate(settings.room.leakage_c_cfm),
        policy=PolicyState(),
        alerts=AlertState(),
        planning=PlanState(),
        command_since_s=now_s,
    )


def apply_commands(
    setpoints: Setpoints,
    commands: tuple[SourcedCommand, ...],
    now_s: float,
    now_utc: datetime,
    cap_pa: float,
    curve: FanCurve | None = None,
) -> tuple[Setpoints, tuple[CommandResult, ...], list[Event]]:
    """Apply the commands in order; each gets an answer and an event (a mode change gets one more). A
    speed a discrete fan (`curve`) has no setting for is snapped to its nearest setting, with a note."""
    results: list[CommandResult] = []
    events: list[Event] = []
    for sourced in commands:
        before = setpoints.mode
        command, note = snap_speed(sourced.command, curve)
        setpoints, result = apply_command(setpoints, command, now_s, now_utc, cap_pa)
        if note and result.accepted:
            result = replace(result, message=f"{result.message} ({note})")
        results.append(result)
        events.append(
            Event(
                EventKind.COMMAND_ACCEPTED if result.accepted else EventKind.COMMAND_REJECTED,
                f"{sourced.source}: {result.message}",
                now_utc,
                Severity.INFO if result.accepted else Severity.WARNING,
                values={"source": sourced.source, "command": type(sourced.command).__name__},
            )
        )
        if setpoints.mode is not before:
            events.append(Event(EventKind.MODE_CHANGED, f"mode {before.value} -> {setpoints.mode.value}", now_utc))
    return setpoints, tuple(results), events


def snap_speed(command: Command, curve: FanCurve | None) -> tuple[Command, str | None]:
    """A manual speed under a discrete fan's lowest setting (which the fan model would run as 'off') raised
    to that setting, and the note that says so; any other command unchanged (between settings a discrete
    fan runs at the setting at or below the command, as before; 0 % is off)."""
    if not isinstance(command, SetSpeed) or curve is None or curve.continuous or command.speed_pct <= 0.0:
        return command, None
    lowest = curve.commands[0]
    if command.speed_pct >= lowest - 1e-9:
        return command, None
    note = f"this fan's lowest setting is {lowest:g} %; {command.speed_pct:g} % raised to it (0 % turns it off)"
    return SetSpeed(lowest), note


def fail_safe(command_pct: float, mode: Mode, failing: bool, safe_speed_pct: float) -> float:
    """Software never leaves the fan off because something failed (manual mode is the user's own word)."""
    if command_pct <= 0.0 and mode is not Mode.MANUAL and failing:
        return safe_speed_pct
    return command_pct


def step(settings: DaemonSettings, state: ControlState, inputs: StepInputs) -> StepResult:
    """One tick: commands, readings, estimates, (re-)plan, decide, alert, and the snapshot."""
    now_s, now_utc = inputs.now_s, inputs.now_utc
    dt = 0.0 if state.last_tick_s is None else max(0.0, now_s - state.last_tick_s)
    cap_pa, curve = settings.control.pressure_cap_pa, settings.fan.curve
    setpoints, results, events = apply_commands(state.setpoints, inputs.commands, now_s, now_utc, cap_pa, curve)
    state, planning = _after_commands(state, inputs.commands, results)
    events += _started(settings, state, setpoints.mode, now_utc)

    seen = _observe(settings, state, setpoints, inputs, dt)
    battery, room, stalled = seen.battery, seen.room, seen.stalled
    setpoints = replace(setpoints, battery=battery.belief)
    events += seen.events
    planning = _follow_charger(planning, battery.charging)
    if replan_due(planning, now_s, settings.control.replan_interval_s, energy_news=_can_plan(setpoints, battery)):
        planning, plan_events = replan(
            settings, planning, setpoints, battery, room_c_cfm=room.room.c_cfm, now_s=now_s, now_utc=now_utc
        )
        events += plan_events

    decision = _decide(settings, state, setpoints, planning, room, dt, now_s, stalled)
    failing = not battery.fresh or not room.fresh or stalled
    command = fail_safe(decision.command_pct, setpoints.mode, failing, settings.fan.safe_speed_pct)
    point = settings.fan.curve.point_at(command)
    source_now_w = settings.path.source_power_w(point.power_w)
    ratio = battery.energy.power_ratio
    plan_power_w = smoothed_plan_power_w(settings, planning, state.plan_power_w, source_now_w, ratio, dt)
    ahead = outlook(planning, setpoints, battery, plan_power_w=plan_power_w, source_now_w=source_now_w, now_s=now_s)
    alert_inputs = _alert_inputs(settings, inputs, setpoints, battery, room, ahead, stalled, planning)
    alerts = update_alerts(state.alerts, alert_inputs, settings.alerts)
    events += alerts.events
    effects, shutdown_done, last_save_s = _effects(settings, state, setpoints.battery, battery, now_s, now_utc)
    events += inputs.shell_events

    totals = _count(state.totals, settings, setpoints, battery, room, seen.applied_flow_cfm, dt)
    new_state = ControlState(
        setpoints=setpoints,
        energy=battery.energy,
        pressure=room.filter_state,
        room=room.room,
        policy=decision.state,
        alerts=alerts.state,
        planning=planning,
        command_pct=command,
        command_since_s=now_s if command != state.command_pct else state.command_since_s,
        plan_power_w=plan_power_w,
        last_tick_s=now_s,
        last_save_s=last_save_s,
        shutdown_done=shutdown_done,
        totals=totals,
        truth=battery.truth,
    )
    snapshot = build_snapshot(
        settings, inputs, new_state, battery, room, ahead, alerts, decision, stalled, tuple(events)
    )
    return StepResult(new_state, command, snapshot, results, effects)


def _can_plan(setpoints: Setpoints, battery: BatteryView) -> bool:
    """The mode plans and the energy is known."""
    return battery.usable_wh is not None and setpoints.mode in (Mode.RUNTIME, Mode.AUTO)


def _started(settings: DaemonSettings, state: ControlState, mode: Mode, now_utc: datetime) -> list[Event]:
    """The run's first event."""
    if state.totals.ticks != 0:
        return []
    return [Event(EventKind.STARTED, f"controller {settings.controller_id} started in {mode.value} mode", now_utc)]


def _follow_charger(planning: PlanState, charging: bool) -> PlanState:
    """A charger took over the load or let go of it: plan afresh."""
    if charging == planning.on_charger:
        return planning
    return replace(planning, on_charger=charging, replan_now=True)


def _after_commands(
    state: ControlState, commands: tuple[SourcedCommand, ...], results: tuple[CommandResult, ...]
) -> tuple[ControlState, PlanState]:
    """An accepted command re-plans at once; a state of charge set by hand restarts the estimator from it."""
    accepted = [c.command for c, r in zip(commands, results, strict=True) if r.accepted]
    planning = replace(state.planning, replan_now=True) if accepted else state.planning
    if any(isinstance(command, SetSoc) for command in accepted):
        state = replace(state, truth=None)
    return state, planning


@dataclass(frozen=True, slots=True)
class _Observation:
    """This tick's readings, judged: the battery, the room, the fan, and the flow that ran since the last tick."""

    battery: BatteryView
    room: RoomView
    stalled: bool
    applied_flow_cfm: float
    events: tuple[Event, ...]


def _observe(
    settings: DaemonSettings, state: ControlState, setpoints: Setpoints, inputs: StepInputs, dt: float
) -> _Observation:
    now_s = inputs.now_s
    room = read_room(
        settings, state.pressure, state.room, inputs, dt_s=dt, command_pct=state.command_pct,
        steady_s=now_s - state.command_since_s,
    )  # fmt: skip
    stalled = room.fan_stopped
    applied = settings.fan.curve.point_at(state.command_pct)
    applied_flow = 0.0 if stalled else applied.flow_cfm
    battery = read_battery(
        settings, setpoints.battery, state.energy, state.truth, inputs.shunt, now_s=now_s, now_utc=inputs.now_utc,
        dt_s=dt, modelled_w=settings.path.source_power_w(0.0 if stalled else applied.power_w),
        correct_power=not room.verdict.fan_doubted and applied.power_w > 0.0,
    )  # fmt: skip
    events: tuple[Event, ...] = ()
    if room.door_detected and room.raw_pa is not None:
        message = (
            f"door opened: pressure fell to {room.raw_pa:.1f} Pa with the fan's flow unchanged; pressure alarms "
            f"deferred until it returns, at most {settings.control.door_hold_s:g} s after it opened"
        )
        events = (Event(EventKind.DOOR_OPEN, message, inputs.now_utc),)
    return _Observation(battery, room, stalled, applied_flow, events)


def _decide(
    settings: DaemonSettings,
    state: ControlState,
    setpoints: Setpoints,
    planning: PlanState,
    room: RoomView,
    dt: float,
    now_s: float,
    stalled: bool,
) -> Decision:
    """The policy's command; while a charger carries the load, the runtime and auto modes run for air
    within the pressure cap instead of the battery plan."""
    on_charger = planning.on_charger and setpoints.mode in (Mode.RUNTIME, Mode.AUTO)
    inputs = PolicyInputs(
        now_s=now_s,
        dt_s=dt,
        mode=setpoints.mode,
        manual_speed_pct=setpoints.manual_speed_pct,
        pressure_setpoint_pa=setpoints.setpoint_pa,
        pressure_floor_pa=setpoints.floor_pa,
        pressure_pa=room.pressure_pa,
        door_open=room.door_open,
        room_c_cfm=room.room.c_cfm,
        plan=charger_plan(settings, room.room.c_cfm) if on_charger else planning.plan,
        plan_meets_deadline=on_charger or planning.meets_deadline,
        battery_critical=state.alerts.battery_level == "critical",
        fan_stalled=stalled,
        hold_floor=planning.holds_floor or planning.plan is None,
    )
    return decide(inputs, state.policy, settings.policy())


def _alert_inputs(
    settings: DaemonSettings,
    inputs: StepInputs,
    setpoints: Setpoints,
    battery: BatteryView,
    room: RoomView,
    ahead: Outlook,
    stalled: bool,
    planning: PlanState,
) -> AlertInputs:
    return AlertInputs(
        now_utc=inputs.now_utc,
        monotonic_s=inputs.now_s,
        soc_pct=setpoints.battery.soc_pct,
        runtime_left_s=ahead.runtime_plan_s,
        charging=battery.charging,
        deadline_shortfall_s=ahead.shortfall_s,
        pressure_pa=room.pressure_pa,
        pressure_floor_pa=setpoints.floor_pa,
        pressure_cap_pa=settings.control.pressure_cap_pa,
        door_open=room.door_open,
        door_closed=room.verdict.door_closed,
        shunt_stale=not battery.fresh,
        pressure_stale=not room.fresh,
        fan_stalled=stalled,
        fan_stall_evidence=room.verdict.evidence,
        fan_fault=inputs.fan_status == "unavailable",
        conditions=(
            *inputs.conditions,
            tight_room_condition(planning),
            sync_condition(battery.truth, settings.alerts, inputs.now_utc),
            capacity_condition(battery.truth, settings.alerts, settings.battery.capacity_ah),
        ),
    )


def measured_evidence(settings: DaemonSettings, belief: BatteryState, battery: BatteryView) -> bool:
    """Whether the battery's low state rests on a measurement: a state of charge from the shunt itself or
    counted since a full-charge synchronisation, or the voltage under load at or below the cutoff. A state
    of charge set by hand (or restored from the last run) alone is not enough to end the run."""
    if belief.source in (SocSource.SHUNT, SocSource.COUNTER):
        return True
    loaded = battery.draw_w is not None and battery.draw_w > 0.0
    return loaded and battery.voltage_v is not None and battery.voltage_v <= settings.battery.cutoff_v


def _effects(
    settings: DaemonSettings,
    state: ControlState,
    belief: BatteryState,
    battery: BatteryView,
    now_s: float,
    now_utc: datetime,
) -> tuple[tuple[Effect, ...], bool, float | None]:
    """The shutdown action (once, at the shutdown level on measured evidence, not while charging) and the
    periodic save of the battery belief. Returns the effects, whether the shutdown has been asked for, and
    the last save time."""
    control = settings.control
    effects: list[Effect] = []
    shutdown_done = state.shutdown_done
    soc = belief.soc_pct
    at_level = soc is not None and soc <= control.shutdown_soc_pct
    measured = measured_evidence(settings, belief, battery)
    if control.shutdown_command and not shutdown_done and at_level and measured and not battery.charging:
        effects.append(RunShutdown(tuple(control.shutdown_command)))
        shutdown_done = True
    last_save_s = state.last_save_s
    save_due = last_save_s is None or now_s - last_save_s >= control.state_save_interval_s
    if settings.state_path is not None and soc is not None and save_due:
        effects.append(SaveBattery(belief, now_utc))
        last_save_s = now_s
    return tuple(effects), shutdown_done, last_save_s


def _count(
    totals: Totals,
    settings: DaemonSettings,
    setpoints: Setpoints,
    battery: BatteryView,
    room: RoomView,
    applied_flow_cfm: float,
    dt: float,
) -> Totals:
    """Clean air from the flow that ran during the last interval; energy drawn; time below the floor."""
    drawn = battery.draw_w * dt / 3600.0 if battery.draw_w is not None and battery.draw_w > 0 else 0.0
    known = room.pressure_pa is not None
    below = known and room.pressure_pa is not None and room.pressure_pa < setpoints.floor_pa
    return Totals(
        ticks=totals.ticks + 1,
        elapsed_s=totals.elapsed_s + dt,
        clean_air_ft3=totals.clean_air_ft3 + applied_flow_cfm * dt / 60.0,
        below_floor_s=totals.below_floor_s + (dt if below and setpoints.mode is not Mode.MANUAL else 0.0),
        pressure_known_s=totals.pressure_known_s + (dt if known else 0.0),
        first_usable_wh=totals.first_usable_wh if totals.first_usable_wh is not None else battery.usable_wh,
        energy_drawn_wh=totals.energy_drawn_wh + drawn,
    )

"""The control policy: one pure function from what is known this tick to a fan command.

Modes (design.md, "Control"):
- manual:   a fixed command;
- pressure: PI on the filtered pressure towards a setpoint, feed-forward from the room curve,
            deadband, anti-windup, frozen while a door is open;
- runtime:  the energy-optimal schedule that lasts until the deadline (the loop re-plans);
- auto:     the same schedule built only from points that hold the pressure floor on their own;
            when even the floor cannot last, the configured priority decides (the loop plans it);
- eco:      the point with the most CFM per watt that still holds the floor.
A two-point schedule is time-shared over periods of minutes with a carry, so short phases are merged
into later periods instead of toggling the fan. At critical battery (unless a feasible deadline plan is
running, which already is the cheapest way to reach it) the fan drops to the cheapest point that holds
the floor. With nothing known the fan runs at the safe speed; a failure never switches it off.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace

from controller.estimators import flow_for_pressure
from controller.models.fan import FanCurve, OperatingPoint
from controller.planner import Plan
from controller.snapshot import Mode

MIN_PHASE_S = 60.0
BOOST_HOLD_S = 60.0


@dataclass(frozen=True, slots=True)
class PolicySettings:
    """The fixed parts: the fan and how it may be driven, the room's exponent, the loop's tuning."""

    curve: FanCurve
    room_n: float
    min_duty_pct: float
    kick_start_pct: float
    kick_start_s: float
    slew_pct_per_s: float
    safe_speed_pct: float
    pressure_cap_pa: float
    deadband_pa: float
    pi_kp: float
    pi_ki: float
    share_period_s: float


@dataclass(frozen=True, slots=True)
class PolicyInputs:
    """What is known this tick (None = unknown or stale)."""

    now_s: float
    dt_s: float
    mode: Mode
    manual_speed_pct: float
    pressure_setpoint_pa: float
    pressure_floor_pa: float
    pressure_pa: float | None
    door_open: bool
    room_c_cfm: float
    plan: Plan | None
    plan_meets_deadline: bool
    battery_critical: bool
    fan_stalled: bool
    hold_floor: bool = True
    """False when the user's priority gave the floor up to reach the deadline."""


@dataclass(frozen=True, slots=True)
class Target:
    """Run `high` for `share_high` of the time and `low` for the rest (a single point has share 1)."""

    low_pct: float
    high_pct: float
    share_high: float
    reason: str

    @staticmethod
    def single(command_pct: float, reason: str) -> Target:
        """One command all the time."""
        return Target(command_pct, command_pct, 1.0, reason)


@dataclass(frozen=True, slots=True)
class PolicyState:
    """What the policy remembers between ticks. Start with `PolicyState()`."""

    integral_cfm: float = 0.0
    pi_flow_cfm: float | None = None
    period_start_s: float | None = None
    period_pair: tuple[float, float] | None = None
    high_time_s: float = 0.0
    carry_s: float = 0.0
    command_pct: float = 0.0
    kick_until_s: float | None = None
    boost_until_s: float | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """The command to apply, the flow the model expects from it, why, and the new state."""

    command_pct: float
    reason: str
    state: PolicyState


def floor_flow_cfm(inputs: PolicyInputs, settings: PolicySettings) -> float:
    """The flow the learned room curve needs to hold the pressure floor."""
    return flow_for_pressure(inputs.room_c_cfm, settings.room_n, inputs.pressure_floor_pa)


def cap_flow_cfm(inputs: PolicyInputs, settings: PolicySettings) -> float:
    """The flow at which the learned room curve reaches the pressure cap."""
    return flow_for_pressure(inputs.room_c_cfm, settings.room_n, settings.pressure_cap_pa)


def _points(settings: PolicySettings) -> tuple[OperatingPoint, ...]:
    return settings.curve.candidates(4)


def cheapest_holding(floor_cfm: float, settings: PolicySettings) -> OperatingPoint:
    """The lowest-power point that still gives the floor's flow (the top point if none does)."""
    holding = [p for p in _points(settings) if p.flow_cfm >= floor_cfm - 1e-9]
    return min(holding, key=lambda p: p.power_w) if holding else settings.curve.max_point


def most_efficient_holding(floor_cfm: float, cap_cfm: float, settings: PolicySettings) -> OperatingPoint:
    """The point with the most CFM per watt between the floor's and the cap's flow."""
    holding = [p for p in _points(settings) if floor_cfm - 1e-9 <= p.flow_cfm <= cap_cfm + 1e-9]
    if not holding:
        return cheapest_holding(floor_cfm, settings)
    return max(holding, key=lambda p: (p.cfm_per_w, -p.power_w))


def _flow_target(flow_cfm: float, floor_cfm: float, settings: PolicySettings, reason: str) -> Target:
    """A flow demand as a command (continuous fan) or as a share between two settings (discrete fan),
    never with a phase below the floor's flow."""
    curve = settings.curve
    if curve.continuous:
        return Target.single(curve.command_for_flow(max(flow_cfm, floor_cfm)), reason)
    points = curve.points
    if flow_cfm <= points[0].flow_cfm:
        return Target.single(curve.command_for_flow(max(flow_cfm, floor_cfm, 1e-9)), reason)
    for low, high in itertools.pairwise(points):
        if flow_cfm <= high.flow_cfm:
            if low.flow_cfm < floor_cfm:
                return Target.single(high.command_pct, reason)
            share = (flow_cfm - low.flow_cfm) / (high.flow_cfm - low.flow_cfm)
            return Target(low.command_pct, high.command_pct, share, reason)
    return Target.single(points[-1].command_pct, reason)


def _pressure_target(inputs: PolicyInputs, state: PolicyState, settings: PolicySettings) -> tuple[Target, PolicyState]:
    curve = settings.curve
    floor_cfm = floor_flow_cfm(inputs, settings)
    max_cfm = min(curve.max_point.flow_cfm, max(cap_flow_cfm(inputs, settings), curve.min_point.flow_cfm))
    feed_forward = flow_for_pressure(inputs.room_c_cfm, settings.room_n, inputs.pressure_setpoint_pa)
    if inputs.pressure_pa is None:
        flow = min(max_cfm, feed_forward)
        target = _flow_target(
            flow, floor_cfm, settings, "pressure: sensor stale, holding the setpoint from the room curve"
        )
        return target, replace(state, pi_flow_cfm=flow)
    if inputs.door_open and state.pi_flow_cfm is not None:
        target = _flow_target(state.pi_flow_cfm, floor_cfm, settings, "pressure: door open, loop frozen")
        return target, state
    error = inputs.pressure_setpoint_pa - inputs.pressure_pa
    if abs(error) <= settings.deadband_pa:
        error = 0.0
    integral = state.integral_cfm + settings.pi_ki * error * inputs.dt_s
    unclamped = feed_forward + settings.pi_kp * error + integral
    low_cfm = curve.min_point.flow_cfm
    flow = min(max_cfm, max(low_cfm, unclamped))
    if unclamped != flow and (unclamped > flow) == (error > 0):
        integral = state.integral_cfm
        flow = min(max_cfm, max(low_cfm, feed_forward + settings.pi_kp * error + integral))
    target = _flow_target(flow, floor_cfm, settings, f"pressure: holding {inputs.pressure_setpoint_pa:g} Pa")
    return target, replace(state, integral_cfm=integral, pi_flow_cfm=flow)


def choose_target(inputs: PolicyInputs, state: PolicyState, settings: PolicySettings) -> tuple[Target, PolicyState]:
    """The mode's wish, before time-sharing and the fan's own limits."""
    mode = inputs.mode
    floor_cfm = floor_flow_cfm(inputs, settings) if mode is not Mode.RUNTIME else 0.0
    if mode is Mode.MANUAL:
        return Target.single(inputs.manual_speed_pct, "manual"), state
    if mode is Mode.PRESSURE:
        return _pressure_target(inputs, state, settings)
    if inputs.battery_critical and not (inputs.plan is not None and inputs.plan_meets_deadline):
        point = cheapest_holding(floor_cfm, settings)
        return Target.single(
            point.command_pct, f"critical battery: cheapest setting that holds the floor ({point.setting})"
        ), state
    if mode is Mode.ECO:
        point = most_efficient_holding(floor_cfm, cap_flow_cfm(inputs, settings), settings)
        return Target.single(point.command_pct, f"eco: most air per watt that holds the floor ({point.setting})"), state
    plan = inputs.plan
    if plan is None:
        return Target.single(settings.safe_speed_pct, "no plan (energy unknown): safe speed"), state
    schedule = plan.schedule
    if len(schedule) == 1:
        return Target.single(
            schedule[0].point.command_pct, f"{mode.value}: plan runs {schedule[0].point.setting}"
        ), state
    low, high = schedule[0], schedule[1]
    reason = f"{mode.value}: plan shares {low.point.setting} and {high.point.setting} ({100 * high.share:.0f} % high)"
    return Target(low.point.command_pct, high.point.command_pct, high.share, reason), state


def time_share(target: Target, state: PolicyState, now_s: float, period_s: float) -> tuple[float, PolicyState]:
    """Run the two commands in periods of `period_s`: high first for its share, then low. Phases shorter
    than a minute are carried into later periods, so the average holds without fast toggling."""
    if target.low_pct == target.high_pct or target.share_high >= 1.0:
        return target.high_pct, replace(state, period_start_s=None, period_pair=None, carry_s=0.0)
    pair = (target.low_pct, target.high_pct)
    start = state.period_start_s
    carry = state.carry_s if state.period_pair == pair else 0.0
    if start is None or state.period_pair != pair or now_s - start >= period_s:
        start = (
            now_s
            if start is None or state.period_pair != pair
            else start + period_s * math.floor((now_s - start) / period_s)
        )
        wanted = target.share_high * period_s + carry
        if wanted < MIN_PHASE_S:
            high_time, carry = 0.0, wanted
        elif period_s - wanted < MIN_PHASE_S:
            high_time, carry = period_s, wanted - period_s
        else:
            high_time, carry = wanted, 0.0
        state = replace(state, period_start_s=start, period_pair=pair, high_time_s=high_time, carry_s=carry)
    command = target.high_pct if now_s - start < state.high_time_s else target.low_pct
    return command, state


def shape(
    command_pct: float, state: PolicyState, inputs: PolicyInputs, settings: PolicySettings
) -> tuple[float, PolicyState]:
    """The fan's own limits: minimum duty, kick-start from standstill and a slew limit (continuous fans;
    a discrete fan's settings are applied as they are)."""
    command = min(100.0, max(0.0, command_pct))
    if not settings.curve.continuous:
        return command, replace(state, command_pct=command, kick_until_s=None)
    if 0.0 < command < settings.min_duty_pct:
        command = settings.min_duty_pct
    starting = command > 0.0 and (state.command_pct <= 0.0 or inputs.fan_stalled)
    kick_until = state.kick_until_s
    if starting and settings.kick_start_pct > command and kick_until is None:
        kick_until = inputs.now_s + settings.kick_start_s
    if kick_until is not None and inputs.now_s < kick_until and command > 0.0:
        return max(command, settings.kick_start_pct), replace(
            state, command_pct=max(command, settings.kick_start_pct), kick_until_s=kick_until
        )
    step = settings.slew_pct_per_s * max(inputs.dt_s, 0.0)
    if command > 0.0 and state.command_pct > 0.0:
        command = min(state.command_pct + step, max(state.command_pct - step, command))
        command = max(command, settings.min_duty_pct)
    return command, replace(state, command_pct=command, kick_until_s=None)


def step_up(command_pct: float, inputs: PolicyInputs, settings: PolicySettings) -> float:
    """The next setting above a command (a continuous fan: a fifth more flow, kept under the pressure cap
    when the cap allows a step at all). The floor comes before the cap: the cap is for the doors."""
    curve = settings.curve
    cap_cfm = cap_flow_cfm(inputs, settings)
    if curve.continuous:
        wanted = min(curve.max_point.flow_cfm, max(curve.flow_cfm(command_pct) * 1.2, curve.min_point.flow_cfm))
        return curve.command_for_flow(min(wanted, max(cap_cfm, curve.flow_cfm(command_pct))))
    higher = [p.command_pct for p in curve.points if p.command_pct > command_pct + 1e-9]
    return higher[0] if higher else command_pct


def supervise_floor(
    command_pct: float, target: Target, state: PolicyState, inputs: PolicyInputs, settings: PolicySettings
) -> tuple[float, PolicyState, str]:
    """In the floor-keeping modes, a filtered pressure under the floor (a gust, a room leakier than
    learned) steps the fan up for a minute; the next re-plan absorbs the energy."""
    if inputs.mode not in (Mode.AUTO, Mode.ECO) or inputs.door_open or not inputs.hold_floor:
        return command_pct, replace(state, boost_until_s=None), ""
    boost_until = state.boost_until_s
    if inputs.pressure_pa is not None and inputs.pressure_pa < inputs.pressure_floor_pa:
        boost_until = inputs.now_s + BOOST_HOLD_S
    if boost_until is None or inputs.now_s >= boost_until:
        return command_pct, replace(state, boost_until_s=None), ""
    boosted = max(
        command_pct, target.high_pct if target.high_pct > command_pct else step_up(command_pct, inputs, settings)
    )
    return boosted, replace(state, boost_until_s=boost_until), "; below the floor: stepped up"


def decide(inputs: PolicyInputs, state: PolicyState, settings: PolicySettings) -> Decision:
    """The fan command for this tick."""
    target, state = choose_target(inputs, state, settings)
    command, state = time_share(target, state, inputs.now_s, settings.share_period_s)
    command, state, note = supervise_floor(command, target, state, inputs, settings)
    command, state = shape(command, state, inputs, settings)
    return Decision(command, target.reason + note, state)

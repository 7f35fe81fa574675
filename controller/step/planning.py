"""When and how the energy schedule is re-planned, and what the run can promise from it: runtime at the
current speed and under the plan, the smoothed plan power, and whether the deadline is met."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from controller.condition import Condition
from controller.daemon_settings import DaemonSettings
from controller.estimators import ewma_alpha, flow_for_pressure, runtime_s
from controller.planner import Plan, candidates_for, plan, tight_room
from controller.setpoints import Setpoints
from controller.snapshot import AlertKind, Event, EventKind, Mode
from controller.step.state import BendWarning, PlanState
from controller.step.views import BatteryView

SECONDS_PER_HOUR = 3600.0
CHARGER_ENERGY_WH = 1e9
"""Energy 'available' from a charger: enough that the plan is the top point under the cap."""


def replan_due(planning: PlanState, now_s: float, interval_s: float, energy_news: bool = False) -> bool:
    """A command asked for it, there is no plan yet, the re-plan interval has passed, or the energy just
    became known to a mode that plans without a plan (a shunt that said nothing at first)."""
    interval_over = planning.planned_at_s is None or now_s - planning.planned_at_s >= interval_s
    return planning.replan_now or interval_over or (energy_news and planning.plan is None)


def replan(
    settings: DaemonSettings,
    planning: PlanState,
    setpoints: Setpoints,
    battery: BatteryView,
    *,
    room_c_cfm: float,
    now_s: float,
    now_utc: datetime,
) -> tuple[PlanState, tuple[Event, ...]]:
    """Re-plan the energy schedule (runtime and auto modes) from what is left and the time to go: the
    estimate's lower bound, raised towards the central estimate as far as the bend's warning allows."""
    usable_wh, power_ratio = battery.usable_wh, battery.energy.power_ratio
    planning = replace(planning, planned_at_s=now_s, replan_now=False)
    curve, n, control = settings.fan.curve, settings.room.leakage_n, settings.control
    cap_cfm = flow_for_pressure(room_c_cfm, n, control.pressure_cap_pa)
    deadline = setpoints.deadline_mono_s
    remaining_s = None if deadline is None else deadline - now_s
    mode = setpoints.mode
    if mode not in (Mode.RUNTIME, Mode.AUTO) or usable_wh is None or remaining_s is None or remaining_s <= 0:
        return replace(planning, plan=None, meets_deadline=False, tight_room=None), ()
    horizon_s = max(remaining_s, settings.tick_s)
    floor_cfm = flow_for_pressure(room_c_cfm, n, setpoints.floor_pa) if mode is Mode.AUTO else 0.0
    allow_off = mode is Mode.RUNTIME and setpoints.floor_pa <= 0.0
    candidates = candidates_for(curve, allow_off=allow_off, min_flow_cfm=floor_cfm, max_flow_cfm=cap_cfm)
    slowest_w = settings.path.source_power_w(candidates.hull[0].power_w) * power_ratio
    energy_wh = spendable_wh(usable_wh, battery.expected_wh, battery.bend, horizon_s, slowest_w) / power_ratio
    result = plan(energy_wh, horizon_s, candidates, settings.path)
    holds_floor = True
    if not result.feasible and mode is Mode.AUTO and control.priority == "runtime":
        candidates = candidates_for(curve, max_flow_cfm=cap_cfm)
        result = plan(energy_wh, horizon_s, candidates, settings.path)
        holds_floor = False
    tight = tight_room(result, candidates, curve, control.pressure_cap_pa)
    before = planning.plan
    changed = before is None or [s.point.setting for s in before.schedule] != [s.point.setting for s in result.schedule]
    planning = replace(planning, plan=result, meets_deadline=result.feasible, holds_floor=holds_floor)
    planning = replace(planning, tight_room=tight, slowest_w=slowest_w)
    if not changed:
        return planning, ()
    phases = ", ".join(
        f"{_spoken(s.point.setting, curve.continuous)} for {100 * s.share:.0f} %{' of the time' if i == 0 else ''}"
        for i, s in enumerate(result.schedule)
    )
    lasts = "lasts until the deadline" if result.feasible else "cannot last until the deadline"
    notice = "" if tight is None else f"; {tight.message}"
    event = Event(
        EventKind.PLAN_UPDATED,
        f"plan: {phases}, {result.average_cfm:.0f} CFM average, {lasts}{notice}",
        now_utc,
        values={"budget_w": round(result.budget_w, 3), "average_cfm": round(result.average_cfm, 1)},
    )
    return planning, (event,)


def spendable_wh(
    lower_wh: float, expected_wh: float | None, bend: BendWarning | None, horizon_s: float, slowest_w: float
) -> float:
    """The energy a plan over `horizon_s` may spend: the lower bound, or more where the bend warns in time.

    Energy the lower bound holds back is only known to be there near empty; by then the fan's top setting
    (under the pressure cap) may not spend it before the deadline, and it is lost. But a pack smaller than
    believed shows itself at the curve's lower bend, and from there the fan can slow to its slowest point
    (`slowest_w` on the store). So the plan may spend at the rate P that, were the pack the low case, would
    reach the bend with `bend.bend_wh` left and time enough at the slowest point to reach the deadline:
    (low case - bend) / P + bend / slowest >= horizon. Never more than the central estimate, never less
    than the lower bound."""
    if expected_wh is None or bend is None or expected_wh <= lower_wh:
        return lower_wh
    if slowest_w <= 0.0:
        return expected_wh
    bend_lasts_s = bend.bend_wh * SECONDS_PER_HOUR / slowest_w
    if bend_lasts_s >= horizon_s:
        return expected_wh
    rate_w = (bend.low_case_wh - bend.bend_wh) * SECONDS_PER_HOUR / (horizon_s - bend_lasts_s)
    return min(expected_wh, max(lower_wh, rate_w * horizon_s / SECONDS_PER_HOUR))


def _spoken(setting: str, continuous: bool) -> str:
    """A schedule's step as people say it: "setting 2", "40% duty", "fan off"."""
    if setting == "off":
        return "fan off"
    return f"{setting} duty" if continuous else f"setting {setting}"


@dataclass(frozen=True, slots=True)
class Outlook:
    """What the run can promise this tick."""

    plan_power_w: float
    runtime_now_s: float | None
    runtime_plan_s: float | None
    deadline_met: bool | None
    shortfall_s: float | None


def smoothed_plan_power_w(
    settings: DaemonSettings,
    planning: PlanState,
    previous_w: float | None,
    source_now_w: float,
    power_ratio: float,
    dt_s: float,
) -> float:
    """The plan's average draw on the store; without a plan, the draw now smoothed over a share period."""
    if planning.plan is not None:
        return planning.plan.average_source_w * power_ratio
    start = previous_w if previous_w is not None else source_now_w
    return start + ewma_alpha(dt_s, settings.control.share_period_s) * (source_now_w - start)


def outlook(
    planning: PlanState, setpoints: Setpoints, battery: BatteryView, *, plan_power_w: float, source_now_w: float,
    now_s: float,
) -> Outlook:  # fmt: skip
    """Runtime at the current speed (from the expected energy, when the estimator has one) and under the
    plan (from the energy the plan may spend); the deadline met or missed, and by how much."""
    usable_wh, expected_wh, charging = battery.usable_wh, battery.expected_wh, battery.charging
    power_ratio = battery.energy.power_ratio
    runtime_now = runtime_s(usable_wh if expected_wh is None else expected_wh, source_now_w, power_ratio, charging)
    deadline = setpoints.deadline_mono_s
    remaining_s = None if deadline is None else deadline - now_s
    spend_wh = usable_wh
    if usable_wh is not None and remaining_s is not None and remaining_s > 0 and planning.slowest_w is not None:
        spend_wh = spendable_wh(usable_wh, expected_wh, battery.bend, remaining_s, planning.slowest_w)
    runtime_plan = runtime_s(spend_wh, plan_power_w / power_ratio, power_ratio, charging)
    met: bool | None = None
    shortfall: float | None = None
    if remaining_s is not None and remaining_s > 0 and not charging:
        if runtime_plan is not None:
            shortfall = remaining_s - runtime_plan
            met = shortfall <= 0
        if planning.plan is not None and setpoints.mode in (Mode.AUTO, Mode.RUNTIME):
            met = planning.meets_deadline
            horizon_s = planning.plan.duration_s
            shortfall = max(-horizon_s, horizon_s - planning.plan.lasts_s)
    if charging:
        met = True if remaining_s is not None else None
    return Outlook(plan_power_w, runtime_now, runtime_plan, met, shortfall)


def charger_plan(settings: DaemonSettings, room_c_cfm: float) -> Plan:
    """While a charger carries the load the battery is not spent: the most air the pressure cap allows."""
    cap_cfm = flow_for_pressure(room_c_cfm, settings.room.leakage_n, settings.control.pressure_cap_pa)
    candidates = candidates_for(settings.fan.curve, max_flow_cfm=cap_cfm)
    return plan(CHARGER_ENERGY_WH, settings.control.replan_interval_s, candidates, settings.path)


def tight_room_condition(planning: PlanState) -> Condition:
    """The tight-room notice as a condition for the alarm catalogue's info row (inactive without one)."""
    tight = planning.tight_room
    if tight is None:
        return Condition(AlertKind.TIGHT_ROOM, False, "the pressure cap no longer leaves energy unspent", {})
    values: dict[str, float | None] = {
        "cap_pa": tight.cap_pa,
        "cap_cfm": tight.cap_cfm,
        "left_wh": round(tight.left_wh, 1),
    }
    return Condition(AlertKind.TIGHT_ROOM, True, tight.message, values)

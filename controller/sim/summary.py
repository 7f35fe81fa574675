"""The simulator's end-of-run summary (pure): the run judged against its deadline (clean air counted up to
the deadline, none after the battery cut out; met or missed by how many hours) and against two bounds:
the planner's hull for the energy the run drew, and the hull for the energy the battery really held at
the start (`controller.sim.truth`), which nothing the run did can move."""

from __future__ import annotations

from dataclasses import dataclass, replace

from controller.daemon import RunTotals
from controller.estimators import flow_for_pressure
from controller.models.fan import FanCurve
from controller.models.power_path import PowerPath
from controller.planner import Candidates, candidates_for, plan
from controller.sim.foresight import DeadlineTurn, bound_without_foresight
from controller.sim.plant import BatteryParams
from controller.sim.truth import Interval, true_bound
from controller.snapshot import Mode


@dataclass(frozen=True, slots=True)
class Truth:
    """What the simulator knows and the controller does not, up to the deadline (or the run's end)."""

    battery: BatteryParams
    """The battery as it really was at the start."""
    grid_spans: tuple[Interval, ...]
    """When the grid was on, within the horizon."""
    clean_air_ft3: float
    """The air the room really got up to the horizon."""
    commands: tuple[str, ...] = ()
    """The scenario's timed commands and the loop's answers."""
    deadlines: tuple[DeadlineTurn, ...] = ()
    """The deadline in force from each time on (the configured one from 0, then each move), from the start."""

    @property
    def unforeseeable(self) -> bool:
        """Something happened that no controller could have planned for: the grid returned, the deadline moved."""
        return bool(self.grid_spans) or len({deadline for _, deadline in self.deadlines}) > 1


@dataclass(frozen=True, slots=True)
class SimSummary:
    """The `cleanroom sim --json` object."""

    mode: str
    scenario: str
    hours: float
    deadline_h: float | None
    deadline_met: bool | None
    average_cfm: float
    clean_air_ft3: float
    controller_clean_air_ft3: float
    below_floor_pct: float | None
    end_soc_pct: float | None
    usable_wh: float | None
    energy_drawn_wh: float
    bound_cfm: float | None
    best_fixed_cfm: float | None
    ratio_to_bound: float | None
    ratio_to_best_fixed: float | None
    bms_cut_h: float | None
    controller_draw_w: float
    deadline_miss_h: float | None = None
    """How many hours before the deadline the run ended (0 when met; None without a deadline)."""
    clean_air_to_deadline_ft3: float | None = None
    """The air the room really got up to the deadline (none after the battery cut out)."""
    average_cfm_to_deadline: float | None = None
    true_energy_wh: float | None = None
    """The energy the battery really held at the start (real capacity and charge)."""
    true_budget_wh: float | None = None
    """true_energy_wh less self-discharge by the deadline, plus what a charger could put back."""
    true_bound_cfm: float | None = None
    """The most average CFM over the deadline any schedule could give with the true budget."""
    ratio_to_true_bound: float | None = None
    deadline_reachable: bool | None = None
    """Whether the energy the battery really held could last to the deadline (with the same floor)."""
    commands: tuple[str, ...] = ()
    foresight_free_bound_cfm: float | None = None
    """Where the grid returned or the deadline moved: the average CFM of the best plan for what was known at
    each moment (`controller.sim.foresight`); the true bound assumes the future was known from the start."""
    ratio_to_foresight_free_bound: float | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready, rounded for reading."""
        out: dict[str, object] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            out[name] = round(value, 4) if isinstance(value, float) else value
        return out


def summarize(
    totals: RunTotals,
    *,
    mode: Mode,
    scenario: str,
    deadline_s: float | None,
    curve: FanCurve,
    path: PowerPath,
    room_c_cfm: float,
    room_n: float,
    floor_pa: float,
    cap_pa: float,
    bms_cut_s: float | None,
    delivered_ft3: float | None = None,
    truth: Truth | None = None,
) -> SimSummary:
    """`delivered_ft3` is the air the (simulated) room really got; without it, what the controller counted.

    Compare a finished run with the concave-hull bound: the most airflow any schedule of the fan's
    points (within the same pressure floor and cap) gives for the energy the run drew over the deadline;
    with `truth`, also with the bound for the energy the battery really held (off allowed without a floor)."""
    hours = totals.elapsed_s / 3600.0
    clean_air = totals.clean_air_ft3 if delivered_ft3 is None else delivered_ft3
    average = clean_air * 60.0 / totals.elapsed_s if totals.elapsed_s > 0 else 0.0
    horizon_s = totals.elapsed_s if deadline_s is None else min(deadline_s, totals.elapsed_s)
    floor_cfm = flow_for_pressure(room_c_cfm, room_n, floor_pa) if mode in (Mode.AUTO, Mode.ECO) else 0.0
    cap_cfm = flow_for_pressure(room_c_cfm, room_n, cap_pa) if mode is not Mode.MANUAL else float("inf")
    bound, best_fixed = _drawn_bound(totals.energy_drawn_wh, horizon_s, curve, path, floor_cfm, cap_cfm)
    met = _deadline_met(totals, deadline_s, bms_cut_s)
    below = 100.0 * totals.below_floor_s / totals.pressure_known_s if totals.pressure_known_s > 0 else None
    last = totals.last_snapshot
    summary = SimSummary(
        mode=mode.value,
        scenario=scenario,
        hours=hours,
        deadline_h=None if deadline_s is None else deadline_s / 3600.0,
        deadline_met=met,
        average_cfm=average,
        clean_air_ft3=clean_air,
        controller_clean_air_ft3=totals.clean_air_ft3,
        below_floor_pct=below,
        end_soc_pct=last.soc_pct if last else None,
        usable_wh=totals.first_usable_wh,
        energy_drawn_wh=totals.energy_drawn_wh,
        bound_cfm=bound,
        best_fixed_cfm=best_fixed,
        ratio_to_bound=average / bound if bound else None,
        ratio_to_best_fixed=average / best_fixed if best_fixed else None,
        bms_cut_h=None if bms_cut_s is None else bms_cut_s / 3600.0,
        controller_draw_w=path.standing_total_w,
        deadline_miss_h=_miss_h(met, deadline_s, totals.elapsed_s, bms_cut_s),
    )
    if truth is None:
        return summary
    judged_s = totals.elapsed_s if deadline_s is None else deadline_s
    held = candidates_for(curve, allow_off=floor_cfm <= 0.0, min_flow_cfm=floor_cfm, max_flow_cfm=cap_cfm)
    free = candidates_for(curve, allow_off=True, max_flow_cfm=cap_cfm)
    return judged(summary, truth, judged_s, (held, free), path)


def judged(
    summary: SimSummary, truth: Truth, horizon_s: float, candidates: tuple[Candidates, Candidates], path: PowerPath
) -> SimSummary:
    """The summary with the honest figures: the air up to the horizon (the deadline) against the bound for
    the energy the battery really held. `candidates` are the fan's points that hold the floor and all of
    them (with off): where the true energy cannot hold the floor until the deadline, a controller may let
    the floor go, so the bound does too."""
    if horizon_s <= 0.0:
        return replace(summary, commands=truth.commands)
    held, free = candidates
    bound = true_bound(truth.battery, horizon_s, truth.grid_spans, held, path)
    if not bound.reachable:
        bound = replace(true_bound(truth.battery, horizon_s, truth.grid_spans, free, path), reachable=False)
    average = truth.clean_air_ft3 * 60.0 / horizon_s
    if truth.unforeseeable:
        known = bound_without_foresight(truth.battery, horizon_s, truth.deadlines, truth.grid_spans, candidates, path)
        summary = replace(
            summary,
            foresight_free_bound_cfm=known.average_cfm,
            ratio_to_foresight_free_bound=average / known.average_cfm if known.average_cfm > 0.0 else None,
        )
    return replace(
        summary,
        clean_air_to_deadline_ft3=truth.clean_air_ft3,
        average_cfm_to_deadline=average,
        true_energy_wh=bound.energy_at_start_wh,
        true_budget_wh=bound.budget_wh,
        true_bound_cfm=bound.average_cfm,
        ratio_to_true_bound=average / bound.average_cfm if bound.average_cfm > 0.0 else None,
        deadline_reachable=bound.reachable if summary.deadline_h is not None else None,
        commands=truth.commands,
    )


def _drawn_bound(
    energy_wh: float, horizon_s: float, curve: FanCurve, path: PowerPath, floor_cfm: float, cap_cfm: float
) -> tuple[float | None, float | None]:
    """The hull's average CFM for the energy the run drew over the horizon, and the best fixed setting's."""
    if energy_wh <= 0 or horizon_s <= 0:
        return None, None
    candidates = candidates_for(curve, min_flow_cfm=floor_cfm, max_flow_cfm=cap_cfm)
    reference = plan(energy_wh, horizon_s, candidates, path)
    best_fixed = reference.best_fixed_cfm if reference.best_fixed else None
    return reference.clean_air_ft3 * 60.0 / horizon_s, best_fixed


def _miss_h(met: bool | None, deadline_s: float | None, elapsed_s: float, bms_cut_s: float | None) -> float | None:
    """Hours between the run's end (or the battery's cut) and the deadline when missed; 0 when met."""
    if met is None or deadline_s is None:
        return None
    if met:
        return 0.0
    ended_s = bms_cut_s if bms_cut_s is not None else elapsed_s
    return max(0.0, deadline_s - ended_s) / 3600.0


def _deadline_met(totals: RunTotals, deadline_s: float | None, bms_cut_s: float | None) -> bool | None:
    """Met if the run lasted to the deadline, not if the BMS cut it short; else the controller's own view."""
    if deadline_s is None:
        return None
    if bms_cut_s is not None and bms_cut_s < deadline_s:
        return False
    if totals.elapsed_s + 1e-6 >= deadline_s:
        return True
    return totals.last_snapshot.deadline_met if totals.last_snapshot else None

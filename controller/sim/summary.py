"""The simulator's end-of-run summary: what the run achieved against the planner's bound (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from controller.daemon import RunTotals
from controller.estimators import flow_for_pressure
from controller.models.fan import FanCurve
from controller.models.power_path import PowerPath
from controller.planner import candidates_for, plan
from controller.snapshot import Mode


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
) -> SimSummary:
    """`delivered_ft3` is the air the (simulated) room really got; without it, what the controller counted.

    Compare a finished run with the concave-hull bound: the most airflow any schedule of the fan's
    points (within the same pressure floor and cap) gives for the energy the run drew over the deadline."""
    hours = totals.elapsed_s / 3600.0
    clean_air = totals.clean_air_ft3 if delivered_ft3 is None else delivered_ft3
    average = clean_air * 60.0 / totals.elapsed_s if totals.elapsed_s > 0 else 0.0
    horizon_s = totals.elapsed_s if deadline_s is None else min(deadline_s, totals.elapsed_s)
    bound = best_fixed = None
    if totals.energy_drawn_wh > 0 and horizon_s > 0:
        floor_cfm = flow_for_pressure(room_c_cfm, room_n, floor_pa) if mode in (Mode.AUTO, Mode.ECO) else 0.0
        cap_cfm = flow_for_pressure(room_c_cfm, room_n, cap_pa) if mode is not Mode.MANUAL else float("inf")
        candidates = candidates_for(curve, min_flow_cfm=floor_cfm, max_flow_cfm=cap_cfm)
        reference = plan(totals.energy_drawn_wh, horizon_s, candidates, path)
        bound = reference.clean_air_ft3 * 60.0 / horizon_s
        best_fixed = reference.best_fixed_cfm if reference.best_fixed else None
    met = _deadline_met(totals, deadline_s, bms_cut_s)
    below = 100.0 * totals.below_floor_s / totals.pressure_known_s if totals.pressure_known_s > 0 else None
    last = totals.last_snapshot
    return SimSummary(
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
    )


def _deadline_met(totals: RunTotals, deadline_s: float | None, bms_cut_s: float | None) -> bool | None:
    """Met if the run lasted to the deadline, not if the BMS cut it short; else the controller's own view."""
    if deadline_s is None:
        return None
    if bms_cut_s is not None and bms_cut_s < deadline_s:
        return False
    if totals.elapsed_s + 1e-6 >= deadline_s:
        return True
    return totals.last_snapshot.deadline_met if totals.last_snapshot else None

"""The energy-optimal schedule: for a store of energy and a target duration, the most clean air.

The average power budget is E/T. On the upper concave hull of the candidate points, the two vertices
around the fan's share of that budget, each run for its share of time, give the most airflow; no fixed
setting and no other mix beats them (physics.md §5). With a pressure floor every phase must hold it on
its own, so candidates below the floor's flow are dropped before the hull is built, and "off" is only a
candidate when allowed and no floor is required.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from controller.models.fan import OFF, FanCurve, OperatingPoint
from controller.models.hull import upper_hull
from controller.models.power_path import PowerPath

SECONDS_PER_HOUR = 3600.0
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Share:
    """Run `point` for `share` of the time (0-1)."""

    point: OperatingPoint
    share: float


@dataclass(frozen=True, slots=True)
class Candidates:
    """The points a plan may use and their hull, built once per curve and constraint set."""

    points: tuple[OperatingPoint, ...]
    hull: tuple[OperatingPoint, ...]
    hull_powers: tuple[float, ...]
    allow_off: bool
    min_flow_cfm: float
    floor_reachable: bool


def candidates_for(
    curve: FanCurve, *, allow_off: bool = False, min_flow_cfm: float = 0.0, max_flow_cfm: float = float("inf")
) -> Candidates:
    """The hull to plan on: points that hold the floor on their own, none above the pressure cap's flow
    (unless only such points hold the floor: then the lowest of them), and 'off' when allowed."""
    resolution = max(1, -(-256 // max(1, len(curve.points) - 1)))
    usable = tuple(p for p in curve.candidates(resolution) if p.flow_cfm + _EPS >= min_flow_cfm)
    floor_reachable = bool(usable)
    if not usable:
        usable = (curve.max_point,)
    capped = tuple(p for p in usable if p.flow_cfm <= max_flow_cfm + _EPS)
    usable = capped or (min(usable, key=lambda p: p.flow_cfm),)
    with_off = (*usable, OFF) if allow_off and min_flow_cfm <= 0.0 else usable
    hull = upper_hull(with_off)
    return Candidates(usable, hull, tuple(p.power_w for p in hull), allow_off, min_flow_cfm, floor_reachable)


@dataclass(frozen=True, slots=True)
class Plan:
    """What the fan should do to spend `energy_wh` over `duration_s` with the most clean air."""

    duration_s: float
    energy_wh: float
    budget_w: float
    fan_budget_w: float
    schedule: tuple[Share, ...]
    average_fan_w: float
    average_source_w: float
    average_cfm: float
    lasts_s: float
    clean_air_ft3: float
    best_fixed: OperatingPoint | None
    floor_reachable: bool

    @property
    def feasible(self) -> bool:
        """The schedule lasts the whole duration (and every phase holds the floor)."""
        return self.floor_reachable and self.lasts_s + 1e-6 >= self.duration_s

    @property
    def best_fixed_cfm(self) -> float:
        """Flow of the best single setting that lasts as long (0 when none does)."""
        return self.best_fixed.flow_cfm if self.best_fixed else 0.0


def mix_for_budget(candidates: Candidates, fan_budget_w: float) -> tuple[Share, ...]:
    """The hull neighbours of a fan power budget and their shares of time (one point at the ends)."""
    hull, powers = candidates.hull, candidates.hull_powers
    if fan_budget_w <= powers[0] + _EPS:
        return (Share(hull[0], 1.0),)
    if fan_budget_w >= powers[-1] - _EPS:
        return (Share(hull[-1], 1.0),)
    index = bisect.bisect_right(powers, fan_budget_w)
    low, high = hull[index - 1], hull[index]
    share_high = (fan_budget_w - low.power_w) / (high.power_w - low.power_w)
    if share_high <= _EPS:
        return (Share(low, 1.0),)
    if share_high >= 1 - _EPS:
        return (Share(high, 1.0),)
    return (Share(low, 1.0 - share_high), Share(high, share_high))


def best_fixed_point(candidates: Candidates, path: PowerPath, budget_w: float) -> OperatingPoint | None:
    """The running point with the most flow whose draw on the store fits the budget."""
    best: OperatingPoint | None = None
    for point in candidates.points:
        if path.source_power_w(point.power_w) <= budget_w + _EPS and (best is None or point.flow_cfm > best.flow_cfm):
            best = point
    return best


def plan(energy_wh: float, duration_s: float, candidates: Candidates, path: PowerPath) -> Plan:
    """The energy-optimal schedule for spending `energy_wh` over `duration_s` on this power path."""
    if duration_s <= 0:
        raise ValueError("the plan's duration must be positive")
    energy_wh = max(0.0, energy_wh)
    budget_w = energy_wh * SECONDS_PER_HOUR / duration_s
    fan_budget_w = path.fan_budget_w(budget_w)
    schedule = mix_for_budget(candidates, fan_budget_w)
    average_fan_w = sum(s.share * s.point.power_w for s in schedule)
    average_cfm = sum(s.share * s.point.flow_cfm for s in schedule)
    average_source_w = path.source_power_w(average_fan_w)
    lasts_s = energy_wh * SECONDS_PER_HOUR / average_source_w if average_source_w > 0 else float("inf")
    clean_air_ft3 = average_cfm * min(duration_s, lasts_s) / 60.0
    return Plan(
        duration_s=duration_s,
        energy_wh=energy_wh,
        budget_w=budget_w,
        fan_budget_w=fan_budget_w,
        schedule=schedule,
        average_fan_w=average_fan_w,
        average_source_w=average_source_w,
        average_cfm=average_cfm,
        lasts_s=lasts_s,
        clean_air_ft3=clean_air_ft3,
        best_fixed=best_fixed_point(candidates, path, budget_w),
        floor_reachable=candidates.floor_reachable,
    )


@dataclass(frozen=True, slots=True)
class TightRoom:
    """The pressure cap keeps the fan below what the energy could pay for: energy is left at the deadline."""

    cap_pa: float
    cap_cfm: float
    """The most flow the cap allows (the highest setting that keeps the room under it)."""
    left_wh: float

    @property
    def message(self) -> str:
        """One line for the user: what limits the air, what is left, what to do."""
        left = round(self.left_wh, -1) if self.left_wh >= 100.0 else self.left_wh
        return (
            f"the {self.cap_pa:g} Pa cap limits airflow to {self.cap_cfm:.0f} CFM; about {left:.0f} Wh will be "
            "left at the deadline; raise `pressure_cap` or open a relief gap"
        )


def tight_room(
    result: Plan, candidates: Candidates, curve: FanCurve, cap_pa: float, min_left_fraction: float = 0.01
) -> TightRoom | None:
    """The tight-room notice for a plan made on capped candidates: when the fan could move more air than
    the cap allows and the plan leaves more than `min_left_fraction` of its energy unspent."""
    top_cfm = max(p.flow_cfm for p in candidates.points)
    if top_cfm + _EPS >= curve.max_point.flow_cfm or result.lasts_s <= result.duration_s:
        return None
    left_wh = result.energy_wh - result.average_source_w * result.duration_s / SECONDS_PER_HOUR
    if left_wh <= min_left_fraction * result.energy_wh:
        return None
    return TightRoom(cap_pa, top_cfm, left_wh)

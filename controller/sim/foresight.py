"""The bound without foresight (pure): the most clean air a controller could have had that knew the battery's
true state at every moment but not the future.

The true bound (`controller.sim.truth.true_bound`) pools every watt-hour the run could ever have had, the
charger's included, as if the controller had known from the start when the grid would return and where
the user would move the deadline. No controller can know that: a plan that spends a week's energy evenly
cannot have spent, before the grid came back, the energy the charger would then put back. This bound
follows, instead, the best plan for what is known at each moment: from every turn of events (the grid on
or off, the deadline moved) the hull plan spends the battery's true remaining energy by the deadline in
force; on the grid the fan gives the most flow the candidates allow while the charger refills the pack.
It is computed from the simulated battery and the scenario alone, never from what the run did. It is a
reference, not an upper bound (the true bound is that): a controller that spends faster than the best plan
for what it knew (it leaves future self-discharge out, say) can beat it when the deadline then moves earlier.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from controller.models.power_path import PowerPath
from controller.planner import Candidates, plan
from controller.sim.plant import BatteryParams
from controller.sim.truth import (
    Interval,
    remaining_energy_wh,
    self_discharge_ah,
    start_charge_ah,
    stored_energy_wh,
)

SECONDS_PER_HOUR = 3600.0
DeadlineTurn = tuple[float, float]
"""(from when, the deadline in force from then on), both in seconds from the run's start."""


@dataclass(frozen=True, slots=True)
class ForesightFreeBound:
    """The air of the best plan for what was known at each moment, up to the horizon."""

    clean_air_ft3: float
    average_cfm: float


def charge_for_energy_ah(battery: BatteryParams, energy_wh: float) -> float:
    """The charge whose stored energy is `energy_wh` (the inverse of `stored_energy_wh`, by bisection)."""
    if energy_wh <= 0.0:
        return 0.0
    low, high = 0.0, battery.capacity_ah
    if energy_wh >= stored_energy_wh(battery, high):
        return high
    for _ in range(60):
        middle = 0.5 * (low + high)
        if stored_energy_wh(battery, middle) < energy_wh:
            low = middle
        else:
            high = middle
    return 0.5 * (low + high)


def _turns(horizon_s: float, deadlines: tuple[DeadlineTurn, ...], grid_spans: tuple[Interval, ...]) -> list[float]:
    times = {0.0, horizon_s}
    times.update(at for at, _ in deadlines)
    for start, end in grid_spans:
        times.update((start, end))
    return sorted(t for t in times if 0.0 <= t <= horizon_s)


def _deadline_at(deadlines: tuple[DeadlineTurn, ...], at_s: float, horizon_s: float) -> float:
    known = [deadline for since, deadline in sorted(deadlines) if since <= at_s]
    return known[-1] if known else horizon_s


def bound_without_foresight(
    battery: BatteryParams,
    horizon_s: float,
    deadlines: tuple[DeadlineTurn, ...],
    grid_spans: tuple[Interval, ...],
    candidates: tuple[Candidates, Candidates],
    path: PowerPath,
) -> ForesightFreeBound:
    """Follow the best plan from each turn of events to the next. `candidates` are the points that hold the
    floor and all of them: where the true energy cannot hold the floor to the deadline in force, the plan
    lets the floor go, as the true bound does."""
    held, free = candidates
    charge_ah = start_charge_ah(battery)
    air_ft3 = 0.0
    times = _turns(horizon_s, deadlines, grid_spans)
    for begin, end in itertools.pairwise(times):
        span_s = end - begin
        if span_s <= 0.0:
            continue
        middle = 0.5 * (begin + end)
        if any(start <= middle < stop for start, stop in grid_spans):
            air_ft3 += max(p.flow_cfm for p in held.points) * span_s / 60.0
            charge_ah = min(battery.capacity_ah, charge_ah + battery.charge_current_a * span_s / SECONDS_PER_HOUR)
            continue
        to_deadline_s = _deadline_at(deadlines, begin, horizon_s) - begin
        if to_deadline_s <= 0.0 or charge_ah <= 0.0:
            charge_ah = max(0.0, charge_ah - self_discharge_ah(battery, span_s))
            continue
        energy_wh = remaining_energy_wh(battery, charge_ah, to_deadline_s)
        schedule = plan(energy_wh, to_deadline_s, held, path)
        if not schedule.feasible:
            schedule = plan(energy_wh, to_deadline_s, free, path)
        running_s = min(span_s, schedule.lasts_s)
        air_ft3 += schedule.average_cfm * running_s / 60.0
        spent_wh = schedule.average_source_w * running_s / SECONDS_PER_HOUR
        left_ah = charge_for_energy_ah(battery, stored_energy_wh(battery, charge_ah) - spent_wh)
        charge_ah = max(0.0, left_ah - self_discharge_ah(battery, span_s))
    average = air_ft3 * 60.0 / horizon_s if horizon_s > 0.0 else 0.0
    return ForesightFreeBound(air_ft3, average)

"""What the battery really held, from the simulated plant's own physics and nothing the run did (pure).

The summary judges a run against the most clean air any schedule of the fan's points could have given
with the energy the battery really held at the start (its real capacity and charge, less what
self-discharge takes by the deadline, plus what a charger could at most put back while the grid is on):
an upper bound that neither the controller's beliefs nor the run's own draw can move.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from controller.models.power_path import PowerPath
from controller.planner import Candidates, plan
from controller.sim.plant import OCV_SOC_PCT, SECONDS_PER_MONTH, BatteryParams, open_circuit_v

Interval = tuple[float, float]


def stored_energy_wh(battery: BatteryParams, charge_ah: float) -> float:
    """The energy a pack holding `charge_ah` delivers down to empty at a light load: the charge times the
    open-circuit voltage, integrated along the curve (exact for the piecewise-linear curve)."""
    capacity = battery.capacity_ah
    if capacity <= 0.0 or charge_ah <= 0.0:
        return 0.0
    top = min(100.0, 100.0 * charge_ah / capacity)
    edges = [s for s in OCV_SOC_PCT if s < top] + [top]
    area = 0.0
    for low, high in itertools.pairwise(edges):
        area += 0.5 * (open_circuit_v(low, battery.nominal_v) + open_circuit_v(high, battery.nominal_v)) * (high - low)
    return area / 100.0 * capacity


def self_discharge_ah(battery: BatteryParams, seconds: float) -> float:
    """The charge self-discharge takes over `seconds` (as the plant models it: a share of the capacity)."""
    return battery.capacity_ah * battery.self_discharge_pct_per_month / 100.0 * max(0.0, seconds) / SECONDS_PER_MONTH


def start_charge_ah(battery: BatteryParams) -> float:
    """The charge the pack really holds at the start of a run."""
    return battery.capacity_ah * min(100.0, max(0.0, battery.initial_soc_pct)) / 100.0


def remaining_energy_wh(battery: BatteryParams, charge_ah: float, seconds: float) -> float:
    """What a pack holding `charge_ah` can still deliver over the next `seconds` at most: self-discharge
    takes its share from the bottom of the curve (so this is an upper bound)."""
    lost = self_discharge_ah(battery, seconds)
    return max(0.0, stored_energy_wh(battery, charge_ah) - stored_energy_wh(battery, min(lost, charge_ah)))


@dataclass(frozen=True, slots=True)
class TrueBound:
    """The most clean air the run could have had by the horizon, and the energy it could have spent."""

    energy_at_start_wh: float
    budget_wh: float
    """The energy at the start less self-discharge over the time off the grid, plus recharges."""
    clean_air_ft3: float
    average_cfm: float
    reachable: bool
    """Whether the budget lasts the horizon at all (with the same floor): a deadline the truth allows."""


SPAN_CELLS = 128
"""How finely `true_bound` splits the time the battery may last (the bound stays an upper bound)."""


def true_bound(
    battery: BatteryParams,
    horizon_s: float,
    grid_spans: tuple[Interval, ...],
    candidates: Candidates,
    path: PowerPath,
) -> TrueBound:
    """The bound over [0, horizon_s]: off the grid, the concave hull of the fan's points spending the
    budget; on the grid (the charger carries the load), the most flow the candidates allow. Each grid span
    adds what the charger could put back at its current limit, at most a full pack.

    Self-discharge stops when the pack is empty, so a schedule that spends everything by an earlier time T
    loses less to it: the off-grid air is the most over every T of the hull spending what was left at T
    (over cells of T, with the energy at each cell's start and its end's time: an upper bound, since more
    energy or more time never gives less air)."""
    start_wh = stored_energy_wh(battery, start_charge_ah(battery))
    grid_s = sum(min(end, horizon_s) - max(start, 0.0) for start, end in grid_spans if end > start)
    off_s = max(0.0, horizon_s - grid_s)
    full_wh = stored_energy_wh(battery, battery.capacity_ah)
    charger_w = battery.charge_current_a * open_circuit_v(100.0, battery.nominal_v)
    recharge_wh = sum(min(full_wh, charger_w * (end - start) / 3600.0) for start, end in grid_spans)
    budget_wh = remaining_energy_wh(battery, start_charge_ah(battery), off_s) + recharge_wh
    off_air = 0.0
    reachable = True
    if off_s > 0.0:
        reachable = plan(budget_wh, off_s, candidates, path).feasible
        cells = [off_s * i / SPAN_CELLS for i in range(SPAN_CELLS + 1)]
        off_air = max(
            plan(
                remaining_energy_wh(battery, start_charge_ah(battery), begin) + recharge_wh, end, candidates, path
            ).clean_air_ft3
            for begin, end in itertools.pairwise(cells)
        )
    grid_air = max(p.flow_cfm for p in candidates.points) * grid_s / 60.0
    air = off_air + grid_air
    average = air * 60.0 / horizon_s if horizon_s > 0.0 else 0.0
    return TrueBound(start_wh, budget_wh, air, average, reachable)

"""The upper concave hull of a fan's (watts, CFM) points: the most airflow any mix of settings can give
for an average power. Time-sharing between the two hull neighbours of a budget is energy-optimal
(physics.md §5); points below the hull are never worth running.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from controller.models.fan import OperatingPoint


def _cross(o: OperatingPoint, a: OperatingPoint, b: OperatingPoint) -> float:
    return (a.power_w - o.power_w) * (b.flow_cfm - o.flow_cfm) - (a.flow_cfm - o.flow_cfm) * (b.power_w - o.power_w)


def upper_hull(points: Iterable[OperatingPoint]) -> tuple[OperatingPoint, ...]:
    """Vertices of the upper concave hull, by rising power, up to the point of most flow.

    Points that give less flow for more power than another point are dropped, as are points on or
    below a chord between two others (Andrew's monotone chain, O(n log n)).
    """
    ordered = sorted(points, key=lambda p: (p.power_w, -p.flow_cfm))
    frontier: list[OperatingPoint] = []
    best_flow = float("-inf")
    for point in ordered:
        if point.flow_cfm > best_flow:
            frontier.append(point)
            best_flow = point.flow_cfm
    hull: list[OperatingPoint] = []
    for point in frontier:
        while len(hull) >= 2 and _cross(hull[-2], hull[-1], point) >= 0:
            hull.pop()
        hull.append(point)
    return tuple(hull)


def hull_flow_at(hull: tuple[OperatingPoint, ...], power_w: float) -> float:
    """The best average flow a mix of hull vertices gives at an average power (flat beyond the ends)."""
    if not hull:
        return 0.0
    if power_w <= hull[0].power_w:
        return hull[0].flow_cfm if power_w >= hull[0].power_w else 0.0
    for low, high in itertools.pairwise(hull):
        if power_w <= high.power_w:
            share = (power_w - low.power_w) / (high.power_w - low.power_w)
            return low.flow_cfm + share * (high.flow_cfm - low.flow_cfm)
    return hull[-1].flow_cfm

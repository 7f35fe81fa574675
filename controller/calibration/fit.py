"""The room's leakage curve Q = C * dP^n from (flow, pressure) pairs: least squares on
ln Q = ln C + n ln dP, each step weighted by how well its pressure is known.

A step's flow is the fan's rated flow at its command; its pressure the settled mean. Steps below a
minimum pressure are left out: there the wind and the sensor's offset are a large share of the reading.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from controller.errors import CleanroomError
from controller.estimators import flow_for_pressure, pressure_for_flow

MIN_RELATIVE_ERROR = 0.01
"""A pressure is never trusted better than 1 %, so that one quiet step (or one whose error is
underestimated) cannot take all the weight."""


class FitError(CleanroomError):
    """Too few usable steps to fit the leakage curve."""


@dataclass(frozen=True, slots=True)
class FlowPressure:
    """A step's flow into the room and the pressure it held (with the pressure's standard error)."""

    flow_cfm: float
    pressure_pa: float
    pressure_stderr_pa: float = 0.0


@dataclass(frozen=True, slots=True)
class RoomFit:
    """Q = c_cfm * dP^n and how well the steps follow it."""

    c_cfm: float
    n: float
    steps_used: int
    min_pressure_pa: float
    rms_log_residual: float
    """Root-mean-square of ln(Q / (C dP^n)) over the steps used: 0.01 is a 1 % scatter in flow."""

    def flow_for_pressure(self, pressure_pa: float) -> float:
        """The flow that holds this pressure."""
        return flow_for_pressure(self.c_cfm, self.n, pressure_pa)

    def pressure_for_flow(self, flow_cfm: float) -> float:
        """The pressure this flow gives."""
        return pressure_for_flow(self.c_cfm, self.n, flow_cfm)


def fit_leakage(points: Sequence[FlowPressure], min_pressure_pa: float) -> RoomFit:
    """Fit C and n over the points at or above `min_pressure_pa` with a positive flow."""
    usable = [p for p in points if p.pressure_pa >= min_pressure_pa and p.pressure_pa > 0.0 and p.flow_cfm > 0.0]
    if len({p.flow_cfm for p in usable}) < 2:
        reached = max((p.pressure_pa for p in points), default=0.0)
        raise FitError(
            f"cannot fit the room's leakage: {len(usable)} step(s) reached {min_pressure_pa:g} Pa "
            f"(the highest reached {reached:.2f} Pa), at least 2 with different flows are needed; "
            "lower --min-fit-pressure or close the room's openings"
        )
    # The flows are the fan's rating (exact here); the pressures carry the noise. So regress ln dP on ln Q,
    # ln dP = (ln Q - ln C) / n, each step weighted by the inverse square of its pressure's relative error.
    xs = [math.log(p.flow_cfm) for p in usable]
    ys = [math.log(p.pressure_pa) for p in usable]
    ws = [1.0 / max(p.pressure_stderr_pa / p.pressure_pa, MIN_RELATIVE_ERROR) ** 2 for p in usable]
    total = math.fsum(ws)
    mean_x = math.fsum(w * x for w, x in zip(ws, xs, strict=True)) / total
    mean_y = math.fsum(w * y for w, y in zip(ws, ys, strict=True)) / total
    sxx = math.fsum(w * (x - mean_x) ** 2 for w, x in zip(ws, xs, strict=True))
    sxy = math.fsum(w * (x - mean_x) * (y - mean_y) for w, x, y in zip(ws, xs, ys, strict=True))
    if sxx <= 0.0 or sxy <= 0.0:
        raise FitError(
            "cannot fit the room's leakage: the pressure does not rise with the fan's flow over the steps used "
            "(is the sensor's tube connected, and the room closed?)"
        )
    slope = sxy / sxx
    n = 1.0 / slope
    ln_c = mean_x - mean_y / slope
    residuals = [x - (ln_c + n * y) for x, y in zip(xs, ys, strict=True)]
    rms = math.sqrt(math.fsum(r * r for r in residuals) / len(residuals))
    return RoomFit(math.exp(ln_c), n, len(usable), min_pressure_pa, rms)

"""The sweep plan: which commands a calibration measures, in order, with the flow the fan is rated for."""

from __future__ import annotations

from dataclasses import dataclass

from controller.models.fan import FanCurve

DEFAULT_CONTINUOUS_STEPS = 8


@dataclass(frozen=True, slots=True)
class SweepStep:
    """One command to hold and measure."""

    index: int
    setting: str
    command_pct: float
    rated_flow_cfm: float


def sweep_plan(curve: FanCurve, min_duty_pct: float = 0.0, steps: int | None = None) -> tuple[SweepStep, ...]:
    """Every setting of a discrete fan; for a continuous fan `steps` duties evenly spaced from the lowest
    running duty (the curve's first point or the minimum duty, whichever is higher) to 100 %.

    The rated flow comes from the configured curve (interpolated for a continuous fan): the calibration
    measures watts and pressure, not flow."""
    if not curve.continuous:
        return tuple(
            SweepStep(index, point.setting, point.command_pct, point.flow_cfm)
            for index, point in enumerate(curve.points)
        )
    count = DEFAULT_CONTINUOUS_STEPS if steps is None else steps
    if count < 2:
        raise ValueError(f"a duty-cycle sweep needs at least 2 steps, got {count}")
    low = max(min_duty_pct, curve.min_point.command_pct)
    high = 100.0
    if low >= high:
        raise ValueError(f"the lowest running duty ({low:g} %) leaves nothing to sweep below 100 %")
    out: list[SweepStep] = []
    for index in range(count):
        command = round(low + (high - low) * index / (count - 1), 3)
        out.append(SweepStep(index, f"{command:g}%", command, curve.flow_cfm(command)))
    return tuple(out)

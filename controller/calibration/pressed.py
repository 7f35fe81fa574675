"""Calibrating a purifier driven by its buttons: the session hands the driver the fan's measured power (so
that a missed press is corrected while the sweep runs), and a sweep whose settings do not draw more and
more is refused (a press the purifier missed unnoticed would record one setting's watts twice)."""

from __future__ import annotations

import itertools
import math

from controller.calibration.model import Calibration
from drivers.base import Fan, PowerWatchedFan

MIN_RISE_W = 0.05


def feed_fan_power(fan: Fan, draw_w: float, calibration: Calibration, monotonic_s: float) -> None:
    """Hand a pressed purifier's driver the fan's draw: the battery's draw above the measured baseline,
    through the power path (None until the baseline is measured)."""
    if not isinstance(fan, PowerWatchedFan):
        return
    baseline = calibration.baseline
    fan_w = None if baseline is None else (draw_w - baseline.power_w) * calibration.path_efficiency
    fan.observe_power(fan_w, monotonic_s)


def missed_press(fan: Fan, calibration: Calibration) -> str | None:
    """Why a pressed purifier's sweep cannot be trusted (a setting drew no more than the one below), or None."""
    if not isinstance(fan, PowerWatchedFan):
        return None
    steps = sorted(calibration.steps, key=lambda s: s.index)
    for low, high in itertools.pairwise(steps):
        margin = max(MIN_RISE_W, 2.0 * math.hypot(low.power_stderr_w, high.power_stderr_w))
        if high.fan_w <= low.fan_w + margin:
            return (
                f"setting {high.setting} drew {high.fan_w:.2f} W, no more than setting {low.setting} "
                f"({low.fan_w:.2f} W): the purifier probably missed a press (check its wiring and `press` time)"
            )
    return None

"""The room curve Q = C * dP^n learned online from steady readings, with the spread of those readings as
its uncertainty. Pure functions over a frozen dataclass."""

from __future__ import annotations

import math
from dataclasses import dataclass

from controller.estimators import ewma_alpha

MIN_SAMPLES_FOR_SPREAD = 10


@dataclass(frozen=True, slots=True)
class RoomEstimate:
    """The learned leakage coefficient (CFM at 1 Pa), how many steady samples informed it, how long it has
    learned, and the spread (variance of log C) of the readings it learned from."""

    c_cfm: float
    samples: int = 0
    log_var: float = 0.0
    learned_s: float = 0.0

    @property
    def uncertainty_pct(self) -> float | None:
        """One standard deviation of C in percent (None until enough steady readings have been seen)."""
        if self.samples < MIN_SAMPLES_FOR_SPREAD:
            return None
        return 100.0 * math.expm1(math.sqrt(self.log_var))


def learn_room(
    estimate: RoomEstimate,
    flow_cfm: float,
    pressure_pa: float,
    n: float,
    dt_s: float,
    tau_s: float = 1800.0,
    min_pressure_pa: float = 0.5,
) -> RoomEstimate:
    """Nudge C towards flow / dP^n (in log space, so one gust cannot swing it), and the spread towards the
    squared deviation of this reading. Call only with a steady fan and a valid filtered pressure."""
    if flow_cfm <= 0.0 or pressure_pa < min_pressure_pa:
        return estimate
    observed = math.log(flow_cfm) - n * math.log(pressure_pa)
    weight = ewma_alpha(dt_s, tau_s) if estimate.samples else 1.0
    deviation = observed - math.log(estimate.c_cfm)
    c_log = math.log(estimate.c_cfm) + weight * deviation
    log_var = estimate.log_var + weight * (deviation * deviation - estimate.log_var) if estimate.samples else 0.0
    return RoomEstimate(math.exp(c_log), estimate.samples + 1, log_var, estimate.learned_s + max(0.0, dt_s))

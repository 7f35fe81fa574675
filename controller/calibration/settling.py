"""When a step has settled, and what it measured: pure functions over the samples taken since the command
changed.

Settling compares the means of the two halves of a sliding window: a signal still moving towards its new
level differs between the halves; a settled one differs only by noise. The tolerance is the larger of an
absolute and a relative one, plus twice the halves' standard error, so white sensor noise alone never
holds a step back. Averaging then uses batch means: the wind's pressure noise is correlated over tens of
seconds, so the spread of 30-second batch means says how well the mean is known where the spread of
single samples would not.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading of everything at a monotonic time: the draw on the battery (W, positive), the room's
    pressure and the fan's rpm when it has a tachometer."""

    t_s: float
    power_w: float
    pressure_pa: float
    rpm: float | None = None


@dataclass(frozen=True, slots=True)
class SettlingCriteria:
    """A step has settled when, over the last `window_s`, the halves' means agree within tolerance."""

    window_s: float = 60.0
    power_tol_w: float = 0.05
    power_tol_rel: float = 0.02
    pressure_tol_pa: float = 0.3
    pressure_tol_rel: float = 0.05
    timeout_s: float = 300.0


@dataclass(frozen=True, slots=True)
class Settling:
    """How far a step is from settled."""

    settled: bool
    elapsed_s: float
    power_drift_w: float | None
    power_allowed_w: float | None
    pressure_drift_pa: float | None
    pressure_allowed_pa: float | None


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def _variance(values: Sequence[float]) -> float:
    if len(values) < 2:
        return 0.0
    mean = _mean(values)
    return math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1)


def _drift(first: Sequence[float], second: Sequence[float], tol_abs: float, tol_rel: float) -> tuple[float, float]:
    """(|difference of the halves' means|, allowed difference)."""
    mean_1, mean_2 = _mean(first), _mean(second)
    noise = math.sqrt(_variance(first) / len(first) + _variance(second) / len(second))
    level = abs(_mean([*first, *second]))
    return abs(mean_2 - mean_1), max(tol_abs, tol_rel * level) + 2.0 * noise


def assess(samples: Sequence[Sample], criteria: SettlingCriteria, with_pressure: bool = True) -> Settling:
    """Whether the samples taken since the last command change (oldest first) have settled."""
    if not samples:
        return Settling(False, 0.0, None, None, None, None)
    start, end = samples[0].t_s, samples[-1].t_s
    elapsed = end - start
    window = [s for s in samples if s.t_s >= end - criteria.window_s]
    middle = end - criteria.window_s / 2.0
    first = [s for s in window if s.t_s < middle]
    second = [s for s in window if s.t_s >= middle]
    if elapsed < criteria.window_s or len(first) < 2 or len(second) < 2:
        return Settling(False, elapsed, None, None, None, None)
    power_drift, power_allowed = _drift(
        [s.power_w for s in first], [s.power_w for s in second], criteria.power_tol_w, criteria.power_tol_rel
    )
    settled = power_drift <= power_allowed
    pressure_drift: float | None = None
    pressure_allowed: float | None = None
    if with_pressure:
        pressure_drift, pressure_allowed = _drift(
            [s.pressure_pa for s in first],
            [s.pressure_pa for s in second],
            criteria.pressure_tol_pa,
            criteria.pressure_tol_rel,
        )
        settled = settled and pressure_drift <= pressure_allowed
    return Settling(settled, elapsed, power_drift, power_allowed, pressure_drift, pressure_allowed)


@dataclass(frozen=True, slots=True)
class MeasureCriteria:
    """Average a settled step for at least `min_s`, then until the means are known this well, at most `max_s`."""

    min_s: float = 300.0
    max_s: float = 900.0
    batch_s: float = 30.0
    power_precision_w: float = 0.02
    power_precision_rel: float = 0.005
    pressure_precision_pa: float = 0.05
    pressure_precision_rel: float = 0.01


@dataclass(frozen=True, slots=True)
class Mean:
    """A mean and its standard error."""

    value: float
    stderr: float


@dataclass(frozen=True, slots=True)
class WindowStats:
    """The averages of a measuring window."""

    duration_s: float
    count: int
    power: Mean
    pressure: Mean
    rpm: float | None
    """The median tachometer reading (robust to the odd missed or doubled pulse count)."""


def batch_mean(times: Sequence[float], values: Sequence[float], batch_s: float) -> Mean:
    """The mean of a series and its standard error from the spread of `batch_s` batch means (never less than
    the white-noise standard error)."""
    mean = _mean(values)
    white = math.sqrt(_variance(values) / len(values))
    start = times[0]
    batches: dict[int, list[float]] = {}
    for t, v in zip(times, values, strict=True):
        batches.setdefault(int((t - start) // batch_s), []).append(v)
    complete = int((times[-1] - start) // batch_s)
    means = [_mean(batches[k]) for k in range(complete) if k in batches]
    if len(means) < 2:
        return Mean(mean, white)
    return Mean(mean, max(white, math.sqrt(_variance(means) / len(means))))


def window_stats(samples: Sequence[Sample], batch_s: float) -> WindowStats:
    """Means and standard errors of a non-empty window of samples."""
    if not samples:
        raise ValueError("no samples to average")
    times = [s.t_s for s in samples]
    rpms = [s.rpm for s in samples if s.rpm is not None]
    return WindowStats(
        duration_s=times[-1] - times[0],
        count=len(samples),
        power=batch_mean(times, [s.power_w for s in samples], batch_s),
        pressure=batch_mean(times, [s.pressure_pa for s in samples], batch_s),
        rpm=statistics.median(rpms) if rpms else None,
    )


def precise_enough(stats: WindowStats, criteria: MeasureCriteria, with_pressure: bool = True) -> bool:
    """Whether the window's means are known well enough to stop averaging (or it has run `max_s`)."""
    if stats.duration_s >= criteria.max_s:
        return True
    if stats.duration_s < criteria.min_s:
        return False
    power_ok = stats.power.stderr <= max(
        criteria.power_precision_w, criteria.power_precision_rel * abs(stats.power.value)
    )
    if not with_pressure:
        return power_ok
    pressure_ok = stats.pressure.stderr <= max(
        criteria.pressure_precision_pa, criteria.pressure_precision_rel * abs(stats.pressure.value)
    )
    return power_ok and pressure_ok

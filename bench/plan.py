"""Planner speed for a 1,000-point continuous fan curve (the daemon re-plans every few minutes on a
Pi Zero 2 W, so a plan must stay in the milliseconds). Baseline: the 6-setting reference purifier.

Run: .venv/bin/python -m bench.plan
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from controller.models.fan import FanCurve, OperatingPoint, load_curve_file
from controller.models.power_path import PRESETS
from controller.planner import candidates_for, plan

REFERENCE = Path(__file__).resolve().parents[1] / "controller" / "data" / "fan-airfanta-3pro-12vdc.csv"


def continuous_curve(points: int) -> FanCurve:
    """A PWM fan: flow linear in duty above 20 %, power 0.7 W + k * flow^2 (the fitted HEPA law)."""
    rows = []
    for i in range(points):
        duty = 20.0 + 80.0 * i / (points - 1)
        flow = 413.0 * duty / 100.0
        rows.append(OperatingPoint(f"{duty:.4f}%", duty, 0.66 + 1.64e-4 * flow**2, flow))
    return FanCurve(tuple(rows), continuous=True)


def per_call_s(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - start) / repeat)
    return best


def main() -> None:
    path = PRESETS["diy-12v"].with_controller(0.9)
    week = 168 * 3600.0
    reference = load_curve_file(REFERENCE)
    big = continuous_curve(1000)

    ref_candidates = candidates_for(reference)
    big_candidates = candidates_for(big)
    rows = [
        (
            "reference 6 settings: hull + plan",
            per_call_s(lambda: plan(1280, week, candidates_for(reference), path), 2000),
        ),
        ("reference 6 settings: plan only", per_call_s(lambda: plan(1280, week, ref_candidates, path), 5000)),
        ("continuous 1000 points: hull + plan", per_call_s(lambda: plan(1280, week, candidates_for(big), path), 20)),
        ("continuous 1000 points: plan only", per_call_s(lambda: plan(1280, week, big_candidates, path), 200)),
    ]
    baseline = rows[0][1]
    print(f"{'case':40} {'per call':>12} {'vs baseline':>12}")
    for name, seconds in rows:
        print(f"{name:40} {seconds * 1e3:9.3f} ms {seconds / baseline:11.1f}x")
    result = plan(1280, week, big_candidates, path)
    print(
        f"1000-point plan: {len(big_candidates.hull)} hull vertices, average {result.average_cfm:.1f} CFM, "
        f"schedule {[(s.point.setting, round(s.share, 3)) for s in result.schedule]}"
    )


if __name__ == "__main__":
    main()

"""The pure parts: the sweep plan, settling detection, batch-mean averaging, the leakage fit, the file codec."""

from __future__ import annotations

import json
import math
import random
from dataclasses import replace
from pathlib import Path

import pytest

from controller.calibration import store
from controller.calibration.fit import FitError, FlowPressure, fit_leakage
from controller.calibration.model import Baseline, Calibration, StepResult, from_dict, to_dict
from controller.calibration.report import cheapest_holding
from controller.calibration.settling import (
    MeasureCriteria,
    Sample,
    SettlingCriteria,
    assess,
    batch_mean,
    precise_enough,
    window_stats,
)
from controller.calibration.sweep import sweep_plan
from controller.errors import ConfigError
from controller.models.fan import load_curve_csv

DISCRETE = load_curve_csv("setting,watts,cfm\nlow,2,50\nmid,5,120\nhigh,12,200\n", "d.csv")
PWM = load_curve_csv("setting,watts,cfm\n20%,1,40\n100%,13,200\n", "pwm.csv")


def test_discrete_sweep_measures_every_setting() -> None:
    plan = sweep_plan(DISCRETE)
    assert [(s.setting, round(s.command_pct, 2), s.rated_flow_cfm) for s in plan] == [
        ("low", 33.33, 50.0),
        ("mid", 66.67, 120.0),
        ("high", 100.0, 200.0),
    ]


def test_continuous_sweep_spans_min_duty_to_full() -> None:
    plan = sweep_plan(PWM, min_duty_pct=30.0, steps=3)
    assert [s.command_pct for s in plan] == [30.0, 65.0, 100.0]
    assert [s.setting for s in plan] == ["30%", "65%", "100%"]
    assert plan[0].rated_flow_cfm == pytest.approx(PWM.flow_cfm(30.0))
    assert [s.command_pct for s in sweep_plan(PWM, steps=2)] == [20.0, 100.0]
    with pytest.raises(ValueError, match="at least 2 steps"):
        sweep_plan(PWM, steps=1)


def _approach(tau_s: float, level: float, noise: float, seconds: int, seed: int = 0) -> list[Sample]:
    rng = random.Random(seed)
    return [
        Sample(
            float(t),
            level * (1 - math.exp(-t / tau_s)) + rng.gauss(0, noise),
            2 * level * (1 - math.exp(-t / tau_s)) + rng.gauss(0, noise),
        )
        for t in range(seconds + 1)
    ]


def test_settling_waits_for_a_full_window_then_for_the_transient() -> None:
    criteria = SettlingCriteria(window_s=20.0)
    samples = _approach(tau_s=30.0, level=10.0, noise=0.0, seconds=200)
    assert not assess(samples[:15], criteria).settled
    assert assess(samples[:15], criteria).power_drift_w is None
    early = assess(samples[:25], criteria)
    assert not early.settled
    assert early.power_drift_w is not None
    assert early.power_allowed_w is not None
    assert early.power_drift_w > early.power_allowed_w
    first = next(k for k in range(21, 201) if assess(samples[:k], criteria).settled)
    # Settled once the remaining drift over half a window falls below 2 % of the level.
    assert 90 < first < 160
    assert assess(samples, criteria).settled


def test_white_noise_does_not_hold_a_settled_signal_back() -> None:
    criteria = SettlingCriteria(
        window_s=20.0, power_tol_w=0.0, power_tol_rel=0.0, pressure_tol_pa=0.0, pressure_tol_rel=0.0
    )
    rng = random.Random(3)
    samples = [Sample(float(t), 5.0 + rng.gauss(0, 0.5), 10.0 + rng.gauss(0, 0.5)) for t in range(200)]
    settled = sum(assess(samples[: k + 1], criteria).settled for k in range(20, 200))
    assert settled > 0.8 * 180


def test_batch_means_see_correlated_noise() -> None:
    """A slow random walk-like signal: single samples understate the mean's uncertainty, batches do not."""
    rng = random.Random(1)
    value, times, values = 0.0, [], []
    decay = math.exp(-1 / 20.0)
    for t in range(600):
        value = value * decay + math.sqrt(1 - decay * decay) * rng.gauss(0, 1.0)
        times.append(float(t))
        values.append(value)
    white = math.sqrt(sum((v - sum(values) / 600) ** 2 for v in values) / 599 / 600)
    mean = batch_mean(times, values, 30.0)
    assert mean.stderr > 2 * white
    stats = window_stats([Sample(t, 1.0, v, 1000.0) for t, v in zip(times, values, strict=True)], 30.0)
    assert stats.pressure == mean
    assert stats.power.value == 1.0
    assert stats.rpm == 1000.0
    assert not precise_enough(stats, MeasureCriteria(min_s=60.0, max_s=10_000.0))
    assert precise_enough(stats, MeasureCriteria(min_s=60.0, max_s=10_000.0), with_pressure=False)
    assert precise_enough(stats, MeasureCriteria(min_s=60.0, max_s=599.0))
    assert not precise_enough(stats, MeasureCriteria(min_s=700.0, max_s=10_000.0), with_pressure=False)


def test_fit_is_exact_on_exact_data_and_skips_low_pressures() -> None:
    points = [FlowPressure(q, (q / 45.0) ** (1 / 0.55), 0.05) for q in (60.0, 120.0, 200.0, 300.0)]
    points.append(FlowPressure(10.0, 0.5, 0.05))  # below the minimum: wind and offset dominate
    fit = fit_leakage(points, min_pressure_pa=1.0)
    assert fit.c_cfm == pytest.approx(45.0, rel=1e-9)
    assert fit.n == pytest.approx(0.55, rel=1e-9)
    assert fit.steps_used == 4
    assert fit.rms_log_residual < 1e-9
    assert fit.flow_for_pressure(fit.pressure_for_flow(100.0)) == pytest.approx(100.0)


def test_fit_needs_two_usable_steps() -> None:
    with pytest.raises(FitError, match=r"1 step\(s\) reached 5 Pa .*highest reached 7.00 Pa"):
        fit_leakage([FlowPressure(50.0, 1.0), FlowPressure(100.0, 7.0)], min_pressure_pa=5.0)
    with pytest.raises(FitError, match="does not rise"):
        fit_leakage([FlowPressure(50.0, 9.0), FlowPressure(100.0, 7.0)], min_pressure_pa=5.0)


def _calibration() -> Calibration:
    plan = sweep_plan(DISCRETE)
    base = Baseline(0.9, 0.001, 0.02, 0.1, True, 61.0, 300.0, 301, "2026-11-01T12:06:00+00:00")
    steps = tuple(
        StepResult(
            index=s.index,
            setting=s.setting,
            command_pct=s.command_pct,
            rated_flow_cfm=s.rated_flow_cfm,
            source_w=w,
            fan_w=w,
            power_stderr_w=0.01,
            pressure_pa=(s.rated_flow_cfm / 30.0) ** (1 / 0.6),
            pressure_stderr_pa=0.1,
            rpm=None if s.index == 0 else 1000.0 * s.index,
            settled=s.index != 1,
            settle_s=61.0,
            measure_s=300.0,
            samples=301,
            measured_utc="2026-11-01T12:20:00+00:00",
        )
        for s, w in zip(plan, (2.1, 4.9, 12.2), strict=True)
    )
    partial = Calibration("d", False, plan, 1.0, 0.0, 2.0, "2026-11-01T12:00:00+00:00", 88.0, base, steps)
    return partial.fitted("2026-11-01T13:00:00+00:00")


def test_file_round_trip_is_exact(tmp_path: Path) -> None:
    calibration = _calibration()
    assert calibration.complete
    path = tmp_path / "cal.json"
    store.save(path, calibration)
    assert store.load(path) == calibration
    data = json.loads(path.read_text())
    assert data["complete"] is True
    assert data["baseline_w"] == 0.9
    assert data["fan"]["points"][0] == {"setting": "low", "command_pct": 100 / 3, "watts": 2.1, "cfm": 50.0}
    assert data["room"]["c_cfm"] == pytest.approx(30.0)
    assert [p.name for p in tmp_path.iterdir()] == ["cal.json"]  # no temporary file left behind


def test_bad_files_name_the_key(tmp_path: Path) -> None:
    data = to_dict(_calibration())
    data["steps"][1]["pressure_pa"] = "high"  # type: ignore[index]
    with pytest.raises(ConfigError, match=r"x.json: steps\[1\].pressure_pa = 'high': expected a finite number"):
        from_dict(data, "x.json")
    with pytest.raises(ConfigError, match="a calibration file"):
        from_dict({"format": "something else"}, "x.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ConfigError, match="valid JSON"):
        store.load(tmp_path / "broken.json")
    with pytest.raises(ConfigError, match="an existing calibration file"):
        store.load(tmp_path / "missing.json")


def test_measured_curve_is_validated_like_a_csv() -> None:
    calibration = _calibration()
    curve = calibration.fan_curve("cal.json")
    assert [(p.setting, p.power_w, p.flow_cfm) for p in curve.points] == [
        ("low", 2.1, 50.0),
        ("mid", 4.9, 120.0),
        ("high", 12.2, 200.0),
    ]
    broken = calibration.with_step(replace(calibration.steps[0], fan_w=-0.1))
    with pytest.raises(ConfigError, match=r"row 1.watts = -0.1: expected a power above 0 W"):
        broken.fan_curve("cal.json")


def test_cheapest_point_that_holds_a_pressure() -> None:
    assert cheapest_holding(DISCRETE, 100.0) == DISCRETE.points[1]
    assert cheapest_holding(DISCRETE, 50.0) == DISCRETE.points[0]
    assert cheapest_holding(DISCRETE, 201.0) is None
    exact = cheapest_holding(PWM, 120.0)
    assert exact is not None
    assert exact.flow_cfm == pytest.approx(120.0)
    assert exact.command_pct == pytest.approx(60.0)
    assert exact.power_w < PWM.points[1].power_w

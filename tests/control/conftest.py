"""Shared builders for the control tests: the reference fan, a continuous PWM fan, policy settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.models.fan import FanCurve, load_curve_csv, load_curve_file
from controller.policy import PolicySettings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

PWM_FAN = """setting,watts,cfm
20%,1.0,40
50%,3.0,100
80%,8.0,160
100%,13.0,200
"""


@pytest.fixture(scope="session")
def reference_curve() -> FanCurve:
    return load_curve_file(FIXTURES / "fan-airfanta-3pro-12vdc.csv")


@pytest.fixture(scope="session")
def pwm_curve() -> FanCurve:
    return load_curve_csv(PWM_FAN, "pwm.csv")


def policy_settings(curve: FanCurve, **overrides: float) -> PolicySettings:
    values: dict[str, float] = {
        "room_n": 0.65,
        "min_duty_pct": 0.0,
        "kick_start_pct": 0.0,
        "kick_start_s": 2.0,
        "slew_pct_per_s": 100.0,
        "safe_speed_pct": 50.0,
        "pressure_cap_pa": 25.0,
        "deadband_pa": 0.5,
        "pi_kp": 2.0,
        "pi_ki": 0.1,
        "share_period_s": 600.0,
    }
    values.update(overrides)
    return PolicySettings(curve=curve, **values)

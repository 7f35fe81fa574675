"""The fan curve: CSV loading, discrete settings, affinity-law interpolation for continuous fans."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.models.fan import OFF, load_curve_csv, load_curve_file

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "fan-airfanta-3pro-12vdc.csv"

PWM_FAN = """# a 4-wire PWM fan measured at four duties
setting,watts,cfm
20%,1.0,40
50%,3.0,100
80%,8.0,160
100%,13.0,200
"""


def test_reference_fan_is_discrete_with_its_six_settings() -> None:
    curve = load_curve_file(FIXTURE)
    assert not curve.continuous
    assert [p.setting for p in curve.points] == ["1", "2", "3", "4", "5", "6"]
    assert curve.points[1].cfm_per_w == pytest.approx(141 / 4.12)
    assert curve.point_at(0.0) is OFF
    assert curve.point_at(10.0) is OFF
    assert curve.point_at(40.0).setting == "2"
    assert curve.point_at(50.0).setting == "3"
    assert curve.point_at(100.0).setting == "6"


def test_discrete_command_for_flow_picks_the_lowest_setting_that_delivers() -> None:
    curve = load_curve_file(FIXTURE)
    assert curve.command_for_flow(0.0) == 0.0
    assert curve.point_at(curve.command_for_flow(100.0)).setting == "2"
    assert curve.point_at(curve.command_for_flow(141.0)).setting == "2"
    assert curve.point_at(curve.command_for_flow(142.0)).setting == "3"
    assert curve.point_at(curve.command_for_flow(1000.0)).setting == "6"


def test_continuous_fan_interpolates_flow_linearly_and_power_with_the_cube() -> None:
    curve = load_curve_csv(PWM_FAN, "pwm.csv")
    assert curve.continuous
    assert curve.point_at(10.0) is OFF
    middle = curve.point_at(35.0)
    assert middle.flow_cfm == pytest.approx(70.0)
    expected_power = 1.0 + (3.0 - 1.0) * (70.0**3 - 40.0**3) / (100.0**3 - 40.0**3)
    assert middle.power_w == pytest.approx(expected_power)
    assert curve.point_at(50.0).power_w == pytest.approx(3.0)
    assert curve.point_at(100.0).flow_cfm == 200


@given(st.floats(min_value=20.0, max_value=99.9), st.floats(min_value=0.01, max_value=5.0))
def test_continuous_curve_is_monotone_and_concave_in_power(command: float, step: float) -> None:
    curve = load_curve_csv(PWM_FAN, "pwm.csv")
    low = curve.point_at(command)
    high = curve.point_at(min(100.0, command + step))
    assert high.flow_cfm >= low.flow_cfm - 1e-9
    assert high.power_w >= low.power_w - 1e-9


def test_continuous_command_for_flow_inverts_the_flow() -> None:
    curve = load_curve_csv(PWM_FAN, "pwm.csv")
    for flow in (40.0, 55.0, 100.0, 130.0, 199.0):
        assert curve.flow_cfm(curve.command_for_flow(flow)) == pytest.approx(flow)
    assert curve.command_for_flow(10.0) == 20.0


def test_candidates_of_a_continuous_fan_include_interpolated_points() -> None:
    curve = load_curve_csv(PWM_FAN, "pwm.csv")
    candidates = curve.candidates(resolution=4)
    assert len(candidates) == 4 + 3 * 3
    assert candidates[0].command_pct == 20.0
    assert candidates[-1].command_pct == 100.0

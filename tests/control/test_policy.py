"""The policy, mode by mode, and every fail-safe rule; step responses of the pressure loop."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.estimators import pressure_for_flow
from controller.models.fan import FanCurve
from controller.models.power_path import PRESETS
from controller.planner import candidates_for, plan
from controller.policy import PolicyInputs, PolicyState, Target, decide, time_share
from controller.snapshot import Mode
from tests.control.conftest import policy_settings

ROOM_C = 39.0
WEEK_S = 168 * 3600.0


def inputs(**overrides: object) -> PolicyInputs:
    values: dict[str, object] = {
        "now_s": 0.0,
        "dt_s": 1.0,
        "mode": Mode.AUTO,
        "manual_speed_pct": 50.0,
        "pressure_setpoint_pa": 8.0,
        "pressure_floor_pa": 5.0,
        "pressure_pa": 8.0,
        "door_open": False,
        "room_c_cfm": ROOM_C,
        "plan": None,
        "plan_meets_deadline": False,
        "battery_critical": False,
        "fan_stalled": False,
    }
    values.update(overrides)
    return PolicyInputs(**values)  # type: ignore[arg-type]


def week_plan(curve: FanCurve, floor_cfm: float = 0.0):  # type: ignore[no-untyped-def]
    return plan(1280.0, WEEK_S, candidates_for(curve, min_flow_cfm=floor_cfm), PRESETS["diy-12v"])


def run_for(seconds: float, start: PolicyInputs, state: PolicyState, settings_, step: float = 1.0) -> list[float]:  # type: ignore[no-untyped-def]
    commands = []
    now = start.now_s
    while now < start.now_s + seconds:
        decision = decide(replace(start, now_s=now, dt_s=step), state, settings_)
        state = decision.state
        commands.append(decision.command_pct)
        now += step
    return commands


def test_manual_runs_the_setting_asked_for(reference_curve: FanCurve) -> None:
    decision = decide(inputs(mode=Mode.MANUAL, manual_speed_pct=50.0), PolicyState(), policy_settings(reference_curve))
    assert decision.command_pct == 50.0
    assert decision.reason == "manual"


def test_manual_zero_is_off_because_the_user_said_so(reference_curve: FanCurve) -> None:
    decision = decide(inputs(mode=Mode.MANUAL, manual_speed_pct=0.0), PolicyState(), policy_settings(reference_curve))
    assert decision.command_pct == 0.0


def test_runtime_time_shares_the_plan_over_the_period(reference_curve: FanCurve) -> None:
    settings_ = policy_settings(reference_curve)
    week = week_plan(reference_curve)
    commands = run_for(600.0, inputs(mode=Mode.RUNTIME, plan=week, plan_meets_deadline=True), PolicyState(), settings_)
    share_high = week.schedule[1].share
    high = reference_curve.points[2].command_pct
    low = reference_curve.points[1].command_pct
    assert set(commands) == {low, high}
    assert commands.count(high) / len(commands) == pytest.approx(share_high, abs=0.01)
    switches = sum(1 for a, b in itertools.pairwise(commands) if a != b)
    assert switches == 1


def test_time_sharing_carries_short_phases_instead_of_toggling() -> None:
    target = Target(10.0, 20.0, 0.05, "test")
    state = PolicyState()
    commands = []
    for second in range(0, 6000, 10):
        command, state = time_share(target, state, float(second), 600.0)
        commands.append(command)
    highs = commands.count(20.0)
    assert highs / len(commands) == pytest.approx(0.05, abs=0.01)
    runs = [1 for a, b in itertools.pairwise(commands) if a != b and b == 20.0]
    assert len(runs) <= 5
    for start in range(len(commands)):
        if commands[start] == 20.0 and (start == 0 or commands[start - 1] != 20.0):
            length = 0
            while start + length < len(commands) and commands[start + length] == 20.0:
                length += 1
            assert length * 10 >= 60


def test_auto_plans_only_points_that_hold_the_floor(reference_curve: FanCurve) -> None:
    floor_cfm = ROOM_C * 5.0**0.65
    week = week_plan(reference_curve, floor_cfm)
    assert [s.point.setting for s in week.schedule] == ["2", "3"]
    commands = run_for(
        1200.0, inputs(plan=week, plan_meets_deadline=True), PolicyState(), policy_settings(reference_curve)
    )
    for command in commands:
        flow = reference_curve.flow_cfm(command)
        assert pressure_for_flow(ROOM_C, 0.65, flow) >= 5.0


def test_auto_without_a_plan_runs_the_safe_speed(reference_curve: FanCurve) -> None:
    decision = decide(inputs(plan=None), PolicyState(), policy_settings(reference_curve, safe_speed_pct=66.0))
    assert decision.command_pct == 66.0
    assert "safe speed" in decision.reason


def test_eco_picks_the_most_air_per_watt_that_holds_the_floor(reference_curve: FanCurve) -> None:
    settings_ = policy_settings(reference_curve)
    decision = decide(inputs(mode=Mode.ECO), PolicyState(), settings_)
    assert reference_curve.point_at(decision.command_pct).setting == "2"
    tight_floor = decide(inputs(mode=Mode.ECO, pressure_floor_pa=12.0, pressure_pa=13.0), PolicyState(), settings_)
    assert reference_curve.point_at(tight_floor.command_pct).setting == "3"


def test_critical_battery_drops_to_the_cheapest_point_that_holds_the_floor(reference_curve: FanCurve) -> None:
    settings_ = policy_settings(reference_curve)
    week = week_plan(reference_curve)
    at_risk = decide(inputs(plan=week, plan_meets_deadline=False, battery_critical=True), PolicyState(), settings_)
    assert reference_curve.point_at(at_risk.command_pct).setting == "2"
    assert "critical battery" in at_risk.reason
    no_floor = decide(inputs(mode=Mode.ECO, pressure_floor_pa=0.0, battery_critical=True), PolicyState(), settings_)
    assert reference_curve.point_at(no_floor.command_pct).setting == "1"


def test_critical_battery_keeps_a_plan_that_reaches_the_deadline(reference_curve: FanCurve) -> None:
    week = week_plan(reference_curve)
    decision = decide(
        inputs(plan=week, plan_meets_deadline=True, battery_critical=True),
        PolicyState(),
        policy_settings(reference_curve),
    )
    assert "plan shares" in decision.reason


def test_pressure_mode_step_response_settles_on_the_setpoint(pwm_curve: FanCurve) -> None:
    """Close the loop around a room whose true leakage is 30 % tighter than the controller believes:
    feed-forward gets close, the integral removes the rest, without overshooting the cap."""
    settings_ = policy_settings(pwm_curve, pi_kp=2.0, pi_ki=0.2)
    true_c = 0.7 * ROOM_C / 2.0
    belief = ROOM_C / 2.0
    state = PolicyState()
    pressure = 0.0
    history = []
    for second in range(600):
        decision = decide(
            inputs(
                mode=Mode.PRESSURE, now_s=float(second), pressure_pa=pressure, room_c_cfm=belief, pressure_floor_pa=2.0
            ),
            state,
            settings_,
        )
        state = decision.state
        pressure = pressure_for_flow(true_c, 0.65, pwm_curve.flow_cfm(decision.command_pct))
        history.append(pressure)
    assert history[-1] == pytest.approx(8.0, abs=0.6)
    assert max(history) < 25.0
    assert all(abs(p - 8.0) <= 0.6 for p in history[-100:])


def test_pressure_mode_stale_sensor_uses_the_room_curve(pwm_curve: FanCurve) -> None:
    decision = decide(
        inputs(mode=Mode.PRESSURE, pressure_pa=None, room_c_cfm=20.0), PolicyState(), policy_settings(pwm_curve)
    )
    flow = pwm_curve.flow_cfm(decision.command_pct)
    assert pressure_for_flow(20.0, 0.65, flow) == pytest.approx(8.0, rel=0.01)
    assert "sensor stale" in decision.reason


def test_pressure_mode_freezes_while_the_door_is_open(pwm_curve: FanCurve) -> None:
    settings_ = policy_settings(pwm_curve)
    before = decide(inputs(mode=Mode.PRESSURE, pressure_pa=6.0), PolicyState(), settings_)
    during = decide(inputs(mode=Mode.PRESSURE, pressure_pa=0.1, door_open=True, now_s=1.0), before.state, settings_)
    assert during.command_pct == pytest.approx(before.command_pct)
    assert during.state.integral_cfm == before.state.integral_cfm
    assert "door open" in during.reason


def test_pressure_mode_deadband_ignores_small_errors(pwm_curve: FanCurve) -> None:
    settings_ = policy_settings(pwm_curve, deadband_pa=0.5)
    state = PolicyState()
    for second in range(100):
        state = decide(inputs(mode=Mode.PRESSURE, pressure_pa=8.3, now_s=float(second)), state, settings_).state
    assert state.integral_cfm == 0.0


def test_pressure_mode_anti_windup_at_saturation(pwm_curve: FanCurve) -> None:
    settings_ = policy_settings(pwm_curve)
    state = PolicyState()
    for second in range(1000):
        state = decide(inputs(mode=Mode.PRESSURE, pressure_pa=0.0, now_s=float(second)), state, settings_).state
    wound = state.integral_cfm
    recovered = decide(inputs(mode=Mode.PRESSURE, pressure_pa=9.0, now_s=1000.0), state, settings_)
    assert wound < 200.0
    assert recovered.command_pct < 100.0


def test_pressure_mode_respects_the_cap(pwm_curve: FanCurve) -> None:
    settings_ = policy_settings(pwm_curve, pressure_cap_pa=10.0)
    state = PolicyState()
    command = 0.0
    for second in range(300):
        decision = decide(
            inputs(mode=Mode.PRESSURE, pressure_setpoint_pa=9.5, pressure_pa=0.0, now_s=float(second), room_c_cfm=10.0),
            state,
            settings_,
        )
        state, command = decision.state, decision.command_pct
    assert pressure_for_flow(10.0, 0.65, pwm_curve.flow_cfm(command)) <= 10.0 + 1e-6


def test_continuous_fan_minimum_duty_kick_start_and_slew(pwm_curve: FanCurve) -> None:
    settings_ = policy_settings(pwm_curve, min_duty_pct=20.0, kick_start_pct=60.0, kick_start_s=2.0, slew_pct_per_s=5.0)
    state = PolicyState()
    start = decide(inputs(mode=Mode.MANUAL, manual_speed_pct=10.0, now_s=0.0), state, settings_)
    assert start.command_pct == 60.0
    kicked = decide(inputs(mode=Mode.MANUAL, manual_speed_pct=10.0, now_s=1.0), start.state, settings_)
    assert kicked.command_pct == 60.0
    after = decide(inputs(mode=Mode.MANUAL, manual_speed_pct=10.0, now_s=2.5, dt_s=1.5), kicked.state, settings_)
    assert after.command_pct == pytest.approx(52.5)
    state = after.state
    for second in range(3, 30):
        decision = decide(inputs(mode=Mode.MANUAL, manual_speed_pct=10.0, now_s=float(second)), state, settings_)
        state = decision.state
    assert decision.command_pct == 20.0


def test_stalled_fan_is_kicked_again(pwm_curve: FanCurve) -> None:
    settings_ = policy_settings(pwm_curve, kick_start_pct=80.0)
    running = PolicyState(command_pct=30.0)
    decision = decide(inputs(mode=Mode.MANUAL, manual_speed_pct=30.0, fan_stalled=True), running, settings_)
    assert decision.command_pct == 80.0


@settings(max_examples=200, deadline=None)
@given(
    mode=st.sampled_from(list(Mode)),
    pressure=st.one_of(st.none(), st.floats(min_value=-5.0, max_value=60.0)),
    floor=st.floats(min_value=0.0, max_value=20.0),
    manual=st.floats(min_value=0.0, max_value=100.0),
    critical=st.booleans(),
    door=st.booleans(),
    with_plan=st.booleans(),
)
def test_commands_stay_in_range_and_automatic_modes_never_switch_off(
    reference_curve: FanCurve,
    mode: Mode,
    pressure: float | None,
    floor: float,
    manual: float,
    critical: bool,
    door: bool,
    with_plan: bool,
) -> None:
    settings_ = policy_settings(reference_curve)
    decision = decide(
        inputs(
            mode=mode,
            pressure_pa=pressure,
            pressure_floor_pa=floor,
            manual_speed_pct=manual,
            battery_critical=critical,
            door_open=door,
            plan=week_plan(reference_curve) if with_plan else None,
        ),
        PolicyState(),
        settings_,
    )
    assert 0.0 <= decision.command_pct <= 100.0
    if mode is not Mode.MANUAL:
        assert decision.command_pct > 0.0


def test_pressure_under_the_floor_steps_the_fan_up_for_a_minute(reference_curve: FanCurve) -> None:
    settings_ = policy_settings(reference_curve)
    week = week_plan(reference_curve, ROOM_C * 5.0**0.65)
    low = reference_curve.points[1].command_pct
    high = reference_curve.points[2].command_pct
    state = PolicyState(period_start_s=0.0, period_pair=(low, high), high_time_s=0.0)
    normal = decide(inputs(plan=week, plan_meets_deadline=True, now_s=100.0, pressure_pa=7.0), state, settings_)
    assert normal.command_pct == low
    dip = decide(inputs(plan=week, plan_meets_deadline=True, now_s=101.0, pressure_pa=4.6), normal.state, settings_)
    assert dip.command_pct == high
    assert "below the floor: stepped up" in dip.reason
    held = decide(inputs(plan=week, plan_meets_deadline=True, now_s=150.0, pressure_pa=9.0), dip.state, settings_)
    assert held.command_pct == high
    back = decide(inputs(plan=week, plan_meets_deadline=True, now_s=162.0, pressure_pa=9.0), held.state, settings_)
    assert back.command_pct == low


def test_eco_steps_up_to_the_next_setting_and_not_while_a_door_is_open(reference_curve: FanCurve) -> None:
    settings_ = policy_settings(reference_curve)
    dip = decide(inputs(mode=Mode.ECO, pressure_pa=3.0), PolicyState(), settings_)
    assert reference_curve.point_at(dip.command_pct).setting == "3"
    door = decide(inputs(mode=Mode.ECO, pressure_pa=0.2, door_open=True), PolicyState(), settings_)
    assert reference_curve.point_at(door.command_pct).setting == "2"


def test_runtime_and_manual_modes_do_not_step_up(reference_curve: FanCurve) -> None:
    settings_ = policy_settings(reference_curve)
    manual = decide(inputs(mode=Mode.MANUAL, manual_speed_pct=33.4, pressure_pa=1.0), PolicyState(), settings_)
    assert manual.command_pct == 33.4
    week = week_plan(reference_curve)
    runtime = decide(
        inputs(mode=Mode.RUNTIME, plan=week, pressure_pa=1.0, pressure_floor_pa=5.0), PolicyState(), settings_
    )
    assert "stepped up" not in runtime.reason


def test_no_step_up_when_the_user_gave_the_floor_up_for_the_deadline(reference_curve: FanCurve) -> None:
    week = week_plan(reference_curve)
    decision = decide(
        inputs(plan=week, plan_meets_deadline=True, pressure_pa=1.0, hold_floor=False),
        PolicyState(),
        policy_settings(reference_curve),
    )
    assert "stepped up" not in decision.reason

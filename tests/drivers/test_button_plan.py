"""The pure press planner and power verifier of the `buttons` fan driver."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.buttons.plan import OFF, Layout, State, after, at_setting, nearest_reachable, plan, setting_of
from drivers.buttons.verify import PowerSignature, Rules, Verdict, Watch, judge

CYCLE_WITH_OFF = Layout("cycle", 6, order=(0, 1, 2, 3, 4, 5, 6))
CYCLE_AND_POWER = Layout("cycle", 3, order=(1, 2, 3), has_power=True)
UP_DOWN = Layout("up-down", 6, has_power=True, power_on=1)
PER_SETTING = Layout("per-setting", 3, per_setting=(1, 2, 3), has_off_button=True)
WATTS = (1.93, 4.12, 9.74, 16.58, 24.04, 29.12)


def test_a_cycling_button_goes_forward_once_or_round_the_cycle() -> None:
    at2 = at_setting(CYCLE_WITH_OFF, 2)
    assert plan(CYCLE_WITH_OFF, at2, 3) == ("cycle",)
    assert plan(CYCLE_WITH_OFF, at_setting(CYCLE_WITH_OFF, 3), 2) == ("cycle",) * 6
    assert plan(CYCLE_WITH_OFF, at2, OFF) == ("cycle",) * 5
    assert plan(CYCLE_WITH_OFF, at2, 2) == ()


def test_a_cycle_without_off_uses_the_power_button_which_resumes_the_last_setting() -> None:
    running = at_setting(CYCLE_AND_POWER, 2)
    assert plan(CYCLE_AND_POWER, running, OFF) == ("power",)
    off_after_2 = after(CYCLE_AND_POWER, running, "power")
    assert off_after_2 == frozenset({State(OFF, 2)})
    assert plan(CYCLE_AND_POWER, off_after_2, 3) == ("power", "cycle")
    assert plan(CYCLE_AND_POWER, off_after_2, 1) == ("power", "cycle", "cycle")


def test_up_down_buttons_reach_a_setting_even_from_an_unknown_state() -> None:
    assert plan(UP_DOWN, at_setting(UP_DOWN, 2), 5) == ("up",) * 3
    running = frozenset(s for s in UP_DOWN.states() if s.setting != OFF)
    presses = plan(UP_DOWN, running, 3)
    assert presses == ("power", "power", "up", "up"), "off, then on at its power-on setting 1, then up twice"
    belief = running
    for button in presses:
        belief = after(UP_DOWN, belief, button)
    assert setting_of(belief) == 3
    assert plan(UP_DOWN, UP_DOWN.states(), 3) is None, "a toggling power button cannot be synchronised blind"


def test_one_button_per_setting_is_one_press_from_anywhere() -> None:
    assert plan(PER_SETTING, PER_SETTING.states(), 2) == ("2",)
    assert plan(PER_SETTING, PER_SETTING.states(), OFF) == ("off",)


def test_a_permuting_cycle_cannot_plan_from_an_unknown_state() -> None:
    assert plan(CYCLE_WITH_OFF, CYCLE_WITH_OFF.states(), 3) is None


def test_an_unreachable_off_falls_to_the_nearest_setting() -> None:
    no_off = Layout("up-down", 4)
    belief = at_setting(no_off, 3)
    assert plan(no_off, belief, OFF) is None
    assert nearest_reachable(no_off, belief, OFF) == 1


def test_layouts_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="two or more distinct"):
        Layout("cycle", 3, order=(1, 1))
    with pytest.raises(ValueError, match="per-setting buttons"):
        Layout("per-setting", 3, per_setting=(0, 4))
    with pytest.raises(ValueError, match="no button"):
        UP_DOWN.press(State(1, 1), "cycle")


@given(st.integers(0, 6), st.integers(0, 6))
def test_every_plan_lands_on_its_target(start: int, target: int) -> None:
    for layout in (CYCLE_WITH_OFF, UP_DOWN):
        belief = at_setting(layout, start)
        presses = plan(layout, belief, target)
        if presses is None:
            continue
        for button in presses:
            belief = after(layout, belief, button)
        assert setting_of(belief) == target


def test_the_signature_names_settings_within_tolerance_and_nothing_between() -> None:
    signature = PowerSignature.from_watts(WATTS)
    assert signature.identify(0.05) == OFF
    assert signature.identify(9.5) == 3
    assert signature.identify(29.9) == 6
    assert signature.identify(6.9) is None
    assert signature.identify(float("nan")) is None
    assert all(t > 0 for t in signature.tolerance_w)


def test_two_settled_readings_of_another_setting_correct_the_belief() -> None:
    signature, rules = PowerSignature.from_watts(WATTS), Rules(settle_s=5.0, confirm_readings=2)
    belief = at_setting(CYCLE_WITH_OFF, 3)
    early = judge(CYCLE_WITH_OFF, signature, rules, Watch(), belief, 3, WATTS[1], 12.0, 10.0)
    assert early.verdict is Verdict.SETTLING
    first = judge(CYCLE_WITH_OFF, signature, rules, Watch(), belief, 3, WATTS[1], 16.0, 10.0)
    assert first.verdict is Verdict.MISMATCH
    assert first.belief == belief
    second = judge(CYCLE_WITH_OFF, signature, rules, first.watch, belief, 3, WATTS[1], 17.0, 10.0)
    assert second.verdict is Verdict.CORRECTED
    assert setting_of(second.belief) == 2
    assert second.watch.attempts == 1


def test_repeated_corrections_are_a_fault_and_no_reading_is_open_loop() -> None:
    signature, rules = PowerSignature.from_watts(WATTS), Rules(confirm_readings=1, max_attempts=2)
    watch, verdicts = Watch(), []
    for _ in range(3):
        outcome = judge(CYCLE_WITH_OFF, signature, rules, watch, at_setting(CYCLE_WITH_OFF, 4), 4, WATTS[0], 99.0, 0.0)
        watch = outcome.watch
        verdicts.append(outcome.verdict)
    assert verdicts == [Verdict.CORRECTED, Verdict.CORRECTED, Verdict.FAULT]
    no_reading = judge(CYCLE_WITH_OFF, signature, rules, Watch(), CYCLE_WITH_OFF.states(), 4, None, 99.0, 0.0)
    assert no_reading.verdict is Verdict.OPEN_LOOP

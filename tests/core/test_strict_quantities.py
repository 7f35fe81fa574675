"""Quantities from users by a strict grammar: a number and a unit name, bounded length, never pint's
expression evaluator; absolute deadlines bounded; a discrete fan's speed snapped, never turned off."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller import units
from controller.battery import BatteryState
from controller.commands import MAX_DEADLINE_S, CommandName, SetDeadline, SetSpeed, parse_command
from controller.errors import SHOWN_VALUE_CHARS, ConfigError
from controller.models.fan import FanCurve, OperatingPoint
from controller.setpoints import Setpoints, apply_command
from controller.snapshot import Mode
from controller.step.core import apply_commands
from controller.step.state import SourcedCommand

HOSTILE = [
    "5" * 100_000,
    "1e999999999",
    "1e999 W",
    "-1e400 Pa",
    "3 Pa * Pa / Pa ** 9999",
    "2 ** 2 ** 2 ** 2 ** 2 Pa",
    "((((((((((1))))))))))" * 200,
    "(" * 5000 + "1" + ")" * 5000,
    "1 Pa Pa Pa Pa Pa Pa Pa Pa Pa Pa Pa Pa Pa Pa Pa Pa Pa Pa Pa Pa",
    "1 m*s*kg*A*K*mol*cd/Pa",
    "NaN",
    "nan Pa",
    "Infinity",
    "inf W",
    "-inf",
    "1_000 W",
    "\u0665 Pa",
    "5 \u202ePa",
    "5 Pa\x00",
    "__import__('os') Pa",
    "5 Quantity",
    "5 define",
    "1e5e5 W",
    "",
    "   ",
    "Pa",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.parametrize("kind", [units.PRESSURE, units.POWER, units.FRACTION, units.DURATION])
def test_hostile_text_is_refused_with_a_unit_error(text: str, kind: units.Kind) -> None:
    with pytest.raises(units.UnitError) as refused:
        units.parse(text, kind)
    assert kind.name in str(refused.value)
    assert len(str(refused.value)) < 200


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("30s", units.DURATION, 30.0),
        ("2.592e+06 s", units.DURATION, 2.592e6),
        ("100%", units.FRACTION, 100.0),
        ("4 m**3/min", units.FLOW, 141.2586668859544),
        ("1 kgf/cm**2", units.PRESSURE, 98066.5),
        ("1 mmH2O", units.PRESSURE, 9.80665),
        ("  -1.5 W ", units.POWER, -1.5),
        (".5 Pa", units.PRESSURE, 0.5),
    ],
)
def test_the_grammar_keeps_every_documented_form(text: str, kind: units.Kind, expected: float) -> None:
    assert units.parse(text, kind) == pytest.approx(expected)


@pytest.mark.parametrize("number", [float("nan"), float("inf"), -float("inf"), 10**400])
def test_non_finite_and_huge_numbers_are_refused(number: float) -> None:
    with pytest.raises(units.UnitError):
        units.parse(number, units.FRACTION)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_a_finite_value_or_a_unit_error(text: str) -> None:
    try:
        value = units.parse(text, units.PRESSURE)
    except units.UnitError:
        return
    assert math.isfinite(value)


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300))
def test_a_number_and_a_unit_name_round_trip(value: float) -> None:
    assert units.parse(f"{value!r} W", units.POWER) == value
    assert units.parse_number(repr(value)) == value


@pytest.mark.parametrize("name", [c.value for c in CommandName])
@pytest.mark.parametrize("raw", [*HOSTILE, "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_hostile_command_values_are_refused_with_a_short_message(name: str, raw: str) -> None:
    if name == "deadline" and not raw.strip():
        assert parse_command(name, raw) == SetDeadline(None, None)  # blank clears the deadline
        return
    with pytest.raises(ConfigError) as refused:
        parse_command(name, raw)
    assert len(str(refused.value)) < 2 * SHOWN_VALUE_CHARS + 300


def test_an_absolute_deadline_beyond_the_longest_duration_is_refused() -> None:
    now = datetime(2026, 11, 30, tzinfo=UTC)
    points = Setpoints(Mode.AUTO, 50.0, 5.0, 2.0, None, BatteryState())
    far = parse_command("deadline", "9999-12-31T23:59:59+14:00")
    unchanged, result = apply_command(points, far, 0.0, now, 40.0)
    assert not result.accepted
    assert "at most 366 days" in result.message
    assert unchanged == points
    within = SetDeadline(now + timedelta(seconds=MAX_DEADLINE_S - 60), None)
    assert apply_command(points, within, 0.0, now, 40.0)[1].accepted


def test_a_discrete_fan_raises_a_speed_under_its_lowest_setting_and_never_turns_off() -> None:
    settings = (("low", 33.0, 10.0, 60.0), ("mid", 66.0, 20.0, 100.0), ("high", 100.0, 40.0, 160.0))
    curve = FanCurve(tuple(OperatingPoint(*setting) for setting in settings), continuous=False)
    now = datetime(2026, 11, 30, tzinfo=UTC)
    points = Setpoints(Mode.AUTO, 50.0, 5.0, 2.0, None, BatteryState())
    low = SourcedCommand("test", SetSpeed(10.0))
    changed, results, _events = apply_commands(points, (low,), 0.0, now, 40.0, curve)
    assert results[0].accepted
    assert "raised to it" in results[0].message
    assert changed.manual_speed_pct == 33.0
    between = SourcedCommand("test", SetSpeed(70.0))
    changed, results, _events = apply_commands(points, (between,), 0.0, now, 40.0, curve)
    assert changed.manual_speed_pct == 70.0
    assert curve.point_at(changed.manual_speed_pct).setting == "mid"
    off, results, _events = apply_commands(points, (SourcedCommand("test", SetSpeed(0.0)),), 0.0, now, 40.0, curve)
    assert off.manual_speed_pct == 0.0
    assert "raised" not in results[0].message

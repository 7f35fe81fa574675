"""Every range in an error is in human units ("up to 366 days", "10,000 Ah", never "3.16224e+07 s"), and a
value at either end of a stated range is accepted: the range a message states is the range checked."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller import units
from controller.cli import main
from controller.cli.flags import quantity_flag
from controller.commands import SETTINGS, CommandLimits, parse_command
from controller.config.reader import Table
from controller.errors import ConfigError

EXPONENT = re.compile(r"\de[+-]?\d")


@pytest.mark.parametrize(
    ("value", "kind", "shown"),
    [
        (366 * 86400.0, units.DURATION, "366 days"),
        (3650 * 86400.0, units.DURATION, "3,650 days"),
        (7200.0, units.DURATION, "2 h"),
        (90.0, units.DURATION, "90 s"),
        (0.1, units.DURATION, "0.1 s"),
        (1e6, units.ENERGY, "1,000,000 Wh"),
        (90.0, units.FRACTION, "90 %"),
        (24.5, units.PRESSURE, "24.5 Pa"),
        (1e5, units.FLOW, "100,000 CFM"),
        (65535.0, units.DIMENSIONLESS, "65535"),
    ],
)
def test_range_ends_read_as_people_write_them(value: float, kind: units.Kind, shown: str) -> None:
    assert units.show_limit(value, kind) == shown
    assert units.parse(shown.replace(",", ""), kind) == pytest.approx(value)


def test_the_longest_duration_is_said_in_days(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--accelerated", "--duration", "400 days"]) == 2
    err = capsys.readouterr().err
    assert "from 1 s to 366 days" in err
    assert not EXPONENT.search(err)
    with pytest.raises(ConfigError) as refused:
        Table({"capacity": "20000 Ah"}, "c.toml", "battery.").quantity("capacity", units.CHARGE, low=1.0, high=10_000.0)
    assert "expected between 1 Ah and 10,000 Ah" in str(refused.value)


@given(cap_pa=st.floats(min_value=5.0, max_value=200.0, allow_nan=False))
def test_both_ends_of_every_settings_stated_range_are_accepted(cap_pa: float) -> None:
    limits = CommandLimits(cap_pa)
    for setting in SETTINGS:
        span = setting.range(limits)
        if span is None or setting.unit is None:
            continue
        expected = setting.expected(limits)
        assert not EXPONENT.search(expected), expected
        for end in span:
            shown = units.show_bound(end, setting.unit)
            assert shown.split()[0] in expected, (shown, expected)
            parse_command(setting.name.value, shown.replace(",", ""), limits=limits)
        with pytest.raises(ConfigError) as refused:
            parse_command(setting.name.value, f"{span[1] * 1.01 + 1} {setting.unit.symbol}", limits=limits)
        assert expected in str(refused.value)


@given(high=st.floats(min_value=1.0, max_value=1e7, allow_nan=False))
def test_a_flag_accepts_the_ends_it_states(high: float) -> None:
    """The bound shown (rounded to six decimals) is inside the range the flag and the file check."""
    shown = units.show_limit(high, units.ENERGY).replace(",", "")
    assert quantity_flag("--battery", shown, units.ENERGY, 0.0, high) == pytest.approx(high, abs=1e-6)
    section = Table({"stored_energy": shown}, "c.toml", "power_path.")
    assert section.quantity("stored_energy", units.ENERGY, low=high / 2, high=high) == pytest.approx(high, abs=1e-6)

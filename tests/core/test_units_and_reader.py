"""Units at the edges, and the Table reader's error messages."""

from __future__ import annotations

import pytest

from controller import units
from controller.config.reader import Table
from controller.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("12.8 V", units.VOLTAGE, 12.8),
        ("14000 mV", units.VOLTAGE, 14.0),
        ("100 Ah", units.CHARGE, 100.0),
        ("1.28 kWh", units.ENERGY, 1280.0),
        ("0.9 W", units.POWER, 0.9),
        ("5 Pa", units.PRESSURE, 5.0),
        ("0.01 inWC", units.PRESSURE, 2.4908891),
        ("7 days", units.DURATION, 604800.0),
        ("36 h", units.DURATION, 129600.0),
        ("20 %", units.FRACTION, 20.0),
        (0.2, units.FRACTION, 20.0),
        ("141 CFM", units.FLOW, 141.0),
        ("25 kHz", units.FREQUENCY, 25000.0),
    ],
)
def test_parse_converts_to_the_internal_unit(text: str | float, kind: units.Kind, expected: float) -> None:
    assert units.parse(text, kind) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "kind", "fragment"),
    [
        ("12 W", units.VOLTAGE, "not W"),
        ("12", units.VOLTAGE, "with a unit"),
        ("twelve", units.VOLTAGE, "a voltage such as"),
        ("", units.POWER, "a power such as"),
        (True, units.POWER, "a power such as"),
        ("5 %", units.POWER, "not %"),
    ],
)
def test_parse_rejects_wrong_units_with_the_expected_kind(text: str | bool, kind: units.Kind, fragment: str) -> None:
    with pytest.raises(units.UnitError, match=fragment):
        units.parse(text, kind)


def test_table_errors_name_source_key_value_and_expectation() -> None:
    table = Table({"capacity": "100 V"}, "room.toml", "battery.")
    with pytest.raises(ConfigError) as caught:
        table.quantity("capacity", units.CHARGE, low=1.0)
    message = str(caught.value)
    assert message.startswith("room.toml: battery.capacity = '100 V': expected a charge")
    assert "Ah" in message


def test_table_reports_missing_keys_and_unknown_keys() -> None:
    table = Table({"typo": 1}, "f.toml")
    with pytest.raises(ConfigError, match=r"f.toml: capacity = \(missing\): expected a charge"):
        table.quantity("capacity", units.CHARGE)
    with pytest.raises(ConfigError, match="typo = 1: expected a known key"):
        table.finish()


def test_table_range_and_type_errors() -> None:
    table = Table({"n": 2, "flag": "yes", "mode": "fast", "count": 1.5, "power": "-1 W"}, "f.toml")
    with pytest.raises(ConfigError, match=r"n = 2: expected between 0\.4 and 1"):
        table.number("n", low=0.4, high=1.0)
    with pytest.raises(ConfigError, match="flag = 'yes': expected true or false"):
        table.boolean("flag")
    with pytest.raises(ConfigError, match="mode = 'fast': expected one of slow, auto"):
        table.string("mode", choices=("slow", "auto"))
    with pytest.raises(ConfigError, match=r"count = 1\.5: expected a whole number"):
        table.integer("count")
    with pytest.raises(ConfigError, match=r"power = '-1 W': expected at least 0 W"):
        table.quantity("power", units.POWER, low=0.0)


def test_format_duration() -> None:
    assert units.format_duration(None) == "—"
    assert units.format_duration(float("inf")) == "∞"
    assert units.format_duration(42 * 60) == "42 min"
    assert units.format_duration(5 * 3600 + 12 * 60) == "5 h 12 min"
    assert units.format_duration(3 * 86400 + 4 * 3600) == "3 d 4 h"


@pytest.mark.parametrize(
    ("kind", "unit_text", "factor"),
    [(kind, unit_text, factor) for kind in units.KINDS for unit_text, factor in kind.common],
    ids=lambda value: getattr(value, "name", str(value)),
)
def test_each_common_unit_converts_exactly_as_pint_does(kind: units.Kind, unit_text: str, factor: float) -> None:
    by_pint = units.registry().Quantity(3.5, unit_text).to(kind.unit).magnitude
    assert units.parse(f"3.5 {unit_text}", kind) == pytest.approx(by_pint, rel=1e-12)
    assert 3.5 * factor == pytest.approx(by_pint, rel=1e-12)

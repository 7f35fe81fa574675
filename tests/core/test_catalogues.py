"""The alarm catalogue and the settable-feature registry are the one place each alarm and command is
described: every row has its configuration keys, its Home Assistant entity and its range, and what MQTT
and the loop accept is exactly that range."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from controller import units
from controller.alarm_catalogue import ALARMS, AlarmRow, Level, Trips
from controller.alarm_config import ALERT_KEYS, ALERT_KEYS_BY_KEY, AlertsSection, parse_alerts
from controller.alerts import AlertInputs
from controller.battery import BatteryState
from controller.commands import SETTINGS, CommandLimits, SetDeadline, Setting, parse_command
from controller.config.reader import Table
from controller.errors import ConfigError
from controller.mqtt.payloads import Topics, discovery_messages, parse_command_message
from controller.setpoints import Setpoints, apply_command
from controller.snapshot import AlertKind, Mode

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
INPUT_FIELDS = {f.name for f in dataclasses.fields(AlertInputs)}
NUMERIC = [s for s in SETTINGS if s.range(CommandLimits()) is not None]
LIMITS = [CommandLimits(), CommandLimits(25.0), CommandLimits(40.0)]


def _discovery(limits: CommandLimits) -> dict[str, dict[str, object]]:
    topics = Topics("cleanroom/room1", "homeassistant")
    return {t: json.loads(b) for t, b in discovery_messages(topics, "room1", "0.1.0", limits)}


def test_every_alert_kind_has_exactly_one_row() -> None:
    assert sorted(row.kind for row in ALARMS) == sorted(AlertKind)


@pytest.mark.parametrize("row", ALARMS, ids=lambda row: row.kind.value)
def test_every_alarm_row_has_its_config_keys_and_inputs(row: AlarmRow) -> None:
    assert {row.delay_key, row.return_delay_key} <= set(ALERT_KEYS_BY_KEY)
    assert ALERT_KEYS_BY_KEY[row.delay_key].unit is units.SECOND
    assert ALERT_KEYS_BY_KEY[row.return_delay_key].unit is units.SECOND
    assert set(row.keys) <= set(ALERT_KEYS_BY_KEY)
    inputs = [row.watches, row.shows, row.held_while, row.restarts_when, row.details]
    inputs += [level.input for band in row.bands for level in (band.set_level, band.clear_level)]
    assert {name for name in inputs if name is not None} <= INPUT_FIELDS
    assert row.bands, "an alarm has at least one severity"
    assert len({band.severity for band in row.bands}) == len(row.bands)


@pytest.mark.parametrize("row", ALARMS, ids=lambda row: row.kind.value)
def test_every_alarm_row_has_a_binary_sensor(row: AlarmRow) -> None:
    config = _discovery(CommandLimits())[f"homeassistant/binary_sensor/cleanroom_room1/alert_{row.kind.value}/config"]
    assert config["name"] == row.label
    assert config["device_class"] == row.device_class
    assert f"'{row.kind.value}'" in str(config["value_template"])
    assert ("entity_category" in config) is row.diagnostic


def test_every_alerts_key_is_read_by_a_row_and_configurable() -> None:
    read = {key for row in ALARMS for key in row.keys}
    assert read == set(ALERT_KEYS_BY_KEY)
    doubled = {k.key: f"{k.default * 2:g} {k.unit.symbol}" for k in ALERT_KEYS if k.default * 2 <= k.high}
    section = parse_alerts(Table(doubled, "test.toml", "alerts."))
    for key in doubled:
        assert section.value(key) == pytest.approx(ALERT_KEYS_BY_KEY[key].default * 2), key


def test_the_example_configuration_documents_every_alerts_key() -> None:
    example = tomllib.loads((Path(__file__).parents[2] / "deploy" / "config.example.toml").read_text())
    assert set(example["alerts"]) == {k.key for k in ALERT_KEYS} | {"latch_battery"}
    assert parse_alerts(Table(example["alerts"], "config.example.toml", "alerts.")) == AlertsSection()


def test_pressure_high_has_its_own_delays() -> None:
    section = parse_alerts(Table({"pressure_high_delay": "5 min", "pressure_high_return_delay": "2 min"}, "t"))
    assert (section.pressure_high_delay_s, section.pressure_high_return_delay_s) == (300.0, 120.0)
    assert section.pressure_low_delay_s == AlertsSection().pressure_low_delay_s


def test_flags_need_no_levels_and_conditions_name_only_the_key_their_reporter_judges_by() -> None:
    for row in ALARMS:
        if row.trips is Trips.FLAG:
            assert all(band.set_level.key is None and band.set_level.input is None for band in row.bands)
        if row.trips is Trips.CONDITION:
            assert all(band.set_level.input is None and band.clear_level == Level() for band in row.bands)
            assert all(band.set_level.key in (None, *ALERT_KEYS_BY_KEY) for band in row.bands)


def _inside(setting: Setting, limits: CommandLimits) -> list[str]:
    assert setting.unit is not None
    low, high = setting.range(limits) or (0.0, 0.0)
    return [units.show_bound(low, setting.unit), units.show_bound(high, setting.unit)]


def _outside(setting: Setting, limits: CommandLimits) -> list[str]:
    assert setting.unit is not None
    low, high = setting.range(limits) or (0.0, 0.0)
    return [units.show_bound(low - setting.step, setting.unit), units.show_bound(high + setting.step, setting.unit)]


@pytest.mark.parametrize("limits", LIMITS, ids=lambda limits: f"cap={limits.pressure_cap_pa}")
@pytest.mark.parametrize("setting", NUMERIC, ids=lambda setting: setting.name.value)
def test_mqtt_accepts_each_end_of_the_range_and_refuses_just_outside(setting: Setting, limits: CommandLimits) -> None:
    for text in _inside(setting, limits):
        assert parse_command_message(setting.name.value, text.encode(), "t", limits) is not None
        assert parse_command(setting.name.value, text, "http", limits) is not None
    _low, high = setting.range(limits) or (0.0, 0.0)
    assert setting.unit is not None
    for text in _outside(setting, limits):
        with pytest.raises(ConfigError) as info:
            parse_command_message(setting.name.value, text.encode(), "t", limits)
        assert info.value.key == setting.name.value
        assert info.value.value == text
        assert f"to {units.show_bound(high, setting.unit)}" in info.value.expected
        assert "e+" not in str(info.value), "ranges in human units"


@pytest.mark.parametrize("limits", LIMITS[1:], ids=lambda limits: f"cap={limits.pressure_cap_pa}")
@pytest.mark.parametrize("setting", NUMERIC, ids=lambda setting: setting.name.value)
def test_the_loop_accepts_what_the_registry_accepts(setting: Setting, limits: CommandLimits) -> None:
    assert limits.pressure_cap_pa is not None
    points = Setpoints(Mode.AUTO, 50.0, 0.0, 0.0, None, BatteryState())
    for text in _inside(setting, limits):
        command = parse_command(setting.name.value, text, "t", limits)
        _, result = apply_command(points, command, 0.0, NOW, limits.pressure_cap_pa)
        assert result.accepted, (text, result.message)
    low, high = setting.range(limits) or (0.0, 0.0)
    for value in (low - setting.step, high + setting.step):
        command = setting.build(value) if setting.build is not None else SetDeadline(None, value)
        _, result = apply_command(points, command, 0.0, NOW, limits.pressure_cap_pa)
        assert not result.accepted, value
        assert setting.name.value in result.message
        assert units.show_bound(high, setting.unit or units.PASCAL) in result.message


@pytest.mark.parametrize("limits", LIMITS, ids=lambda limits: f"cap={limits.pressure_cap_pa}")
def test_home_assistant_numbers_advertise_the_registry_range(limits: CommandLimits) -> None:
    configs = _discovery(limits)
    numbers = {t: c for t, c in configs.items() if "/number/" in t}
    assert numbers
    for setting in SETTINGS:
        topic = f"homeassistant/{setting.entity}/cleanroom_room1/{setting.name.value}/config"
        if setting.entity is None:
            assert topic not in configs
            continue
        config = configs[topic]
        assert config["command_topic"] == f"cleanroom/room1/set/{setting.name.value}"
        if setting.entity == "number":
            low, high = setting.range(limits) or (None, None)
            assert (config["min"], config["max"], config["step"]) == (low, high, setting.step)
            assert setting.unit is not None
            assert config["unit_of_measurement"] == setting.unit.home_assistant
        else:
            assert config["options"] == list(setting.options)
    fan = configs["homeassistant/fan/cleanroom_room1/fan/config"]
    assert fan["preset_modes"] == [m.value for m in Mode]


def test_deadline_range_is_said_in_days_and_bounded() -> None:
    assert parse_command("deadline", "366 days") is not None
    assert parse_command("deadline", "1 min") is not None
    for text in ("367 days", "30 s"):
        with pytest.raises(ConfigError, match="from 1 min to 366 days"):
            parse_command("deadline", text)


def test_metric_rows_take_suffix_symbol_and_units_from_the_units_table() -> None:
    from controller.metrics import METRICS

    for metric in METRICS:
        assert metric.unit in units.UNITS
        assert metric.key.endswith(f"_{metric.unit.suffix}")

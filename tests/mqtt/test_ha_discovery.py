"""Home Assistant's view of the discovery messages: every payload holds only keys its platform documents
(tests/mqtt/ha_schema.py), number ranges are what the daemon accepts, and a command at each end of each
range is accepted."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from controller.battery import BatteryState
from controller.commands import PRESSURE_LIMIT_PA, SETTINGS_BY_NAME, CommandLimits, CommandName
from controller.errors import ConfigError
from controller.mqtt import payloads
from controller.mqtt.config import parse_broker_url
from controller.mqtt.payloads import Topics, discovery_messages, parse_command_message
from controller.setpoints import Setpoints, apply_command
from controller.snapshot import Mode
from tests.mqtt.ha_schema import (
    BINARY_SENSOR_DEVICE_CLASSES,
    DEVICE_KEYS,
    ORIGIN_KEYS,
    PLATFORM_KEYS,
    REQUIRED,
)

TOPICS = Topics("cleanroom/room1", "homeassistant")
LIMITS = (
    CommandLimits(),
    CommandLimits(pressure_cap_pa=25.0),
    CommandLimits(pressure_cap_pa=25.0, pressure_floor_pa=7.5),
)


def _entities(limits: CommandLimits) -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for topic, body in discovery_messages(TOPICS, "room1", "1.0", limits):
        _, platform, _, object_id, _ = topic.split("/")
        out.append((platform, object_id, json.loads(body)))
    return out


@pytest.mark.parametrize("limits", LIMITS)
def test_every_payload_uses_only_documented_keys(limits: CommandLimits) -> None:
    entities = _entities(limits)
    assert {platform for platform, _, _ in entities} == set(PLATFORM_KEYS)
    for platform, object_id, config in entities:
        assert set(config) <= PLATFORM_KEYS[platform], (object_id, set(config) - PLATFORM_KEYS[platform])
        assert REQUIRED[platform] <= set(config), object_id
        assert set(config["device"]) <= DEVICE_KEYS
        assert set(config["origin"]) <= ORIGIN_KEYS


def test_every_binary_sensor_has_a_documented_device_class() -> None:
    classes = [c.get("device_class") for p, _, c in _entities(CommandLimits()) if p == "binary_sensor"]
    assert classes
    assert all(c in BINARY_SENSOR_DEVICE_CLASSES for c in classes), classes


def test_sensor_values_are_rounded_to_their_precision() -> None:
    for platform, object_id, config in _entities(CommandLimits()):
        if platform == "sensor":
            precision = config["suggested_display_precision"]
            assert f"| round({precision})" in str(config["value_template"]), object_id
            assert "else none" in str(config["value_template"])


@pytest.mark.parametrize("limits", LIMITS)
def test_number_ranges_are_what_the_daemon_accepts_at_both_ends(limits: CommandLimits) -> None:
    numbers = [(o, c) for p, o, c in _entities(limits) if p == "number"]
    assert numbers
    for object_id, config in numbers:
        setting = SETTINGS_BY_NAME[CommandName(object_id)]
        low, high = setting.range(limits) or (None, None)
        assert (config["min"], config["max"]) == (low, high)
        floor_pa = limits.pressure_floor_pa if limits.pressure_floor_pa is not None else 0.0
        points = Setpoints(Mode.AUTO, 50.0, floor_pa, floor_pa, None, BatteryState())
        for end in (config["min"], config["max"]):
            for text in (str(float(end)), f"{end:g}"):
                command = parse_command_message(object_id, text.encode(), "HA", limits)
                assert command is not None
                cap_pa = limits.pressure_cap_pa if limits.pressure_cap_pa is not None else PRESSURE_LIMIT_PA
                result = apply_command(points, command, 0.0, datetime(2026, 11, 30, tzinfo=UTC), cap_pa)[1]
                assert result.accepted, (object_id, text, result.message)
        with pytest.raises(ConfigError, match=object_id):
            parse_command_message(object_id, f"{config['max'] * 1.5 + 1:g}".encode(), "HA", limits)


def test_select_options_are_accepted() -> None:
    for platform, object_id, config in _entities(CommandLimits()):
        if platform == "select":
            for option in config["options"]:
                assert parse_command_message(object_id, str(option).encode(), "HA") is not None


def test_an_empty_command_message_is_a_cleared_retained_one() -> None:
    assert payloads.is_cleared_command(b"")
    assert payloads.is_cleared_command(b"  \n")
    assert not payloads.is_cleared_command(b"auto")


@pytest.mark.parametrize(
    ("url", "tls", "mqtt5", "port"),
    [
        ("mqtt://h", False, False, 1883),
        ("mqtt5://u:p@h", False, True, 1883),
        ("mqtts5://h", True, True, 8883),
        ("mqtts://h:9", True, False, 9),
    ],
)
def test_mqtt5_from_the_url(url: str, tls: bool, mqtt5: bool, port: int) -> None:
    broker = parse_broker_url(url)
    assert (broker.tls, broker.mqtt5, broker.port) == (tls, mqtt5, port)
    assert broker.redacted().startswith(url.split("://")[0] + "://")

"""The discovery keys Home Assistant documents for each MQTT platform, and its binary sensor device classes.

Source: the "Configuration Variables" of https://www.home-assistant.io/integrations/sensor.mqtt/,
binary_sensor.mqtt/, number.mqtt/, select.mqtt/ and fan.mqtt/, and the device classes of
https://www.home-assistant.io/integrations/binary_sensor/ (read November 2026). The entity options that
every MQTT platform shares are listed once.
"""

from __future__ import annotations

COMMON = frozenset(
    {
        "availability", "availability_mode", "availability_template", "availability_topic",
        "payload_available", "payload_not_available", "device", "origin", "enabled_by_default", "encoding",
        "entity_category", "entity_picture", "icon", "json_attributes_template", "json_attributes_topic",
        "name", "object_id", "default_entity_id", "unique_id", "qos", "platform",
    }
)  # fmt: skip

PLATFORM_KEYS: dict[str, frozenset[str]] = {
    "sensor": COMMON
    | {
        "state_topic", "value_template", "device_class", "state_class", "unit_of_measurement",
        "suggested_display_precision", "expire_after", "force_update", "last_reset_value_template", "options",
    },
    "binary_sensor": COMMON
    | {
        "state_topic", "value_template", "device_class", "expire_after", "force_update", "off_delay",
        "payload_on", "payload_off",
    },
    "number": COMMON
    | {
        "command_topic", "command_template", "state_topic", "value_template", "min", "max", "step", "mode",
        "unit_of_measurement", "device_class", "optimistic", "retain", "payload_reset",
    },
    "select": COMMON
    | {"command_topic", "command_template", "state_topic", "value_template", "options", "optimistic", "retain"},
    "fan": COMMON
    | {
        "command_topic", "command_template", "state_topic", "state_value_template", "payload_on", "payload_off",
        "percentage_command_topic", "percentage_command_template", "percentage_state_topic",
        "percentage_value_template", "speed_range_min", "speed_range_max", "payload_reset_percentage",
        "preset_modes", "preset_mode_command_topic", "preset_mode_command_template", "preset_mode_state_topic",
        "preset_mode_value_template", "payload_reset_preset_mode", "optimistic", "retain",
    },
}  # fmt: skip

REQUIRED: dict[str, frozenset[str]] = {
    "sensor": frozenset({"state_topic"}),
    "binary_sensor": frozenset({"state_topic"}),
    "number": frozenset({"command_topic"}),
    "select": frozenset({"command_topic", "options"}),
    "fan": frozenset({"command_topic"}),
}

DEVICE_KEYS = frozenset(
    {
        "configuration_url", "connections", "hw_version", "identifiers", "manufacturer", "model", "model_id",
        "name", "serial_number", "suggested_area", "sw_version", "via_device",
    }
)  # fmt: skip
ORIGIN_KEYS = frozenset({"name", "sw_version", "support_url"})

BINARY_SENSOR_DEVICE_CLASSES = frozenset(
    {
        "battery", "battery_charging", "carbon_monoxide", "cold", "connectivity", "door", "garage_door", "gas",
        "heat", "light", "lock", "moisture", "motion", "moving", "occupancy", "opening", "plug", "power",
        "presence", "problem", "running", "safety", "smoke", "sound", "tamper", "update", "vibration", "window",
    }
)  # fmt: skip

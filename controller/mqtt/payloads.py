"""Pure codecs between the controller's records and MQTT topics and payloads: state, per-value topics,
alert events, the active-alert list, commands and Home Assistant discovery. No I/O."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime

from controller.alarm_catalogue import ALARMS, AlarmRow
from controller.commands import (
    SETTINGS,
    SETTINGS_BY_NAME,
    Command,
    CommandLimits,
    CommandName,
    SetMode,
    SetSpeed,
    Setting,
    parse_command,
)
from controller.errors import ConfigError
from controller.metrics import METRICS, Metric
from controller.snapshot import Alert, Event, EventKind, Mode, Snapshot

ONLINE = b"online"
OFFLINE = b"offline"
FAN_COMMAND = "fan"
"""The Home Assistant fan's on/off topic: ON returns to automatic control, OFF sets the speed to 0 %."""

UNITS: dict[str, str | None] = {m.key: m.unit.home_assistant for m in METRICS}


@dataclass(frozen=True, slots=True)
class Topics:
    """Every topic the controller uses, derived from the base topic and the discovery prefix."""

    base: str
    discovery_prefix: str

    @property
    def availability(self) -> str:
        """`online` (retained) while connected, `offline` as the retained last will."""
        return f"{self.base}/availability"

    @property
    def state(self) -> str:
        """One retained JSON object per publish interval."""
        return f"{self.base}/state"

    @property
    def alert(self) -> str:
        """QoS 1 alert events (raised and cleared)."""
        return f"{self.base}/alert"

    @property
    def alerts(self) -> str:
        """The retained list of active alerts."""
        return f"{self.base}/alerts"

    @property
    def event(self) -> str:
        """QoS 1 events that are not alerts (commands, mode changes, plan updates)."""
        return f"{self.base}/event"

    @property
    def error(self) -> str:
        """QoS 1 rejected commands, with the reason."""
        return f"{self.base}/error"

    @property
    def command_filter(self) -> str:
        """The subscription for every command topic."""
        return f"{self.base}/set/+"

    @property
    def birth(self) -> str:
        """Where Home Assistant announces itself online."""
        return f"{self.discovery_prefix}/status"

    def command(self, name: str) -> str:
        """The topic of one command."""
        return f"{self.base}/set/{name}"

    def command_name(self, topic: str) -> str | None:
        """The command a topic addresses, or None when it is not a command topic."""
        prefix = f"{self.base}/set/"
        return topic[len(prefix) :] if topic.startswith(prefix) and "/" not in topic[len(prefix) :] else None

    def metric(self, key: str) -> str:
        """The per-value topic of one metric (plain text number)."""
        return f"{self.base}/{key}"


def _finite(data: object) -> object:
    """JSON has no NaN or infinity: they become null (unknown)."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_finite(v) for v in data]
    return data


def _json(data: object) -> bytes:
    try:
        return json.dumps(data, separators=(",", ":"), allow_nan=False).encode()
    except ValueError:
        return json.dumps(_finite(data), separators=(",", ":"), allow_nan=False).encode()


def state_payload(snapshot: Snapshot, last_command: dict[str, object] | None) -> bytes:
    """The retained state: every snapshot value (names carry units), a units table and the last command."""
    data = snapshot.to_dict()
    data["units"] = UNITS
    data["last_command"] = last_command
    return _json(data)


def metric_payloads(snapshot: Snapshot) -> dict[str, bytes]:
    """Per-value topics' payloads (key -> text), rounded to each metric's precision; `null` when unknown."""
    out: dict[str, bytes] = {}
    for metric in METRICS:
        value = metric.value(snapshot)
        known = value is not None and math.isfinite(value)
        out[metric.key] = f"{value:.{metric.precision}f}".encode() if known else b"null"
    out["mode"] = snapshot.mode.value.encode()
    return out


def alerts_payload(alerts: tuple[Alert, ...]) -> bytes:
    """The retained list of active alerts."""
    return _json([a.to_dict() for a in alerts])


def event_payload(event: Event, controller_id: str) -> bytes:
    """One event as JSON: kind, severity, message, values, timestamp (and the alert kind for alerts)."""
    data = event.to_dict()
    data["controller_id"] = controller_id
    if event.kind in (EventKind.ALERT_RAISED, EventKind.ALERT_CLEARED):
        data["event"] = "raised" if event.kind is EventKind.ALERT_RAISED else "cleared"
        data["kind"] = event.alert_kind.value if event.alert_kind else None
        data["timestamp"] = data["timestamp_utc"]
    return _json(data)


def is_alert_event(event: Event) -> bool:
    """Alert events go to the alert topic; the rest to the event topic."""
    return event.kind in (EventKind.ALERT_RAISED, EventKind.ALERT_CLEARED)


MAX_COMMAND_PAYLOAD_BYTES = 1024
"""Longest command payload read; longer ones are refused before decoding."""


def is_cleared_command(payload: bytes) -> bool:
    """An empty message on a command topic: how a user clears a retained one; it is no command."""
    return not payload.strip()


def parse_command_message(name: str, payload: bytes, source: str, limits: CommandLimits | None = None) -> Command:
    """A command from an MQTT message, in the range `limits` give; ConfigError says what is wrong with the
    topic or the payload."""
    if len(payload) > MAX_COMMAND_PAYLOAD_BYTES:
        raise ConfigError(source, name, payload[:64], f"a payload of at most {MAX_COMMAND_PAYLOAD_BYTES} bytes")
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise ConfigError(source, name, payload[:64], "a UTF-8 text payload") from exc
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    if name == FAN_COMMAND:
        if text.upper() == "ON":
            return SetMode(Mode.AUTO)
        if text.upper() == "OFF":
            return SetSpeed(0.0)
        raise ConfigError(source, name, text, "ON (automatic control) or OFF (speed 0 %)")
    names = ", ".join([*(c.value for c in CommandName), FAN_COMMAND])
    if name not in {c.value for c in CommandName}:
        raise ConfigError(source, name, text, f"a command topic among {names}")
    return parse_command(name, text, source, limits)


def command_ack(name: str, payload: bytes, accepted: bool, message: str, when: datetime) -> dict[str, object]:
    """The acknowledgement kept in the state (`last_command`) and sent on the error topic when rejected."""
    return {
        "command": name,
        "payload": payload.decode("utf-8", errors="replace")[:200],
        "accepted": accepted,
        "message": message,
        "timestamp_utc": when.isoformat(),
    }


def ack_payload(ack: dict[str, object]) -> bytes:
    """A command acknowledgement as JSON (for the error topic)."""
    return _json(ack)


def node_id(controller_id: str) -> str:
    """Home Assistant's node id: letters, digits, '_' and '-' only."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"cleanroom_{controller_id}")


def _rounded(key: str, precision: int) -> str:
    """A value template that rounds to the metric's meaningful precision; an unknown value renders as
    `None`, which Home Assistant shows as unknown."""
    value = f"value_json.{key}"
    return f"{{{{ {value} | round({precision}) if {value} is not none else none }}}}"


def _sensor(metric: Metric, topics: Topics) -> dict[str, object]:
    sensor = {
        "name": metric.label,
        "state_topic": topics.state,
        "value_template": _rounded(metric.key, metric.precision),
        "suggested_display_precision": metric.precision,
        "unit_of_measurement": metric.unit.home_assistant,
        "device_class": metric.device_class,
        "state_class": metric.state_class,
        "icon": metric.icon,
    }
    return {key: value for key, value in sensor.items() if value is not None}


def _control(setting: Setting, topics: Topics, limits: CommandLimits) -> dict[str, object]:
    """A select (options) or number (min, max, step and unit given the configuration) for one setting."""
    config: dict[str, object] = {
        "name": setting.label,
        "command_topic": topics.command(setting.name.value),
        "state_topic": topics.state,
        "value_template": f"{{{{ value_json.{setting.state_field} }}}}",
        "qos": 1,
    }
    if setting.options:
        config["options"] = list(setting.options)
    span = setting.range(limits)
    if setting.entity == "number" and span is not None and setting.unit is not None:
        low, high = span
        config |= {"min": low, "max": high, "step": setting.step, "mode": "box"}
        config["unit_of_measurement"] = setting.unit.home_assistant
    if setting.device_class is not None:
        config["device_class"] = setting.device_class
    if setting.icon is not None:
        config["icon"] = setting.icon
    return config


def _fan(topics: Topics) -> dict[str, object]:
    """The fan entity: on/off, the speed setting as its percentage, the mode setting's options as presets."""
    speed, mode = SETTINGS_BY_NAME[CommandName.SPEED], SETTINGS_BY_NAME[CommandName.MODE]
    low, high = speed.range(CommandLimits()) or (0.0, 100.0)
    return {
        "name": "Fan",
        "command_topic": topics.command(FAN_COMMAND),
        "state_topic": topics.state,
        "state_value_template": f"{{{{ 'ON' if value_json.{speed.state_field} > 0 else 'OFF' }}}}",
        "percentage_command_topic": topics.command(speed.name.value),
        "percentage_state_topic": topics.state,
        "percentage_value_template": f"{{{{ value_json.{speed.state_field} | round(0) | int }}}}",
        "speed_range_min": max(1, round(low)),
        "speed_range_max": round(high),
        "preset_modes": list(mode.options),
        "preset_mode_command_topic": topics.command(mode.name.value),
        "preset_mode_state_topic": topics.state,
        "preset_mode_value_template": f"{{{{ value_json.{mode.state_field} }}}}",
        "qos": 1,
    }


def _alarm(row: AlarmRow, topics: Topics) -> dict[str, object]:
    """A binary sensor that is on while an alert of the row's kind is active; its attributes are the alert."""
    kind = row.kind.value
    selected = f"value_json | selectattr('kind', 'equalto', '{kind}') | list"
    config: dict[str, object] = {
        "name": row.label,
        "state_topic": topics.alerts,
        "value_template": f"{{{{ 'ON' if {selected} | length > 0 else 'OFF' }}}}",
        "json_attributes_topic": topics.alerts,
        "json_attributes_template": f"{{{{ ({selected} + [{{}}]) | first | tojson }}}}",
        "device_class": row.device_class,
    }
    if row.diagnostic:
        config["entity_category"] = "diagnostic"
    return config


def discovery_messages(
    topics: Topics, controller_id: str, version: str, limits: CommandLimits | None = None
) -> list[tuple[str, bytes]]:
    """Home Assistant discovery configs (topic, retained JSON), all on one device and the availability
    topic: a sensor per metric row, a fan, a select or number per settable row that has an entity (ranges
    given `limits`, the configuration's) and a binary sensor per alarm row."""
    node = node_id(controller_id)
    device = {
        "identifiers": [node],
        "name": f"Clean room {controller_id}",
        "manufacturer": "cleanroom",
        "model": "Battery-backed clean room controller",
        "sw_version": version,
    }
    common: dict[str, object] = {
        "availability_topic": topics.availability,
        "payload_available": ONLINE.decode(),
        "payload_not_available": OFFLINE.decode(),
        "device": device,
        "origin": {"name": "cleanroom", "sw_version": version},
    }
    entities: list[tuple[str, str, dict[str, object]]] = [
        *(("sensor", m.key, _sensor(m, topics)) for m in METRICS),
        ("fan", "fan", _fan(topics)),
        *((s.entity, s.name.value, _control(s, topics, limits or CommandLimits())) for s in SETTINGS if s.entity),
        *(("binary_sensor", f"alert_{row.kind.value}", _alarm(row, topics)) for row in ALARMS),
    ]
    return [
        (
            f"{topics.discovery_prefix}/{component}/{node}/{object_id}/config",
            _json({**config, **common, "unique_id": f"{node}_{object_id}"}),
        )
        for component, object_id, config in entities
    ]

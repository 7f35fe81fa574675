"""The `[mqtt]` section, the broker URL, and the pure payload codecs (no broker needed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from controller.clock import SimulatedClock
from controller.commands import SetMode, SetSpeed
from controller.config.reader import Table
from controller.errors import ConfigError
from controller.metrics import METRICS
from controller.mqtt.config import MqttSection, parse_broker_url, parse_mqtt
from controller.mqtt.payloads import (
    Topics,
    discovery_messages,
    metric_payloads,
    parse_command_message,
    state_payload,
)
from controller.mqtt.sink import build_mqtt_sink
from controller.snapshot import AlertKind, Mode
from drivers.runtime import backoff_delay
from tests.mqtt.mqtt_rig import make_snapshot


def test_parse_mqtt_defaults_and_values() -> None:
    assert parse_mqtt(Table({}, "cleanroom.toml", "mqtt.")) == MqttSection()
    section = parse_mqtt(
        Table(
            {
                "url": "mqtts://u:p@broker.lan",
                "base_topic": "house/cleanroom/{id}",
                "protocol": "5",
                "publish_interval": "10 s",
                "discovery": False,
                "tls_ca_file": "/etc/ssl/ca.pem",
            },
            "cleanroom.toml",
            "mqtt.",
        )
    )
    assert section.protocol == "5"
    assert section.publish_interval_s == 10.0
    assert section.discovery is False
    assert section.base_topic == "house/cleanroom/{id}"


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"url": "http://broker:1883"}, "mqtt.url"),
        ({"protocol": "4"}, "mqtt.protocol"),
        ({"base_topic": "cleanroom/#"}, "mqtt.base_topic"),
        ({"publish_interval": "5 Pa"}, "mqtt.publish_interval"),
        ({"reconnect_min": "10 s", "reconnect_max": "1 s"}, "mqtt.reconnect_max"),
        ({"brokr": "x"}, "mqtt.brokr"),
    ],
)
def test_parse_mqtt_rejects_bad_values(data: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_mqtt(Table(data, "cleanroom.toml", "mqtt."))
    assert info.value.key == key


def test_broker_urls() -> None:
    plain = parse_broker_url("mqtt://broker.lan")
    assert (plain.host, plain.port, plain.tls) == ("broker.lan", 1883, False)
    assert (plain.username, plain.password) == (None, None)
    tls = parse_broker_url("mqtts://cleanroom:s%40cret@10.0.0.2")
    assert (tls.port, tls.tls, tls.username, tls.password) == (8883, True, "cleanroom", "s@cret")
    assert "s@cret" not in tls.redacted()
    assert parse_broker_url("mqtt://127.0.0.1:2883").port == 2883


@pytest.mark.parametrize(
    "url", ["broker.lan:1883", "tcp://broker:1883", "mqtt://", "mqtt://host:99999", "mqtt://host/topic", "mqtt://h:x"]
)
def test_bad_broker_url_names_value_and_expected_form(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_broker_url(url)
    message = str(info.value)
    assert "mqtt://[user[:password]@]host[:port]" in message
    assert "--mqtt" in message


def test_bad_url_error_hides_the_password() -> None:
    with pytest.raises(ConfigError) as info:
        parse_broker_url("mqtt://user:hunter2@host:notaport")
    assert "hunter2" not in str(info.value)
    assert "user:***@host" in str(info.value)


def test_build_sink_checks_the_controller_id_and_topics() -> None:
    clock = SimulatedClock(make_snapshot(0).timestamp_utc)
    with pytest.raises(ConfigError, match="controller id"):
        build_mqtt_sink("mqtt://localhost", "room/1", MqttSection(), clock)
    with pytest.raises(ConfigError, match="controller id"):
        build_mqtt_sink("mqtt://localhost", "room+", MqttSection(), clock)
    sink = build_mqtt_sink("mqtt://localhost", "room1", MqttSection(), clock)
    assert sink.topics.state == "cleanroom/room1/state"
    assert sink.client_id == "cleanroom-room1"
    custom = build_mqtt_sink("mqtt://localhost", "r2", MqttSection(base_topic="home/{id}/air", client_id="x"), clock)
    assert custom.topics.availability == "home/r2/air/availability"
    assert custom.client_id == "x"


def test_backoff_is_capped_jittered_and_grows() -> None:
    import random

    rng = random.Random(7)
    delays = [backoff_delay(n, 1.0, 60.0, rng) for n in range(12)]
    assert all(1.0 <= d <= 60.0 for d in delays)
    assert max(delays[:2]) <= 2.0
    assert len({round(d, 6) for d in delays}) == len(delays), "jitter"
    assert max(backoff_delay(40, 1.0, 60.0, rng) for _ in range(200)) > 30.0


def test_command_messages() -> None:
    assert parse_command_message("mode", b"eco", "t") == SetMode(Mode.ECO)
    assert parse_command_message("speed", b'"40 %"', "t") == SetSpeed(40.0)
    assert parse_command_message("fan", b"OFF", "t") == SetSpeed(0.0)
    assert parse_command_message("fan", b"on", "t") == SetMode(Mode.AUTO)
    with pytest.raises(ConfigError, match="percentage from 0 to 100"):
        parse_command_message("speed", b"fast", "t")
    with pytest.raises(ConfigError, match="UTF-8"):
        parse_command_message("mode", b"\xff\xfe", "t")
    with pytest.raises(ConfigError, match="a command topic among"):
        parse_command_message("reboot", b"now", "t")


def test_discovery_payloads_follow_the_metrics_table() -> None:
    topics = Topics("cleanroom/room1", "homeassistant")
    messages = dict(discovery_messages(topics, "room1", "0.1.0"))
    configs = {topic: json.loads(body) for topic, body in messages.items()}
    soc = configs["homeassistant/sensor/cleanroom_room1/soc_pct/config"]
    assert soc["device_class"] == "battery"
    assert soc["unit_of_measurement"] == "%"
    assert soc["state_topic"] == "cleanroom/room1/state"
    assert soc["availability_topic"] == "cleanroom/room1/availability"
    assert len([t for t in configs if "/sensor/" in t]) == len(METRICS)
    flow = configs["homeassistant/sensor/cleanroom_room1/flow_cfm/config"]
    assert flow["device_class"] == "volume_flow_rate"
    fan = configs["homeassistant/fan/cleanroom_room1/fan/config"]
    assert fan["percentage_command_topic"] == "cleanroom/room1/set/speed"
    assert fan["preset_modes"] == [m.value for m in Mode]
    select = configs["homeassistant/select/cleanroom_room1/mode/config"]
    assert select["command_topic"] == "cleanroom/room1/set/mode"
    alerts = [c for t, c in configs.items() if "/binary_sensor/" in t]
    assert len(alerts) == len(AlertKind)
    low = configs["homeassistant/binary_sensor/cleanroom_room1/alert_pressure_low/config"]
    assert low["state_topic"] == low["json_attributes_topic"] == "cleanroom/room1/alerts"
    assert "'pressure_low'" in low["value_template"]
    assert configs["homeassistant/binary_sensor/cleanroom_room1/alert_shunt_stale/config"]["entity_category"] == (
        "diagnostic"
    )
    assert {json.dumps(c["device"], sort_keys=True) for c in configs.values()} == {
        json.dumps(soc["device"], sort_keys=True)
    }
    assert len({c["unique_id"] for c in configs.values()}) == len(configs)


def test_metric_payloads_use_each_metrics_precision() -> None:
    payloads = metric_payloads(make_snapshot(0, fan_rpm=None))
    assert payloads["soc_pct"] == b"83.2"
    assert payloads["voltage_v"] == b"13.15"
    assert payloads["fan_rpm"] == b"null"
    assert payloads["mode"] == b"auto"


def test_non_finite_values_are_published_as_null() -> None:
    snap = make_snapshot(0, runtime_now_s=float("inf"), pressure_pa=float("nan"))
    assert metric_payloads(snap)["runtime_now_s"] == b"null"
    assert metric_payloads(snap)["pressure_pa"] == b"null"
    data = json.loads(state_payload(snap, None))
    assert data["runtime_now_s"] is None
    assert data["pressure_pa"] is None
    assert data["soc_pct"] == 83.2


def _render(template: str, payload: bytes) -> str:
    """Render a discovery template the way Home Assistant does: Jinja2 with `value_json` (sandboxed)."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment().from_string(template).render(value_json=json.loads(payload)).strip()


def test_discovery_templates_render_against_real_payloads() -> None:
    from controller.mqtt.payloads import alerts_payload
    from controller.snapshot import Alert, Severity

    topics = Topics("cleanroom/room1", "homeassistant")
    configs = {t: json.loads(b) for t, b in discovery_messages(topics, "room1", "0.1.0")}
    snap = make_snapshot(0, fan_rpm=None)
    state = state_payload(snap, None)
    for metric in METRICS:
        config = configs[f"homeassistant/sensor/cleanroom_room1/{metric.key}/config"]
        value = metric.value(snap)
        # Home Assistant reads the text "None" as unknown; values are rounded to the metric's precision
        rounded = None if value is None else round(value, metric.precision)
        assert _render(config["value_template"], state) == str(rounded)
    fan = configs["homeassistant/fan/cleanroom_room1/fan/config"]
    assert _render(fan["state_value_template"], state) == "ON"
    assert _render(fan["percentage_value_template"], state) == "42"
    assert _render(fan["preset_mode_value_template"], state) == "auto"
    assert _render(configs["homeassistant/select/cleanroom_room1/mode/config"]["value_template"], state) == "auto"
    number = configs["homeassistant/number/cleanroom_room1/pressure_floor/config"]
    assert _render(number["value_template"], state) == "5.0"

    when = make_snapshot(0).timestamp_utc
    alert = Alert(AlertKind.PRESSURE_LOW, Severity.CRITICAL, "Room pressure low: 1.0 Pa", when)
    active = alerts_payload((alert,))
    low = configs["homeassistant/binary_sensor/cleanroom_room1/alert_pressure_low/config"]
    soc = configs["homeassistant/binary_sensor/cleanroom_room1/alert_battery_low_soc/config"]
    assert _render(low["value_template"], active) == "ON"
    assert _render(soc["value_template"], active) == "OFF"
    assert json.loads(_render(low["json_attributes_template"], active))["message"] == "Room pressure low: 1.0 Pa"
    assert json.loads(_render(soc["json_attributes_template"], active)) == {}
    assert _render(low["value_template"], alerts_payload(())) == "OFF"


def test_tls_ca_file_must_exist_and_needs_mqtts(tmp_path: Path) -> None:
    clock = SimulatedClock(datetime(2026, 11, 22, tzinfo=UTC))
    with pytest.raises(ConfigError, match="tls_ca_file"):
        build_mqtt_sink("mqtts://broker", "room1", MqttSection(tls_ca_file=str(tmp_path / "nope.pem")), clock)
    ca = tmp_path / "ca.pem"
    ca.write_text("")
    with pytest.raises(ConfigError, match="mqtts://"):
        build_mqtt_sink("mqtt://broker", "room1", MqttSection(tls_ca_file=str(ca)), clock)

"""MQTT: retained state and per-value topics, alerts, commands and Home Assistant discovery."""

from controller.mqtt.config import BrokerUrl, MqttSection, parse_broker_url, parse_mqtt
from controller.mqtt.sink import MqttSink, build_mqtt_sink

__all__ = ["BrokerUrl", "MqttSection", "MqttSink", "build_mqtt_sink", "parse_broker_url", "parse_mqtt"]

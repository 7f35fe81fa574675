"""MQTT: retained state and per-value topics, alerts, commands and Home Assistant discovery.

The sink lives in controller.mqtt.sink and the [mqtt] section in controller.mqtt.config; nothing is
re-exported here, so that reading the configuration does not import aiomqtt.
"""

"""The aiomqtt client for a broker URL and the `[mqtt]` section (kept apart so configuration loads without
importing aiomqtt)."""

from __future__ import annotations

import socket

import aiomqtt

from controller.mqtt import payloads
from controller.mqtt.config import BrokerUrl, MqttSection


def client_for(broker: BrokerUrl, section: MqttSection, client_id: str, availability_topic: str) -> aiomqtt.Client:
    """A client with the last will `offline` on the availability topic, TLS when the URL asks for it."""
    tls_params = aiomqtt.TLSParameters(ca_certs=section.tls_ca_file) if broker.tls else None
    v5 = section.protocol == "5" or broker.mqtt5
    return aiomqtt.Client(
        broker.host,
        broker.port,
        username=broker.username,
        password=broker.password,
        identifier=client_id,
        protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
        clean_session=None if v5 else True,
        will=aiomqtt.Will(availability_topic, payloads.OFFLINE, qos=1, retain=True),
        keepalive=max(5, round(section.keepalive_s)),
        timeout=section.timeout_s,
        tls_params=tls_params,
        tls_insecure=section.tls_insecure if broker.tls else None,
        # Nagle would hold a QoS 1 alert until the broker's delayed ACK of the state just sent (~40 ms)
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
    )

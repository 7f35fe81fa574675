"""Why the broker connection failed or ended, in plain words, for the log and the health endpoint.

aiomqtt hands on three kinds of failure: a CONNACK or DISCONNECT reason code (paho's `ReasonCode`, the same
numbers for MQTT 5 and for MQTT 3.1.1, whose CONNACK codes 1-5 paho maps onto them), a paho client error
code (`MQTTErrorCode`: not connected, connection lost, keepalive...) from a publish or a subscribe, and a
socket error turned into text (refused, DNS, timeout, TLS). Each is one row below; only a refused login
or a refused authorisation is called a login problem.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiomqtt
from aiomqtt.exceptions import MqttConnectError
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode


@dataclass(frozen=True, slots=True)
class Reason:
    """What went wrong, and whether the user name, password or authorisation is the cause."""

    text: str
    login: bool = False


_LOST = Reason("the connection was lost (the broker stopped or closed it, or the network dropped)")

REASON_CODES: dict[int, Reason] = {
    128: _LOST,  # "Unspecified error": how paho reports a closed socket
    129: Reason("the broker received a malformed packet"),
    130: Reason("protocol error between the client and the broker"),
    131: Reason("the broker refused the connection for its own reasons (implementation specific error)"),
    132: Reason("the broker does not speak this MQTT version (try mqtt:// for 3.1.1 or mqtt5:// for 5)"),
    133: Reason("the broker refused the client id (set [mqtt] client_id)"),
    134: Reason("the broker refused the login: bad user name or password", login=True),
    135: Reason(
        "the broker refused the login: not authorised (a wrong user name or password, or a user it does not"
        " allow: Mosquitto answers both this way)",
        login=True,
    ),
    136: Reason("the broker says it is unavailable"),
    137: Reason("the broker is busy"),
    138: Reason("the broker banned this client", login=True),
    139: Reason("the broker is shutting down"),
    140: Reason("the broker refused the authentication method", login=True),
    141: Reason("keepalive timeout: no packet from the client within the keepalive"),
    142: Reason("another client connected with the same client id and took the session over"),
    149: Reason("a packet was larger than the broker accepts"),
    151: Reason("a broker quota was exceeded"),
    153: Reason("the broker refused a payload's format"),
    156: Reason("the broker asks to use another server"),
    157: Reason("the broker moved to another server"),
    159: Reason("the broker refused the connection: too many connections too fast"),
}
"""MQTT 5 reason codes (CONNACK and DISCONNECT) that end a connection."""

CONNACK_V311: dict[int, int] = {1: 132, 2: 133, 3: 136, 4: 134, 5: 135}
"""MQTT 3.1.1 CONNACK return codes, as the MQTT 5 reason code of the same meaning."""

CLIENT_ERRORS: dict[int, Reason] = {
    MQTTErrorCode.MQTT_ERR_NO_CONN: Reason("not connected: the connection to the broker was lost"),
    MQTTErrorCode.MQTT_ERR_CONN_LOST: _LOST,
    MQTTErrorCode.MQTT_ERR_CONN_REFUSED: Reason("the broker refused the connection"),
    MQTTErrorCode.MQTT_ERR_KEEPALIVE: Reason("the broker did not answer within the keepalive"),
    MQTTErrorCode.MQTT_ERR_PROTOCOL: Reason("protocol error between the client and the broker"),
    MQTTErrorCode.MQTT_ERR_TLS: Reason("TLS error on the connection to the broker"),
    MQTTErrorCode.MQTT_ERR_AUTH: Reason("the broker refused the authentication", login=True),
    MQTTErrorCode.MQTT_ERR_ACL_DENIED: Reason("the broker's ACL denies this topic", login=True),
    MQTTErrorCode.MQTT_ERR_PAYLOAD_SIZE: Reason("a payload was too large for the broker"),
    MQTTErrorCode.MQTT_ERR_QUEUE_SIZE: Reason("the client's outgoing queue is full"),
}
"""paho's own error codes (a publish or subscribe on a connection that ended): NOT CONNACK codes, although
some share their numbers (4 is "not connected" here, "bad user name or password" in a CONNACK)."""

SOCKET_TEXTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("connection refused", "errno 111"), "connection refused: nothing listens at {where} (is the broker running?)"),
    (
        (
            "name or service not known",
            "temporary failure in name resolution",
            "nodename nor servname",
            "errno -2",
            "errno -3",
            "errno -5",
            "no address associated",
        ),
        "the host name {host} cannot be resolved (DNS)",
    ),
    (("network is unreachable", "no route to host"), "no network route to {where}"),
    (("connection reset",), "the broker at {where} reset the connection"),
    (("certificate",), "TLS: the broker's certificate is not trusted (set [mqtt] tls_ca_file)"),
    (("ssl", "tls"), "TLS handshake with {where} failed"),
    (("timed out", "timeout"), "no answer from {where} within the timeout"),
    (("broken pipe",), "the connection to {where} was closed while sending"),
    (("disconnected", "stream ended"), _LOST.text),
)
"""Text of a socket error (aiomqtt keeps only its text), matched in order, lower case."""


def _code_value(rc: object) -> int | None:
    if isinstance(rc, ReasonCode):
        return int(rc.value)
    return rc if isinstance(rc, int) else None


def describe(exc: BaseException, host: str, port: int) -> Reason:
    """The plain reason for an aiomqtt error (a disconnect's cause when aiomqtt wraps it)."""
    cause = exc.__cause__ if isinstance(exc.__cause__, aiomqtt.MqttError) else None
    if cause is not None and not isinstance(exc, aiomqtt.MqttCodeError):
        return describe(cause, host, port)
    if isinstance(exc, aiomqtt.MqttCodeError):
        code = _code_value(exc.rc)
        if isinstance(exc, MqttConnectError) and code == 128:
            return Reason("the broker refused the connection (unspecified error)")
        if isinstance(exc.rc, ReasonCode) and code in REASON_CODES:
            return REASON_CODES[code]
        if isinstance(exc, MqttConnectError) and code in CONNACK_V311:
            return REASON_CODES[CONNACK_V311[code]]
        if code is not None and code in CLIENT_ERRORS:
            return CLIENT_ERRORS[code]
    text = str(exc).lower()
    where = f"{host}:{port}"
    for needles, message in SOCKET_TEXTS:
        if any(needle in text for needle in needles):
            return Reason(message.format(where=where, host=host))
    return Reason(f"{exc} (at {where})")

"""The log names the real reason the broker connection failed or ended, against a real Mosquitto started by
the test: a wrong password, a client the broker does not authorise, a broker that is not running, a host
name that does not resolve, and a broker stopped under a connected client (which is NOT a login problem)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiomqtt
import pytest
from aiomqtt.exceptions import MqttConnectError
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from controller.clock import SimulatedClock
from controller.command_bus import CommandBus
from controller.hub import SnapshotHub
from controller.mqtt.config import MqttSection
from controller.mqtt.reasons import describe
from controller.mqtt.sink import MqttSink, build_mqtt_sink
from drivers.fakes.stalling_proxy import StallingProxy
from tests.eventually import eventually
from tests.mqtt.mqtt_rig import T0, Mosquitto, free_port, get_retained

FAST = MqttSection(publish_interval_s=0.0, reconnect_min_s=0.05, reconnect_max_s=0.3, timeout_s=3.0, keepalive_s=5.0)


@contextlib.asynccontextmanager
async def sink_at(url: str) -> AsyncIterator[MqttSink]:
    hub = SnapshotHub()
    sink = build_mqtt_sink(url, "room1", FAST, SimulatedClock(T0))
    task = asyncio.create_task(sink.run(hub, CommandBus()))
    try:
        yield sink
    finally:
        hub.close()
        await asyncio.wait_for(task, 10)


def _logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("controller.mqtt") and "MQTT broker" in r.getMessage()]


async def _first_failure(url: str, caplog: pytest.LogCaptureFixture) -> logging.LogRecord:
    caplog.clear()
    async with sink_at(url) as sink:
        await eventually(lambda: sink.stats.last_error is not None, timeout_s=15.0)
        assert sink.stats.connects == 0
    (record, *_) = _logged(caplog)
    return record


@pytest.fixture
def with_users(tmp_path: Path) -> Iterator[Mosquitto]:
    broker = Mosquitto(tmp_path, users={"cleanroom": "s3cret-pw"})
    broker.start()
    yield broker
    broker.stop()


async def test_wrong_password_and_not_authorised_are_login_errors(
    with_users: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="controller.mqtt")
    port = with_users.port
    wrong = await _first_failure(f"mqtt://cleanroom:wrong-pw@127.0.0.1:{port}", caplog)
    assert "refused the login: not authorised (a wrong user name or password" in wrong.getMessage()
    assert wrong.levelno == logging.ERROR
    assert "wrong-pw" not in caplog.text
    anonymous = await _first_failure(f"mqtt://127.0.0.1:{port}", caplog)
    assert "refused the login: not authorised" in anonymous.getMessage()
    assert anonymous.levelno == logging.ERROR
    v5 = await _first_failure(f"mqtt5://cleanroom:wrong-pw@127.0.0.1:{port}", caplog)
    assert "refused the login" in v5.getMessage()


async def test_a_broker_that_is_not_running_is_a_refused_connection(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="controller.mqtt")
    port = free_port()
    record = await _first_failure(f"mqtt://127.0.0.1:{port}", caplog)
    assert f"connection refused: nothing listens at 127.0.0.1:{port}" in record.getMessage()
    assert record.levelno == logging.WARNING
    assert "password" not in record.getMessage()


async def test_a_host_name_that_does_not_resolve(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="controller.mqtt")
    record = await _first_failure("mqtt://no-such-broker.invalid:1883", caplog)
    assert "the host name no-such-broker.invalid cannot be resolved (DNS)" in record.getMessage()


async def test_a_broker_stopped_under_a_connected_client_is_a_lost_connection(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="controller.mqtt")
    broker = Mosquitto(tmp_path, users={"cleanroom": "s3cret-pw"})
    broker.start()
    try:
        async with sink_at(f"mqtt://cleanroom:s3cret-pw@127.0.0.1:{broker.port}") as sink:
            await eventually(lambda: sink.stats.connected, timeout_s=15.0)
            online = await get_retained(
                broker.port, "cleanroom/room1/availability", username="cleanroom", password="s3cret-pw"
            )
            assert online == b"online"  # the session is set up (subscribed): the broker now stops under it
            broker.stop()
            await eventually(lambda: sink.stats.last_error is not None, timeout_s=15.0)
            messages = [r.getMessage() for r in _logged(caplog)]
            assert messages
            assert "connection was lost" in messages[0], sink.stats.last_error
            assert all("login" not in m for m in messages)
            broker.start()
            await eventually(lambda: sink.stats.connected and sink.stats.connects == 2, timeout_s=15.0)
    finally:
        broker.stop()


@pytest.mark.parametrize(
    ("error", "expected", "login"),
    [
        (aiomqtt.MqttCodeError(MQTTErrorCode.MQTT_ERR_NO_CONN, "Could not publish message"), "not connected", False),
        (aiomqtt.MqttCodeError(MQTTErrorCode.MQTT_ERR_CONN_REFUSED, "x"), "refused the connection", False),
        (aiomqtt.MqttCodeError(ReasonCode(PacketTypes.DISCONNECT, "Keep alive timeout"), "x"), "keepalive", False),
        (aiomqtt.MqttCodeError(ReasonCode(PacketTypes.DISCONNECT, "Session taken over"), "x"), "same client id", False),
        (
            aiomqtt.MqttCodeError(ReasonCode(PacketTypes.DISCONNECT, "Server shutting down"), "x"),
            "shutting down",
            False,
        ),
        (aiomqtt.MqttError("[Errno 104] Connection reset by peer"), "reset the connection", False),
        (MqttConnectError(ReasonCode(PacketTypes.CONNACK, "Bad user name or password")), "bad user name", True),
        (MqttConnectError(4), "bad user name or password", True),
        (MqttConnectError(1), "does not speak this MQTT version", False),
        (aiomqtt.MqttError("timed out"), "no answer from h:1 within the timeout", False),
        (aiomqtt.MqttError("[Errno 101] Network is unreachable"), "no network route to h:1", False),
    ],
)
def test_each_code_is_named(error: aiomqtt.MqttError, expected: str, login: bool) -> None:
    reason = describe(error, "h", 1)
    assert expected in reason.text
    assert reason.login is login


async def test_a_broker_that_stops_answering_is_noticed_and_the_stop_is_not_held(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A broker behind a path that goes silent (a proxy that stops forwarding): the keepalive notices, the
    log says so (not a login problem), reconnects time out instead of hanging, and stopping is bounded."""
    caplog.set_level(logging.DEBUG, logger="controller.mqtt")
    broker = Mosquitto(tmp_path)
    broker.start()
    try:
        with StallingProxy(("127.0.0.1", broker.port)) as proxy:
            async with sink_at(f"mqtt://127.0.0.1:{proxy.port}") as sink:  # stopping is bounded by sink_at's wait
                await eventually(lambda: sink.stats.connected, timeout_s=15.0)
                assert await get_retained(broker.port, "cleanroom/room1/availability") == b"online"
                proxy.stall()
                await eventually(lambda: not sink.stats.connected, timeout_s=60.0, what="the silence noticed")
                await eventually(lambda: len(_logged(caplog)) >= 2, timeout_s=60.0, what="a timed-out reconnect")
            messages = [r.getMessage() for r in _logged(caplog)]
            assert all("login" not in m for m in messages), messages
            assert any("keepalive" in m or "lost" in m for m in messages), messages
            assert any("no answer from 127.0.0.1" in m for m in messages), messages
    finally:
        broker.stop()

"""deploy/mosquitto: the real Mosquitto started with the shipped configuration (port and file paths moved
into tmp_path) refuses anonymous clients and wrong passwords, lets the controller publish under
cleanroom/#, and lets Home Assistant read that and send commands but not forge state."""

from __future__ import annotations

import getpass
import json
import queue
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

REPO = Path(__file__).resolve().parents[2]
CLEANROOM = Path(sys.executable).with_name("cleanroom")
DEPLOY = REPO / "deploy/mosquitto"
PASSWORDS = {"room-1": "controller-secret", "room-2": "other-room-secret", "homeassistant": "ha-secret"}


@dataclass
class Broker:
    port: int
    process: subprocess.Popen[bytes]
    log: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def broker_config(tmp_path: Path, port: int) -> Path:
    """The shipped configuration with only the port and the file locations changed."""
    acl = tmp_path / "cleanroom.acl"
    acl.write_text((DEPLOY / "cleanroom.acl").read_text())
    passwords = tmp_path / "cleanroom.passwd"
    for index, (user, password) in enumerate(PASSWORDS.items()):
        create = ["-c"] if index == 0 else []
        subprocess.run(["mosquitto_passwd", *create, "-b", str(passwords), user, password], check=True)
    text = (DEPLOY / "cleanroom.conf").read_text()
    for old, new in (
        ("\nlistener 1883 127.0.0.1\n", f"\nlistener {port} 127.0.0.1\n"),
        ("/etc/mosquitto/cleanroom.passwd", str(passwords)),
        ("/etc/mosquitto/cleanroom.acl", str(acl)),
    ):
        assert old in text, old
        text = text.replace(old, new)
    # Run as whoever runs the test, so that it can read tmp_path (as root Mosquitto would switch users);
    # log every decision, so that a test can look for refused publishes.
    text += f"\nuser {getpass.getuser()}\npersistence false\nlog_type all\nlog_dest file {tmp_path / 'broker.log'}\n"
    config = tmp_path / "mosquitto.conf"
    config.write_text(text)
    return config


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    port = free_port()
    config = broker_config(tmp_path, port)
    log = (tmp_path / "mosquitto.log").open("wb")
    process = subprocess.Popen(["mosquitto", "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError((tmp_path / "mosquitto.log").read_text()) from None
            time.sleep(0.05)
    yield Broker(port, process, tmp_path / "broker.log")
    process.terminate()
    process.wait(10)
    log.close()


class Session:
    """A paho client that records its CONNACK, SUBACKs and messages in queues."""

    def __init__(self, port: int, user: str | None, password: str | None) -> None:
        self.connacks: queue.Queue[ReasonCode] = queue.Queue()
        self.subacks: queue.Queue[list[ReasonCode]] = queue.Queue()
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, reconnect_on_failure=False)
        if user is not None:
            self.client.username_pw_set(user, password)
        self.client.on_connect = lambda _c, _u, _f, code, _p: self.connacks.put(code)
        self.client.on_subscribe = lambda _c, _u, _m, codes, _p: self.subacks.put(codes)
        self.client.on_message = lambda _c, _u, message: self.messages.put((message.topic, bytes(message.payload)))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.connack = self.connacks.get(timeout=10)

    def subscribe(self, topic: str) -> None:
        self.client.subscribe(topic, qos=1)
        (code,) = self.subacks.get(timeout=10)
        assert not code.is_failure, code

    def publish(self, topic: str, payload: str) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def sessions(broker: Broker) -> Iterator[list[Session]]:
    opened: list[Session] = []
    yield opened
    for session in opened:
        session.close()


def login(sessions: list[Session], broker: Broker, user: str | None, password: str | None = None) -> Session:
    session = Session(broker.port, user, password)
    sessions.append(session)
    return session


def test_anonymous_and_wrong_password_are_refused(broker: Broker, sessions: list[Session]) -> None:
    anonymous = login(sessions, broker, None)
    assert anonymous.connack.is_failure
    assert anonymous.connack.getName() == "Not authorized"
    wrong = login(sessions, broker, "room-1", "guess")
    assert wrong.connack.is_failure
    assert login(sessions, broker, "room-1", PASSWORDS["room-1"]).connack == 0


def test_controller_publishes_home_assistant_reads_and_commands(broker: Broker, sessions: list[Session]) -> None:
    controller = login(sessions, broker, "room-1", PASSWORDS["room-1"])
    assistant = login(sessions, broker, "homeassistant", PASSWORDS["homeassistant"])
    assert controller.connack == 0
    assert assistant.connack == 0

    assistant.subscribe("cleanroom/#")
    controller.publish("cleanroom/room-1/state", '{"soc_pct": 83.2}')
    assert assistant.messages.get(timeout=10) == ("cleanroom/room-1/state", b'{"soc_pct": 83.2}')

    assistant.subscribe("homeassistant/#")
    controller.publish("homeassistant/sensor/cleanroom_room-1/soc/config", "{}")
    assert assistant.messages.get(timeout=10)[0] == "homeassistant/sensor/cleanroom_room-1/soc/config"

    # Messages from one client arrive in order: the forged state, had it passed, would come first.
    controller.subscribe("cleanroom/room-1/#")
    assistant.publish("cleanroom/room-1/state", '{"soc_pct": 100}')
    assistant.publish("cleanroom/room-1/set/mode", "eco")
    assert controller.messages.get(timeout=10) == ("cleanroom/room-1/set/mode", b"eco")
    assert controller.messages.empty()


def test_a_controller_stays_in_its_own_topic_tree(broker: Broker, sessions: list[Session]) -> None:
    """room-2's account can neither forge room-1's state or discovery nor command or read room-1."""
    room1 = login(sessions, broker, "room-1", PASSWORDS["room-1"])
    room2 = login(sessions, broker, "room-2", PASSWORDS["room-2"])
    assistant = login(sessions, broker, "homeassistant", PASSWORDS["homeassistant"])
    assistant.subscribe("cleanroom/#")
    assistant.subscribe("homeassistant/#")
    room1.subscribe("cleanroom/room-1/#")

    room2.publish("cleanroom/room-1/state", '{"soc_pct": 100}')
    room2.publish("cleanroom/room-1/set/mode", "manual")
    room2.publish("homeassistant/sensor/cleanroom_room-1/soc/config", "{}")
    room2.publish("cleanroom/room-2/state", '{"soc_pct": 40}')
    # Messages from one client arrive in order: a forged message, had it passed, would come first.
    assert assistant.messages.get(timeout=10) == ("cleanroom/room-2/state", b'{"soc_pct": 40}')
    assert assistant.messages.empty()
    assert room1.messages.empty()

    room2.client.subscribe("cleanroom/room-1/#", qos=1)
    (code,) = room2.subacks.get(timeout=10)
    room1.publish("cleanroom/room-1/state", '{"soc_pct": 83.2}')
    assert assistant.messages.get(timeout=10) == ("cleanroom/room-1/state", b'{"soc_pct": 83.2}')
    assert code.is_failure or room2.messages.empty()
    denied = [line for line in broker.log.read_text().splitlines() if "Denied PUBLISH" in line]
    assert len(denied) == 3, denied


def test_the_real_controller_and_home_assistant_pass_the_acl(
    tmp_path: Path, broker: Broker, sessions: list[Session]
) -> None:
    """`cleanroom sim` publishes through the broker with the controller account; Home Assistant's account
    sees state and discovery and changes the mode; the broker refuses nothing either of them does."""
    assistant = login(sessions, broker, "homeassistant", PASSWORDS["homeassistant"])
    assistant.subscribe("cleanroom/room-1/state")
    assistant.subscribe("homeassistant/select/#")
    url = f"mqtt://room-1:{PASSWORDS['room-1']}@127.0.0.1:{broker.port}"
    sim_log = (tmp_path / "sim.log").open("wb")
    sim = subprocess.Popen(
        [
            str(CLEANROOM),
            "sim",
            "--id",
            "room-1",
            "--speed",
            "60",
            "--duration",
            "7 days",
            "--mqtt",
            url,
            "--db",
            "none",
            "--http",
            "none",
            "--state-dir",
            str(tmp_path / "state"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=sim_log,
    )
    try:
        seen: dict[str, bytes] = {}
        deadline = time.monotonic() + 120
        while "cleanroom/room-1/state" not in seen or not any("/select/" in topic for topic in seen):
            assert time.monotonic() < deadline, f"only saw {sorted(seen)}"
            topic, payload = assistant.messages.get(timeout=120)
            seen[topic] = payload
        (select_topic,) = (topic for topic in seen if "/select/" in topic)
        command_topic = json.loads(seen[select_topic])["command_topic"]
        assert command_topic == "cleanroom/room-1/set/mode"

        assistant.publish(command_topic, "eco")
        while True:
            assert time.monotonic() < deadline, "the mode never changed to eco"
            topic, payload = assistant.messages.get(timeout=60)
            if topic == "cleanroom/room-1/state" and json.loads(payload)["mode"] == "eco":
                break
    finally:
        sim.send_signal(signal.SIGTERM)
        sim.wait(60)
        sim_log.close()
    assert sim.returncode == 0, (tmp_path / "sim.log").read_text()
    log = broker.log.read_text()
    assert "Denied" not in log, [line for line in log.splitlines() if "Denied" in line]
    assert "New client connected" in log

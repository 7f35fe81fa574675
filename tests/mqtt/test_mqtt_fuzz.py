"""Hostile payloads on every MQTT command topic of a real Mosquitto: each command is either accepted by the
loop or answered on the `error` topic with a clear message; none is dropped silently, none leaves a
traceback. The commands are answered by the control step's own `apply_commands`."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from controller.battery import BatteryState
from controller.clock import SimulatedClock
from controller.command_bus import CommandBus
from controller.commands import CommandLimits, CommandName
from controller.hub import SnapshotHub
from controller.mqtt.config import MqttSection
from controller.mqtt.payloads import FAN_COMMAND, is_cleared_command
from controller.mqtt.sink import build_mqtt_sink
from controller.setpoints import Setpoints
from controller.sim.snapshots import sample_snapshot
from controller.snapshot import Mode
from controller.step.core import apply_commands
from controller.step.state import SourcedCommand
from tests.eventually import eventually
from tests.mqtt.mqtt_rig import Mosquitto, Watcher

CAP_PA = 25.0
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
FAST = MqttSection(publish_interval_s=0.0, reconnect_min_s=0.05, reconnect_max_s=0.5, timeout_s=3.0, keepalive_s=5.0)
PAYLOADS: list[bytes] = [
    b"5" * 100_000,
    b"1e999999999",
    b"-1e400 Pa",
    b"3 Pa * Pa / Pa ** 9999",
    b"((((((((((1))))))))))" * 200,
    b"1 Pa Pa Pa Pa Pa Pa Pa Pa",
    b"NaN",
    b"Infinity",
    "\u0665\u0660".encode(),
    "\u202e40".encode(),
    b"40\x00",
    b"\xff\xfe\xfd",
    b"",
    b'"40"',
    b"0001-01-01T00:00:00+14:00",
    b"9999-12-31T23:59:59-14:00",
    b"9999-12-31T23:59:59+14:00",
    b"40",
    b"auto",
    b"ON",
]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    mosquitto = Mosquitto(tmp_path)
    mosquitto.start()
    yield mosquitto
    mosquitto.stop()


class AnsweringLoop:
    """The loop's part: pending commands answered per 'tick' by the pure step's `apply_commands`."""

    def __init__(self, commands: CommandBus) -> None:
        self.commands = commands
        self.points = Setpoints(Mode.AUTO, 50.0, 5.0, 2.0, None, BatteryState())
        self.accepted = 0

    async def run(self) -> None:
        while True:
            pending = self.commands.take_pending()
            if pending:
                sourced = tuple(SourcedCommand(p.source, p.command) for p in pending)
                self.points, results, _events = apply_commands(self.points, sourced, 0.0, NOW, CAP_PA)
                for waiting, result in zip(pending, results, strict=True):
                    waiting.result.set_result(result)
                    self.accepted += result.accepted
            await asyncio.sleep(0.005)


async def test_every_hostile_command_is_accepted_or_answered_on_the_error_topic(
    broker: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    import aiomqtt

    hub, commands = SnapshotHub(), CommandBus()
    sink = build_mqtt_sink(broker.url, "room1", replace(FAST), SimulatedClock(NOW), CommandLimits(CAP_PA))
    loop = AnsweringLoop(commands)
    answering = asyncio.create_task(loop.run())
    running = asyncio.create_task(sink.run(hub, commands))
    topics = [*(c.value for c in CommandName), FAN_COMMAND, "nonsense"]
    sent = 0
    try:
        await eventually(lambda: sink.stats.connected, timeout_s=15.0)
        hub.publish(sample_snapshot(controller_id="room1", timestamp_utc=NOW))
        async with (
            Watcher(broker.port, ["cleanroom/room1/error"]) as watcher,
            aiomqtt.Client("127.0.0.1", broker.port) as client,
        ):
            with caplog.at_level(logging.WARNING):
                for topic in topics:
                    for payload in PAYLOADS:
                        await client.publish(f"cleanroom/room1/set/{topic}", payload, qos=1)
                        sent += not is_cleared_command(payload)  # an empty message clears a retained command
                await watcher.wait_for(
                    lambda: len(watcher.on("cleanroom/room1/error")) + loop.accepted >= sent, timeout_s=60.0
                )
            errors = [json.loads(m.payload) for m in watcher.on("cleanroom/room1/error")]
    finally:
        answering.cancel()
        hub.close()
        await asyncio.wait_for(running, 10)
    assert len(errors) + loop.accepted == sent, "a command was dropped silently"
    assert sink.stats.commands == sent
    assert all(error["accepted"] is False and error["message"] for error in errors)
    assert all(len(error["message"]) < 600 for error in errors)
    assert "Traceback" not in caplog.text
    assert loop.accepted > 0

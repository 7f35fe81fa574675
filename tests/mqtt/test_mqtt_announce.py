"""Home Assistant discovery is announced once per connection, with the ranges the first snapshot brings (the
floor in force), not once before it and again after: against a real Mosquitto."""

from __future__ import annotations

import asyncio

from controller.metrics import METRICS
from controller.snapshot import AlertKind
from tests.mqtt.mqtt_rig import Mosquitto, Watcher
from tests.mqtt.test_mqtt_broker import running

PREFIX = "homeassistant/+/cleanroom_room1/+/config"


async def test_discovery_waits_for_the_first_snapshot_and_is_announced_once(broker: Mosquitto) -> None:
    async with running(broker.url) as rig, Watcher(broker.port, [PREFIX]) as watcher:
        await rig.connected()
        await asyncio.sleep(0.3)
        assert watcher.messages == [], "announced before the controller said which floor is in force"
        await rig.tick()
        expected = len(METRICS) + 4 + len(AlertKind)
        await watcher.wait_for(lambda: len(watcher.messages) >= expected)
        for _ in range(5):
            await rig.tick()
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        assert len(watcher.messages) == expected
        setpoint = next(m for m in watcher.messages if m.topic.endswith("/pressure_setpoint/config"))
        assert b'"min"' in setpoint.payload

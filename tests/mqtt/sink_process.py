"""A daemon stand-in for the last-will test: the MQTT sink on a hub fed by the rig's loop, run as its
own process so that the test can kill -9 it. Usage: sink_process.py URL CONTROLLER_ID"""

from __future__ import annotations

import asyncio
import sys

from controller.clock import SimulatedClock
from controller.commands import CommandBus
from controller.hub import SnapshotHub
from controller.mqtt import MqttSection, build_mqtt_sink
from tests.mqtt.mqtt_rig import T0, FakeLoop


async def main(url: str, controller_id: str) -> None:
    hub, commands, clock = SnapshotHub(), CommandBus(), SimulatedClock(T0)
    sink = build_mqtt_sink(url, controller_id, MqttSection(publish_interval_s=0.0, keepalive_s=5.0), clock)
    loop = FakeLoop(hub, commands, clock, controller_id=controller_id)
    async with asyncio.TaskGroup() as group:
        group.create_task(sink.run(hub, commands))
        group.create_task(loop.run(0.05))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))

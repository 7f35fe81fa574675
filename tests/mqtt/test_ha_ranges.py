"""Home Assistant's number entities follow the ranges the daemon accepts as they change: the setpoint's
minimum is the floor in force, so a new floor (set over MQTT) re-announces the setpoint's discovery config
with the new minimum, and a command at each end of every advertised range is accepted by the loop."""

from __future__ import annotations

import asyncio
import json
from functools import partial
from typing import Any

import aiomqtt

from controller.clock import SimulatedClock
from controller.command_bus import CommandBus
from controller.commands import CommandLimits
from controller.hub import SnapshotHub
from controller.mqtt.sink import build_mqtt_sink
from drivers.runtime import cancel_and_wait
from tests.eventually import eventually
from tests.mqtt.mqtt_rig import T0, FakeLoop, Mosquitto, Watcher
from tests.mqtt.test_mqtt_broker import FAST

CAP_PA = 25.0


def _numbers(watcher: Watcher) -> dict[str, dict[str, Any]]:
    """The newest discovery config of each number entity."""
    latest: dict[str, dict[str, Any]] = {}
    for message in watcher.messages:
        parts = message.topic.split("/")
        if parts[1] == "number" and message.payload:
            latest[parts[3]] = json.loads(message.payload)
    return latest


def _holds(loop: FakeLoop, name: str, value: float) -> bool:
    return (loop.floor_pa if name == "pressure_floor" else loop.setpoint_pa) == value


async def test_a_new_floor_reannounces_the_setpoint_range_and_both_ends_are_accepted(broker: Mosquitto) -> None:
    hub, commands, clock = SnapshotHub(), CommandBus(), SimulatedClock(T0)
    sink = build_mqtt_sink(broker.url, "room1", FAST, clock, CommandLimits(CAP_PA))
    loop = FakeLoop(hub, commands, clock, pressure_cap_pa=CAP_PA)
    loop.tick()
    task = asyncio.create_task(sink.run(hub, commands))

    async def keep_ticking() -> None:
        while True:
            loop.tick()
            await asyncio.sleep(0.02)

    ticking = asyncio.create_task(keep_ticking())
    try:
        async with Watcher(broker.port, ["homeassistant/number/#"]) as watcher:
            await watcher.wait_for(
                lambda: len(_numbers(watcher)) == 2 and _numbers(watcher)["pressure_setpoint"]["min"] == loop.floor_pa
            )
            ranges = _numbers(watcher)
            assert ranges["pressure_floor"]["max"] == CAP_PA - ranges["pressure_floor"]["step"]
            assert ranges["pressure_setpoint"]["max"] == CAP_PA
            async with aiomqtt.Client("127.0.0.1", broker.port) as client:
                for name, config in ranges.items():
                    for end in (config["min"], config["max"]):
                        await client.publish(f"cleanroom/room1/set/{name}", f"{end:g}".encode(), qos=1)
                        await eventually(partial(_holds, loop, name, end), what=f"{name} = {end}")
                await client.publish("cleanroom/room1/set/pressure_floor", b"8", qos=1)
                await watcher.wait_for(lambda: _numbers(watcher)["pressure_setpoint"]["min"] == 8.0)
                await client.publish("cleanroom/room1/set/pressure_setpoint", b"8", qos=1)
                await eventually(lambda: loop.setpoint_pa == 8.0, what="the setpoint at the new minimum")
        assert sink.stats.commands >= 2 * len(ranges) + 2
    finally:
        await cancel_and_wait(ticking)
        hub.close()
        await asyncio.wait_for(task, 10)

"""While the broker is away the offline queue is bounded, but alerts never make room for other messages:
a flood of ordinary events pushes out ordinary events, and every alert is delivered once the broker is back."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from controller.clock import SimulatedClock
from controller.command_bus import CommandBus
from controller.hub import SnapshotHub
from controller.mqtt.config import MqttSection
from controller.mqtt.sink import build_mqtt_sink
from controller.sim.snapshots import sample_snapshot
from controller.snapshot import AlertKind, Event, EventKind, Severity
from tests.eventually import eventually
from tests.mqtt.mqtt_rig import Mosquitto, Watcher

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SECTION = MqttSection(
    publish_interval_s=0.0, reconnect_min_s=0.05, reconnect_max_s=0.5, timeout_s=3.0, keepalive_s=5.0, queue_limit=20
)


async def test_alerts_survive_a_flood_of_events_while_the_broker_is_away(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path, persist=True)
    broker.start()
    hub = SnapshotHub()
    sink = build_mqtt_sink(broker.url, "room1", replace(SECTION), SimulatedClock(T0))
    running = asyncio.create_task(sink.run(hub, CommandBus()))
    alerts = [f"alert {n}" for n in range(15)]
    watcher_args = {"identifier": "alert-watcher", "clean_session": False}
    try:
        async with Watcher(broker.port, ["cleanroom/room1/alert"], **watcher_args) as watcher:
            await eventually(lambda: sink.stats.connected, timeout_s=15.0, what="connected")
            broker.stop()
            await eventually(lambda: not sink.stats.connected, timeout_s=15.0, what="disconnected")
            for n, message in enumerate(alerts):
                when = T0 + timedelta(seconds=n)
                raised = Event(EventKind.ALERT_RAISED, message, when, Severity.WARNING, AlertKind.BATTERY_LOW_SOC)
                ordinary = tuple(Event(EventKind.COMMAND_ACCEPTED, f"event {n}.{k}", when) for k in range(10))
                hub.publish(sample_snapshot(controller_id="room1", timestamp_utc=when, events=(raised, *ordinary)))
                await asyncio.sleep(0.01)
            overflow = len(alerts) * 11 - SECTION.queue_limit
            await eventually(lambda: sink.stats.events_dropped == overflow, what="the queue over its limit")
            broker.start()
            await watcher.wait_for(lambda: len(watcher.on("cleanroom/room1/alert")) >= len(alerts), timeout_s=30.0)
            received = [json.loads(m.payload)["message"] for m in watcher.on("cleanroom/room1/alert")]
    finally:
        hub.close()
        await asyncio.wait_for(running, 30)
        broker.stop()
    assert received == alerts


async def test_alerts_raised_while_the_broker_is_away_survive_a_restart(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path, persist=True)
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    section = replace(SECTION, flush_timeout_s=0.2)
    watcher_args = {"identifier": "restart-watcher", "clean_session": False}
    broker.start()
    async with Watcher(broker.port, ["cleanroom/room1/alert"], **watcher_args):
        pass  # a persistent session: the broker keeps what arrives for it while it is away
    broker.stop()

    first_hub = SnapshotHub()
    first = build_mqtt_sink(broker.url, "room1", section, SimulatedClock(T0), state_dir=state_dir)
    first_run = asyncio.create_task(first.run(first_hub, CommandBus()))
    alerts = [f"alert before the restart {n}" for n in range(3)]
    for n, message in enumerate(alerts):
        raised = Event(EventKind.ALERT_RAISED, message, T0, Severity.CRITICAL, AlertKind.BATTERY_LOW_SOC)
        first_hub.publish(
            sample_snapshot(controller_id="room1", timestamp_utc=T0 + timedelta(seconds=n), events=(raised,))
        )
        await asyncio.sleep(0.01)
    await eventually(lambda: first.stats.events_queued == len(alerts), what="the alerts queued")
    first_hub.close()
    await asyncio.wait_for(first_run, 30)  # the daemon stops with the broker still away
    assert (state_dir / "mqtt-pending-alerts.json").exists()

    broker.start()
    second_hub = SnapshotHub()
    second = build_mqtt_sink(broker.url, "room1", section, SimulatedClock(T0), state_dir=state_dir)
    second_run = asyncio.create_task(second.run(second_hub, CommandBus()))
    try:
        async with Watcher(broker.port, ["cleanroom/room1/alert"], **watcher_args) as watcher:
            await watcher.wait_for(lambda: len(watcher.on("cleanroom/room1/alert")) >= len(alerts), timeout_s=30.0)
            received = [json.loads(m.payload)["message"] for m in watcher.on("cleanroom/room1/alert")]
    finally:
        second_hub.close()
        await asyncio.wait_for(second_run, 30)
        broker.stop()
    assert received == alerts
    assert not (state_dir / "mqtt-pending-alerts.json").exists()

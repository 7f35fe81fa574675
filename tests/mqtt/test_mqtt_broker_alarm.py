"""A broker that does not answer is an alarm the user sees on the dashboard and in history (and, once the
broker is back, over MQTT): reported by the sink against a real Mosquitto, raised after `broker_delay`."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from controller.alarm_config import AlertsSection
from controller.clock import SimulatedClock
from controller.command_bus import CommandBus
from controller.condition import Condition
from controller.hub import SnapshotHub
from controller.mqtt.config import MqttSection
from controller.mqtt.sink import build_mqtt_sink
from controller.snapshot import AlertKind, EventKind, Severity
from tests.eventually import eventually
from tests.mqtt.mqtt_rig import Mosquitto
from tests.test_alerts import calm, run

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SECTION = MqttSection(publish_interval_s=0.0, reconnect_min_s=0.05, reconnect_max_s=0.3, timeout_s=3.0)


def _broker_condition(hub: SnapshotHub) -> Condition | None:
    return next((c for c in hub.conditions if c.kind is AlertKind.BROKER_UNREACHABLE), None)


async def test_a_broker_that_does_not_answer_is_reported_until_it_answers(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path)
    url = f"mqtt://cleanroom:s3cret@127.0.0.1:{broker.port}"
    hub = SnapshotHub()
    sink = build_mqtt_sink(url, "room1", replace(SECTION), SimulatedClock(T0))
    running = asyncio.create_task(sink.run(hub, CommandBus()))
    try:
        await eventually(lambda: (c := _broker_condition(hub)) is not None and c.active, what="reported down")
        down = _broker_condition(hub)
        assert down is not None
        assert f"127.0.0.1:{broker.port} does not answer" in down.message
        assert "s3cret" not in down.message
        assert down.values["queued_events"] == 0.0
        broker.start()
        await eventually(lambda: (c := _broker_condition(hub)) is not None and not c.active, timeout_s=15.0)
        back = _broker_condition(hub)
        assert back is not None
        assert back.message.endswith("answers again")
    finally:
        hub.close()
        await asyncio.wait_for(running, 30)
        broker.stop()


def test_the_alarm_waits_for_broker_delay_and_clears_when_the_broker_answers() -> None:
    down = Condition(AlertKind.BROKER_UNREACHABLE, True, "MQTT broker x does not answer: refused", {})
    back = Condition(AlertKind.BROKER_UNREACHABLE, False, "MQTT broker x answers again", {})
    config = AlertsSection()
    assert config.value("broker_delay") == 60.0
    _, brief = run([calm(t, conditions=(down,)) for t in range(0, 55, 5)] + [calm(55, conditions=(back,))], config)
    assert brief == [], "a broker restart shorter than the delay is not an alarm"
    ticks = [calm(t, conditions=(down,)) for t in range(0, 70, 5)] + [calm(70, conditions=(back,))]
    update, events = run(ticks, config)
    assert [(e.kind, e.alert_kind, e.severity) for e in events] == [
        (EventKind.ALERT_RAISED, AlertKind.BROKER_UNREACHABLE, Severity.WARNING),
        (EventKind.ALERT_CLEARED, AlertKind.BROKER_UNREACHABLE, Severity.INFO),
    ]
    assert events[0].message == down.message
    assert update.active == ()

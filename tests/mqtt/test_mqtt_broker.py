"""The MQTT sink against a real Mosquitto started for each test on a free port."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from controller.alerts import AlertsSection
from controller.clock import SimulatedClock
from controller.command_bus import CommandBus
from controller.hub import SnapshotHub
from controller.metrics import METRICS
from controller.mqtt.config import MqttSection
from controller.mqtt.sink import MqttSink, build_mqtt_sink
from controller.snapshot import AlertKind, EventKind
from tests.eventually import eventually
from tests.mqtt.mqtt_rig import T0, FakeLoop, Mosquitto, Watcher, get_retained

REPO = Path(__file__).resolve().parents[2]
FAST = MqttSection(publish_interval_s=0.0, reconnect_min_s=0.05, reconnect_max_s=0.5, timeout_s=3.0, keepalive_s=5.0)


@dataclass
class Rig:
    hub: SnapshotHub
    commands: CommandBus
    clock: SimulatedClock
    loop: FakeLoop
    sink: MqttSink
    task: asyncio.Task[None]

    async def tick(self, n: int = 1) -> None:
        for _ in range(n):
            self.loop.tick()
            await asyncio.sleep(0)

    async def connected(self, connects: int = 1) -> None:
        await eventually(lambda: self.sink.stats.connected and self.sink.stats.connects >= connects, timeout_s=15.0)


@contextlib.asynccontextmanager
async def running(
    url: str, controller_id: str = "room1", section: MqttSection = FAST, *, paced: bool = False, **loop_args: object
) -> AsyncIterator[Rig]:
    """`paced`: the publish interval counts the rig's clock instead of real seconds."""
    hub, commands, clock = SnapshotHub(), CommandBus(), SimulatedClock(T0)
    sink = build_mqtt_sink(url, controller_id, section, clock, pace=clock.monotonic) if paced else None
    sink = sink or build_mqtt_sink(url, controller_id, section, clock)
    loop = FakeLoop(hub, commands, clock, controller_id=controller_id, **loop_args)  # type: ignore[arg-type]
    task = asyncio.create_task(sink.run(hub, commands))
    rig = Rig(hub, commands, clock, loop, sink, task)
    answering = asyncio.create_task(_answer_commands(loop))
    try:
        yield rig
    finally:
        answering.cancel()
        hub.close()
        await asyncio.wait_for(task, 10)


async def _answer_commands(loop: FakeLoop) -> None:
    """Between explicit ticks, the loop still answers commands promptly (as the real loop does per tick)."""
    while True:
        loop.answer()
        await asyncio.sleep(0.01)


def state_of(watcher: Watcher, topic: str = "cleanroom/room1/state") -> dict[str, Any]:
    messages = watcher.on(topic)
    return json.loads(messages[-1].payload) if messages else {}


async def test_online_is_said_once_per_connect(broker: Mosquitto) -> None:
    availability = "cleanroom/room1/availability"
    async with Watcher(broker.port, [availability, "cleanroom/room1/state"]) as watcher:
        async with running(broker.url) as rig:
            await rig.connected()
            await rig.tick()
            await watcher.wait_for(lambda: watcher.on("cleanroom/room1/state"))
        await watcher.wait_for(lambda: [m.payload for m in watcher.on(availability)][-1:] == [b"offline"])
        assert [m.payload for m in watcher.on(availability) if not m.retain] == [b"online", b"offline"]


async def test_retained_state_availability_and_per_value_topics(broker: Mosquitto) -> None:
    async with running(broker.url) as rig:
        await rig.connected()
        await rig.tick(3)
        async with Watcher(broker.port, ["cleanroom/room1/#"]) as watcher:
            await watcher.wait_for(lambda: watcher.on("cleanroom/room1/state"))
        state = await get_retained(broker.port, "cleanroom/room1/state")
        assert state is not None
        data = json.loads(state)
        assert data["controller_id"] == "room1"
        assert data["soc_pct"] == pytest.approx(rig.loop.soc_pct)
        assert data["units"]["pressure_pa"] == "Pa"
        assert data["units"]["flow_cfm"] == "ft³/min"
        assert await get_retained(broker.port, "cleanroom/room1/availability") == b"online"
        for metric in METRICS:
            assert await get_retained(broker.port, f"cleanroom/room1/{metric.key}") is not None
        assert await get_retained(broker.port, "cleanroom/room1/soc_pct") == f"{rig.loop.soc_pct:.1f}".encode()
        assert await get_retained(broker.port, "cleanroom/room1/alerts") == b"[]"
    # a clean stop says offline (the will is only for crashes)
    assert await get_retained(broker.port, "cleanroom/room1/availability") == b"offline"
    assert rig.task.done()


async def test_state_is_published_once_per_interval(broker: Mosquitto) -> None:
    async with (
        running(broker.url, section=replace(FAST, publish_interval_s=10.0), paced=True) as rig,
        Watcher(broker.port, ["cleanroom/room1/state"]) as watcher,
    ):
        await rig.connected()
        for n in range(30):
            await rig.tick()
            if n % 10 == 0:  # a publication is due: let the sink see this snapshot before the next one
                due = n // 10 + 1
                await eventually(lambda: rig.sink.stats.state_published >= due, what=f"state publication {due}")  # noqa: B023
            await asyncio.sleep(0.01)
        await watcher.wait_for(lambda: len(watcher.on("cleanroom/room1/state")) >= 3)
        times = [json.loads(m.payload)["monotonic_s"] for m in watcher.on("cleanroom/room1/state")]
        # when the interval is up the sink publishes the newest snapshot it has; on a loaded machine that can
        # be the one before the tick that made it due (a 1 s tick here), never an extra publication
        assert all(b - a >= 10.0 - 1.0 for a, b in itertools.pairwise(times)), (times, rig.sink.stats)
        assert len(times) <= 4


async def test_discovery_payloads_birth_and_removal(broker: Mosquitto) -> None:
    prefix = "homeassistant/+/cleanroom_room1/+/config"
    async with running(broker.url) as rig, Watcher(broker.port, [prefix]) as watcher:
        await rig.connected()
        await rig.tick()
        await watcher.wait_for(lambda: len(watcher.messages) >= len(METRICS) + 4 + len(AlertKind))
        configs = {m.topic: json.loads(m.payload) for m in watcher.messages}
        assert all(m.retain is False or m.retain is True for m in watcher.messages)
        pressure = configs["homeassistant/sensor/cleanroom_room1/pressure_pa/config"]
        assert (pressure["device_class"], pressure["unit_of_measurement"]) == ("pressure", "Pa")
        runtime = configs["homeassistant/sensor/cleanroom_room1/runtime_plan_s/config"]
        assert (runtime["device_class"], runtime["unit_of_measurement"]) == ("duration", "s")
        fan = configs["homeassistant/fan/cleanroom_room1/fan/config"]
        assert fan["availability_topic"] == "cleanroom/room1/availability"
        assert configs["homeassistant/binary_sensor/cleanroom_room1/alert_pressure_low/config"]["device_class"] == (
            "problem"
        )
        identifiers = {tuple(c["device"]["identifiers"]) for c in configs.values()}
        assert identifiers == {("cleanroom_room1",)}
        retained = await get_retained(broker.port, "homeassistant/fan/cleanroom_room1/fan/config")
        assert retained is not None

        # Home Assistant restarts and announces itself: discovery and state come again
        before = len(watcher.messages)
        async with Watcher(broker.port, ["cleanroom/room1/state"]) as state_watcher:
            state_before = len(state_watcher.on("cleanroom/room1/state"))
            await _publish(broker.port, "homeassistant/status", b"online")
            await watcher.wait_for(lambda: len(watcher.messages) >= before + len(configs))
            await state_watcher.wait_for(lambda: len(state_watcher.on("cleanroom/room1/state")) > state_before)

    # the same controller with discovery off removes its entities (empty retained configs)
    async with running(broker.url, section=replace(FAST, discovery=False)) as rig:
        await rig.connected()
        await rig.tick()
        await eventually(lambda: rig.sink.stats.state_published > 0, timeout_s=15.0)  # published after the removals
        # retained messages come in subscription order: once the availability arrives, any config would have
        async with Watcher(broker.port, [prefix, "cleanroom/room1/availability"]) as after:
            await after.wait_for(lambda: after.on("cleanroom/room1/availability"))
            assert [m.topic for m in after.messages] == ["cleanroom/room1/availability"]


async def _publish(port: int, topic: str, payload: bytes, retain: bool = False) -> None:
    import aiomqtt

    async with aiomqtt.Client("127.0.0.1", port) as client:
        await client.publish(topic, payload, qos=1, retain=retain)


async def test_commands_valid_and_malformed(broker: Mosquitto) -> None:
    # a retained command is never executed (it would replay on every reconnect)
    await _publish(broker.port, "cleanroom/room1/set/mode", b"pressure", retain=True)
    async with running(broker.url) as rig, Watcher(broker.port, ["cleanroom/room1/#"]) as watcher:
        await rig.connected()
        await rig.tick()

        await _publish(broker.port, "cleanroom/room1/set/mode", b"eco")
        await watcher.wait_for(lambda: (state_of(watcher) or {}).get("last_command"))
        ack = state_of(watcher)["last_command"]
        assert ack["command"] == "mode"
        assert ack["accepted"] is True
        assert rig.loop.mode.value == "eco"
        assert rig.sink.stats.commands == 1, "the retained command was not executed"
        await rig.tick()
        await watcher.wait_for(lambda: (state_of(watcher) or {}).get("mode") == "eco")

        await _publish(broker.port, "cleanroom/room1/set/speed", b"fast please")
        errors = await watcher.wait_for(lambda: watcher.on("cleanroom/room1/error"))
        error = json.loads(errors[0].payload)
        assert error["accepted"] is False
        assert "speed" in error["message"]
        assert "'fast please'" in error["message"]
        assert "percentage from 0 to 100" in error["message"]
        await watcher.wait_for(lambda: (state_of(watcher) or {}).get("last_command", {}).get("command") == "speed")
        assert state_of(watcher)["last_command"]["accepted"] is False

        # well-formed but refused by the loop: the loop's reason is published
        await _publish(broker.port, "cleanroom/room1/set/pressure_floor", b"40 Pa")
        await watcher.wait_for(lambda: len(watcher.on("cleanroom/room1/error")) >= 2)
        refused = json.loads(watcher.on("cleanroom/room1/error")[1].payload)
        assert "pressure_floor = 40 Pa: expected a pressure from 0 to 24.5 Pa" in refused["message"]
        assert rig.loop.floor_pa == 5.0

        await _publish(broker.port, "cleanroom/room1/set/reboot", b"now")
        await watcher.wait_for(lambda: len(watcher.on("cleanroom/room1/error")) >= 3)
        assert "a command topic among" in json.loads(watcher.on("cleanroom/room1/error")[2].payload)["message"]

        # the Home Assistant fan entity: a percentage switches to manual at that speed
        await _publish(broker.port, "cleanroom/room1/set/speed", b"35")
        await watcher.wait_for(lambda: rig.loop.speed_pct == 35.0)
        assert rig.loop.mode.value == "manual"
        # a user clears a retained command with an empty retained message: ignored, not an error
        commands_before = rig.sink.stats.commands
        await _publish(broker.port, "cleanroom/room1/set/mode", b"", retain=True)
        await _publish(broker.port, "cleanroom/room1/set/reboot", b"later")
        await watcher.wait_for(lambda: len(watcher.on("cleanroom/room1/error")) >= 4)
        assert [json.loads(m.payload)["command"] for m in watcher.on("cleanroom/room1/error")][3:] == ["reboot"]
        assert rig.sink.stats.commands == commands_before + 1


async def test_alerts_over_a_battery_drain(broker: Mosquitto) -> None:
    config = AlertsSection().with_levels(battery_delay_s=2.0)
    async with (
        running(broker.url, soc_pct=40.0, drain_pct_per_tick=0.5, alerts_config=config) as rig,
        Watcher(broker.port, ["cleanroom/room1/alert", "cleanroom/room1/alerts"]) as watcher,
    ):
        await rig.connected()
        for _ in range(60):  # 40 % -> 10 %
            await rig.tick()
        raised = [e for e in rig.loop.events if e.kind is EventKind.ALERT_RAISED]
        assert {(e.alert_kind, e.severity.value) for e in raised} >= {
            (AlertKind.BATTERY_LOW_SOC, "warning"),
            (AlertKind.BATTERY_LOW_SOC, "critical"),
        }
        await watcher.wait_for(lambda: len(watcher.on("cleanroom/room1/alert")) >= len(rig.loop.events))
        received = [json.loads(m.payload) for m in watcher.on("cleanroom/room1/alert")]
        assert [(r["kind"], r["severity"]) for r in received] == [
            (e.alert_kind.value if e.alert_kind else None, e.severity.value) for e in rig.loop.events
        ]
        assert all(m.qos == 1 and not m.retain for m in watcher.on("cleanroom/room1/alert"))
        warning = next(r for r in received if r["kind"] == "battery_low_soc" and r["severity"] == "warning")
        assert warning["event"] == "raised"
        assert warning["values"]["threshold"] == 30.0
        assert warning["values"]["value"] <= 30.0
        assert "30.0 %" in warning["message"]
        assert warning["timestamp"].startswith("2026-11-22T18:")
        await watcher.wait_for(  # the newest list: it may come a moment after the last alert event
            lambda: any(
                a["kind"] == "battery_low_soc" and a["severity"] == "critical"
                for newest in watcher.on("cleanroom/room1/alerts")[-1:]
                for a in json.loads(newest.payload)
            )
        )
    active = json.loads(await get_retained(broker.port, "cleanroom/room1/alerts") or b"[]")
    assert {a["kind"] for a in active} >= {"battery_low_soc", "battery_low_runtime"}


async def test_broker_restart_in_the_middle_loses_no_alert(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path, persist=True)
    broker.start()
    try:
        watcher_args = {"identifier": "alert-watcher", "clean_session": False}
        async with (
            running(broker.url, soc_pct=40.0, drain_pct_per_tick=0.25) as rig,
            Watcher(broker.port, ["cleanroom/room1/alert"], **watcher_args) as watcher,
        ):
            await rig.connected()
            for _ in range(20):  # 40 % -> 35 %: nothing yet
                await rig.tick()
            broker.stop()
            await eventually(lambda: not rig.sink.stats.connected, timeout_s=15.0)
            for _ in range(100):  # 35 % -> 10 %: warnings and critical, all while the broker is away
                await rig.tick()
            assert rig.loop.events, "the drain raised alerts while the broker was down"
            assert rig.sink.stats.events_delivered == 0
            broker.start()
            await rig.connected(connects=2)
            await watcher.wait_for(lambda: len(watcher.on("cleanroom/room1/alert")) >= len(rig.loop.events))
            received = [json.loads(m.payload) for m in watcher.on("cleanroom/room1/alert")]
            sent = [
                {"kind": e.alert_kind.value if e.alert_kind else None, "message": e.message} for e in rig.loop.events
            ]
            assert [{"kind": r["kind"], "message": r["message"]} for r in received] == sent
            assert rig.sink.stats.events_dropped == 0
            # the command subscription was renewed on the new connection
            await _publish(broker.port, "cleanroom/room1/set/mode", b"eco")
            await eventually(lambda: rig.loop.mode.value == "eco", timeout_s=15.0)
            assert await get_retained(broker.port, "cleanroom/room1/availability") == b"online"
    finally:
        broker.stop()


async def test_starts_without_a_broker_and_catches_up(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path)
    async with running(broker.url, soc_pct=31.0, drain_pct_per_tick=0.5) as rig:
        for _ in range(20):
            await rig.tick()
            await asyncio.sleep(0.01)
        assert not rig.sink.stats.connected
        queued = len(rig.loop.events)
        assert queued >= 1
        broker.start()
        try:
            await rig.connected()
            await eventually(
                lambda: rig.sink.stats.events_delivered >= queued and rig.sink.stats.state_published > 0, timeout_s=15.0
            )
            state = json.loads(await get_retained(broker.port, "cleanroom/room1/state") or b"{}")
            assert state["soc_pct"] == pytest.approx(rig.loop.soc_pct)
        finally:
            await asyncio.sleep(0)
    broker.stop()


async def test_password_file_and_mqtt5(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    broker = Mosquitto(tmp_path, users={"cleanroom": "s3cret-pw", "watcher": "w-pw"})
    broker.start()
    caplog.set_level(logging.DEBUG, logger="controller.mqtt")
    try:
        url = f"mqtt://cleanroom:s3cret-pw@127.0.0.1:{broker.port}"
        async with running(url, section=replace(FAST, protocol="5")) as rig:
            await rig.connected()
            await rig.tick()
            async with Watcher(broker.port, ["cleanroom/room1/state"], username="watcher", password="w-pw") as w:
                await w.wait_for(lambda: w.on("cleanroom/room1/state"))

        bad = f"mqtt://cleanroom:wrong-pw@127.0.0.1:{broker.port}"
        async with running(bad) as rig:
            await rig.tick()
            await eventually(lambda: rig.sink.stats.last_error is not None, timeout_s=15.0)
            assert rig.sink.stats.connects == 0
            assert "wrong-pw" not in caplog.text
        assert "s3cret-pw" not in caplog.text
        refused = [r for r in caplog.records if "refused the login" in r.getMessage()]
        assert len(refused) == 1
        assert refused[0].levelno == logging.ERROR
    finally:
        broker.stop()


async def test_tls_with_a_private_ca(tmp_path: Path) -> None:
    import aiomqtt

    broker = Mosquitto(tmp_path, tls=True)
    broker.start()
    try:
        section = replace(FAST, tls_ca_file=str(broker.ca_file))
        async with running(broker.url, section=section) as rig:
            await rig.connected()
            await rig.tick()
            await eventually(lambda: rig.sink.stats.state_published > 0, timeout_s=15.0)
            tls = aiomqtt.TLSParameters(ca_certs=str(broker.ca_file))
            state = await get_retained(broker.port, "cleanroom/room1/state", tls_params=tls)
            assert state is not None
            assert json.loads(state)["controller_id"] == "room1"

        # the system's CAs do not trust the throwaway CA: the sink keeps retrying, never sends in the clear
        async with running(broker.url) as rig:
            await eventually(lambda: rig.sink.stats.last_error is not None, timeout_s=15.0)
            assert "certificate" in (rig.sink.stats.last_error or "").lower()
            assert rig.sink.stats.connects == 0
    finally:
        broker.stop()


async def test_mqtt5_from_the_url(broker: Mosquitto) -> None:
    import aiomqtt

    url = broker.url.replace("mqtt://", "mqtt5://", 1)
    async with running(url) as rig:
        assert rig.sink._client()._client.protocol == aiomqtt.ProtocolVersion.V5.value
        await rig.connected()
        await rig.tick()
        assert await get_retained(broker.port, "cleanroom/room1/availability") == b"online"

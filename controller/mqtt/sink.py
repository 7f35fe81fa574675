"""The MQTT shell: reads snapshots from the hub, publishes state, per-value topics, alerts and Home
Assistant discovery, and turns `set/<name>` messages into commands for the loop.

Runs without a broker: alert and other events wait in a bounded queue and are delivered, in order and
at least once, when the broker comes back. Every connection starts from scratch (a clean session), so
subscriptions, the availability message, discovery and the retained state are renewed on each reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import aiomqtt

from controller.clock import Clock
from controller.command_bus import CommandBus
from controller.commands import CommandLimits, CommandResult
from controller.errors import ConfigError
from controller.hub import Delivery, SnapshotHub
from controller.mqtt import payloads
from controller.mqtt.alert_store import FILE_NAME, save_pending, take_pending
from controller.mqtt.client import client_for
from controller.mqtt.config import BrokerUrl, MqttSection, check_topic_level, parse_broker_url
from controller.mqtt.payloads import Topics
from controller.mqtt.reasons import describe
from controller.snapshot import AlertKind, Snapshot
from drivers.runtime import Backoff, TaskOwner, cancel_and_wait

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Outgoing:
    """A QoS 1 message waiting for the broker (alert, event or command error)."""

    topic: str
    payload: bytes


@dataclass(slots=True)
class MqttStats:
    """Counters for tests, benchmarks and the health endpoint."""

    connects: int = 0
    published: int = 0
    events_queued: int = 0
    events_delivered: int = 0
    events_dropped: int = 0
    commands: int = 0
    state_published: int = 0
    connected: bool = False
    last_error: str | None = None


def _version() -> str:
    try:
        return importlib.metadata.version("cleanroom")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class MqttSink:
    """The MQTT sink (see the module docstring). Build it with `build_mqtt_sink`."""

    name = "mqtt"

    def __init__(
        self,
        broker: BrokerUrl,
        controller_id: str,
        section: MqttSection,
        clock: Clock,
        *,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        limits: CommandLimits | None = None,
        pending_path: Path | None = None,
        pace: Callable[[], float] = time.monotonic,
    ) -> None:
        self.broker = broker
        self.controller_id = controller_id
        self.section = section
        self.clock = clock
        self._pace = pace
        self.topics = Topics(section.base_topic.replace("{id}", controller_id), section.discovery_prefix)
        self.client_id = section.client_id or f"cleanroom-{controller_id}"
        self.stats = MqttStats()
        self.limits = limits or CommandLimits()
        self._rng = rng or random.Random()
        self._backoff = Backoff(section.reconnect_min_s, section.reconnect_max_s, full_jitter=True, rng=self._rng)
        self._version = _version()
        self._outbox: deque[Outgoing] = deque()
        self._pending_path = pending_path
        if pending_path is not None:
            self._outbox.extend(Outgoing(topic, payload) for topic, payload in take_pending(pending_path))
        self._latest: Snapshot | None = None
        self._state_sent_for: Snapshot | None = None
        self._state_sent_at_s: float | None = None
        self._state_forced = True
        self._metrics_sent: dict[str, bytes] = {}
        self._alerts_sent: bytes | None = None
        self._announce_needed = True
        self._announced: CommandLimits | None = None
        self._online_needed = False
        self._last_command: dict[str, object] | None = None
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks = TaskOwner("mqtt")
        self._warned = False
        self._last_reason: str | None = None
        self._hub: SnapshotHub | None = None

    # --- the hub side -------------------------------------------------------------------------

    async def run(self, hub: SnapshotHub, commands: CommandBus) -> None:
        """Publish until the hub closes, then deliver what is queued (bounded by flush_timeout) and
        announce `offline`."""
        subscription = hub.subscribe(self.name, coalesce=True)
        self._hub = hub
        async with self._tasks as tasks:
            connected = tasks.spawn(partial(self._connection_loop, commands), "mqtt-connection", propagate=True)
            # the connection ends only when stopping, or by a bug, which then ends run() too: close() raises it
            connected.add_done_callback(lambda _task: subscription.close())
            try:
                async for delivery in subscription:
                    self._take(delivery)
            finally:
                subscription.close()
                self._state_forced = True  # the last state is published before `offline`
                self._stopping.set()
                self._wake.set()
                await asyncio.wait([connected], timeout=self.section.flush_timeout_s)
                if self._outbox:
                    log.warning("MQTT stopped with %d undelivered events", len(self._outbox))
                if self._pending_path is not None:
                    alerts = [(item.topic, item.payload) for item in self._outbox if item.topic == self.topics.alert]
                    save_pending(self._pending_path, alerts)

    def _take(self, delivery: Delivery) -> None:
        self._latest = delivery.snapshot
        if self._announced is not None and self._limits_now() != self._announced:
            self._announce_needed = True  # a range changed (the floor moves the setpoint's minimum): re-announce
        for event in delivery.events:
            topic = self.topics.alert if payloads.is_alert_event(event) else self.topics.event
            self._enqueue(Outgoing(topic, payloads.event_payload(event, self.controller_id)))
        self._wake.set()

    def _enqueue(self, item: Outgoing) -> None:
        """Queue a message; when the queue is full the oldest message that is not an alert makes room, and
        an alert is never dropped to make room for anything else (only for a newer alert, when every
        queued message is one)."""
        if len(self._outbox) >= self.section.queue_limit:
            alert = self.topics.alert
            victim = next((i for i, queued in enumerate(self._outbox) if queued.topic != alert), None)
            self.stats.events_dropped += 1
            if victim is None and item.topic != alert:
                return
            del self._outbox[victim or 0]
        self._outbox.append(item)
        self.stats.events_queued += 1

    # --- the broker side ----------------------------------------------------------------------

    def _client(self) -> aiomqtt.Client:
        return client_for(self.broker, self.section, self.client_id, self.topics.availability)

    def _report_broker(self, reachable: bool, text: str) -> None:
        """Tell the loop (dashboard, history, and MQTT itself once it is back) whether the broker answers."""
        if self._hub is not None:
            queued: dict[str, float | None] = {"queued_events": float(len(self._outbox))}
            message = f"MQTT broker {self.broker.redacted()} {text}"
            self._hub.report(AlertKind.BROKER_UNREACHABLE, not reachable, message, queued)

    async def _connection_loop(self, commands: CommandBus) -> None:
        attempt = 0
        while not self._stopping.is_set():
            try:
                async with self._client() as client:
                    attempt = 0
                    self.stats.connects += 1
                    self.stats.connected = True
                    log.info("MQTT connected to %s as %s", self.broker.redacted(), self.client_id)
                    self._report_broker(True, "answers again")
                    self._warned = False
                    await self._session(client, commands)
                    return
            except aiomqtt.MqttError as exc:
                self.stats.connected = False
                reason = describe(exc, self.broker.host, self.broker.port)
                self.stats.last_error = f"{reason.text} ({exc})"
                self._report_broker(False, f"does not answer: {reason.text}; {len(self._outbox)} events queued")
                if not self._warned or reason.text != self._last_reason:
                    log.log(
                        logging.ERROR if reason.login else logging.WARNING,
                        "MQTT broker %s: %s; retrying with backoff, %d events queued",
                        self.broker.redacted(),
                        reason.text,
                        len(self._outbox),
                    )
                    self._warned = True
                    self._last_reason = reason.text
                else:
                    log.debug("MQTT reconnect attempt %d failed: %s (%s)", attempt, reason.text, exc)
            finally:
                self.stats.connected = False
            delay = self._backoff.delay(attempt)
            attempt += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    async def _session(self, client: aiomqtt.Client, commands: CommandBus) -> None:
        await client.subscribe(self.topics.command_filter, qos=1)
        await client.subscribe(self.topics.birth, qos=1)
        self._announce_needed = True
        self._online_needed = False
        self._metrics_sent.clear()
        self._alerts_sent = None
        self._state_forced = True
        await client.publish(self.topics.availability, payloads.ONLINE, qos=1, retain=True)
        receiver = asyncio.create_task(self._receive(client, commands), name="mqtt-receive")
        receiver.add_done_callback(lambda _task: self._wake.set())  # one wait per tick, no task per wait
        try:
            while True:
                self._wake.clear()
                await self._flush(client)
                if self._stopping.is_set():
                    await client.publish(self.topics.availability, payloads.OFFLINE, qos=1, retain=True)
                    return
                if not receiver.done():
                    await self._wake.wait()
                if receiver.done():
                    receiver.result()
                    raise aiomqtt.MqttError("the message stream ended")
        except aiomqtt.MqttError as exc:
            # a publish that timed out waiting for its acknowledgement after the connection dropped: the
            # receiver saw the drop first, and its error names the real reason
            lost = receiver.exception() if receiver.done() and not receiver.cancelled() else None
            if lost is not None and lost is not exc:
                raise lost from lost.__cause__
            raise
        finally:
            await cancel_and_wait(receiver, expected=(aiomqtt.MqttError,))

    async def _flush(self, client: aiomqtt.Client) -> None:
        """Deliver queued events (oldest first, QoS 1, removed only once acknowledged), then
        announcements and state. `online` was published when the session started, before any of it."""
        while self._outbox:
            item = self._outbox[0]
            await client.publish(item.topic, item.payload, qos=1)
            self._outbox.popleft()
            self.stats.events_delivered += 1
            self.stats.published += 1
        if self._online_needed:
            await client.publish(self.topics.availability, payloads.ONLINE, qos=1, retain=True)
            self._online_needed = False
        if self._announce_needed and self._latest is not None:  # the first snapshot brings the floor in force
            self._announce_needed = False  # before publishing: a range that changes meanwhile announces again
            await self._publish_discovery(client)
            self._state_forced = True
        await self._publish_state(client)

    def _limits_now(self) -> CommandLimits:
        """The configuration's limits with the floor the loop has in force."""
        return self.limits if self._latest is None else self.limits.with_floor(self._latest.pressure_floor_pa)

    async def _publish_discovery(self, client: aiomqtt.Client) -> None:
        """Discovery configs when enabled; empty retained configs (removal) when disabled."""
        self._announced = limits = self._limits_now()
        for topic, body in payloads.discovery_messages(self.topics, self.controller_id, self._version, limits):
            await client.publish(topic, body if self.section.discovery else b"", qos=1, retain=True)
            self.stats.published += 1

    async def _publish_state(self, client: aiomqtt.Client) -> None:
        snapshot = self._latest
        if snapshot is None:
            return
        alerts = payloads.alerts_payload(snapshot.alerts)
        if alerts != self._alerts_sent:
            await client.publish(self.topics.alerts, alerts, qos=1, retain=True)
            self._alerts_sent = alerts
            self.stats.published += 1
        if snapshot is self._state_sent_for and not self._state_forced:
            return
        now_s = self._pace()
        due = (
            self._state_sent_at_s is None
            or now_s - self._state_sent_at_s >= self.section.publish_interval_s
            or now_s < self._state_sent_at_s
        )
        if not (due or self._state_forced):
            return
        self._state_forced = False
        self._state_sent_for = snapshot
        self._state_sent_at_s = now_s
        await client.publish(
            self.topics.state, payloads.state_payload(snapshot, self._last_command), qos=0, retain=True
        )
        self.stats.state_published += 1
        self.stats.published += 1
        for key, body in payloads.metric_payloads(snapshot).items():
            if self._metrics_sent.get(key) != body:
                await client.publish(self.topics.metric(key), body, qos=0, retain=True)
                self._metrics_sent[key] = body
                self.stats.published += 1

    async def _receive(self, client: aiomqtt.Client, commands: CommandBus) -> None:
        async for message in client.messages:
            topic = str(message.topic)
            body = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
            if topic == self.topics.birth:
                if body.strip() == payloads.ONLINE:
                    log.info("Home Assistant is online: publishing discovery and state again")
                    self._announce_needed = True
                    self._online_needed = True
                    self._wake.set()
                continue
            name = self.topics.command_name(topic)
            if name is None:
                continue
            if payloads.is_cleared_command(body):
                log.info("ignoring an empty message on %s (a cleared retained command)", topic)
                continue
            if message.retain:
                log.warning("ignoring a retained command on %s (commands must not be retained)", topic)
                continue
            self._tasks.spawn(partial(self._command, commands, name, body), f"mqtt-command-{name}")

    async def _command(self, commands: CommandBus, name: str, body: bytes) -> None:
        """Validate, hand to the loop, and acknowledge in state; a rejection also goes to the error topic."""
        self.stats.commands += 1
        source = f"MQTT {self.topics.command(name)}"
        try:
            command = payloads.parse_command_message(name, body, source, self._limits_now())
        except ConfigError as exc:
            result = CommandResult(False, str(exc))
        except Exception:  # a parser bug must not drop the command silently: refuse it on the error topic
            log.exception("reading the %s command failed", name)
            result = CommandResult(False, f"{source}: the payload could not be read")
        else:
            result = await commands.submit(command, source)
        ack = payloads.command_ack(name, body, result.accepted, result.message, self.clock.utc_now())
        self._last_command = ack
        self._state_forced = True
        if not result.accepted:
            log.info("rejected %s command: %s", name, result.message)
            self._enqueue(Outgoing(self.topics.error, payloads.ack_payload(ack)))
        self._wake.set()


def build_mqtt_sink(
    url: str,
    controller_id: str,
    section: MqttSection,
    clock: Clock,
    limits: CommandLimits | None = None,
    state_dir: Path | None = None,
    pace: Callable[[], float] = time.monotonic,
) -> MqttSink:
    """The MQTT sink for the daemon (`await sink.run(hub, commands)`); commands are checked against the
    ranges `limits` give (the configuration's); alerts still undelivered when it stops are kept in
    `state_dir` for the next run. ConfigError on a bad URL or id.

    `publish_interval` is counted on `pace`, real seconds, not on the loop's clock: a simulation running
    600 times real time publishes as often as the real daemon, not 600 times as often."""
    broker = parse_broker_url(url)
    check_topic_level("--id", "controller id", controller_id, "a name such as cleanroom or room-2")
    if "/" in controller_id:
        raise ConfigError("--id", "controller id", controller_id, "a name without '/'")
    if section.tls_ca_file and not broker.tls:
        raise ConfigError("--mqtt", "url", broker.redacted(), "mqtts://... when [mqtt] tls_ca_file is set")
    if section.tls_ca_file and not Path(section.tls_ca_file).is_file():
        raise ConfigError("[mqtt]", "tls_ca_file", section.tls_ca_file, "a readable PEM file of the broker's CA")
    pending = None if state_dir is None else state_dir / FILE_NAME
    return MqttSink(broker, controller_id, section, clock, limits=limits, pending_path=pending, pace=pace)

"""Test rig for the MQTT sink: a real Mosquitto on a free port, a subscriber that records what the
broker delivers, plausible snapshots, and a small stand-in control loop that drains a simulated
battery through the real alert engine and answers commands the way the loop does."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiomqtt

from controller.alerts import AlertInputs, AlertsSection, AlertState, update_alerts
from controller.battery import BatteryState
from controller.clock import SimulatedClock
from controller.command_bus import CommandBus
from controller.hub import SnapshotHub
from controller.setpoints import Setpoints
from controller.sim.snapshots import SAMPLE_TIME_UTC, sample_snapshot
from controller.snapshot import Event, Mode, Snapshot
from controller.step import SourcedCommand, apply_commands
from drivers.runtime import cancel_and_wait
from tests.eventually import eventually, eventually_sync

T0 = SAMPLE_TIME_UTC
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Mosquitto:
    """A real broker process for one test, on a free port of 127.0.0.1; restartable on the same port."""

    def __init__(
        self, directory: Path, *, users: dict[str, str] | None = None, persist: bool = False, tls: bool = False
    ) -> None:
        self.directory = directory
        self.persist = persist
        self.tls = tls
        self.ca_file = directory / "ca.pem"
        self.port = free_port()
        self.users = users
        self.process: subprocess.Popen[bytes] | None = None
        self.log = directory / "mosquitto.log"

    def _write_config(self) -> Path:
        # started as root, mosquitto would switch to the `mosquitto` user and lose access to tmp_path
        lines = [f"user {getpass.getuser()}", f"listener {self.port} 127.0.0.1", f"log_dest file {self.log}"]
        if self.tls:
            self._make_certificates()
            lines += [
                f"cafile {self.ca_file}",
                f"certfile {self.directory / 'server.pem'}",
                f"keyfile {self.directory / 'server.key'}",
            ]
        if self.persist:
            lines += ["persistence true", f"persistence_location {self.directory}/"]
        else:
            lines.append("persistence false")
        if self.users is None:
            lines.append("allow_anonymous true")
        else:
            password_file = self.directory / "passwords"
            password_file.write_text("")
            for user, password in self.users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(password_file), user, password], check=True)
            password_file.chmod(0o600)
            lines += ["allow_anonymous false", f"password_file {password_file}"]
        conf = self.directory / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def _make_certificates(self) -> None:
        """A throwaway CA and a server certificate for 127.0.0.1 (EC keys: fast to make)."""
        if self.ca_file.exists():
            return
        d = self.directory
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        ca_key, server_key, csr, san = d / "ca.key", d / "server.key", d / "server.csr", d / "san.ext"
        _openssl(
            "req", "-x509", *ec, "-keyout", ca_key, "-out", self.ca_file, "-days", "2", "-subj", "/CN=cleanroom test CA"
        )
        _openssl("req", *ec, "-keyout", server_key, "-out", csr, "-subj", "/CN=127.0.0.1")
        san.write_text("subjectAltName=IP:127.0.0.1\n")
        _openssl(
            "x509", "-req", "-in", csr, "-CA", self.ca_file, "-CAkey", ca_key, "-CAcreateserial",
            "-out", d / "server.pem", "-days", "2", "-extfile", san,
        )  # fmt: skip

    def start(self) -> None:
        conf = self._write_config()
        self.process = subprocess.Popen(
            ["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        process = self.process

        def listening() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log.read_text() if self.log.exists() else ''}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
            return False

        eventually_sync(listening, timeout_s=10.0, interval_s=0.02, what="mosquitto listening")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://127.0.0.1:{self.port}"


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool
    qos: int


class Watcher:
    """A subscriber that records every message under some topic filters."""

    def __init__(self, port: int, filters: list[str], **client_args: object) -> None:
        self.port = port
        self.filters = filters
        self.client_args = client_args
        self.messages: list[Received] = []
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self.connects = 0

    async def __aenter__(self) -> Watcher:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._ready.wait(), 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        await cancel_and_wait(self._task)

    async def _run(self) -> None:
        """Receive; when the broker goes away, reconnect (a persistent session resumes its queue)."""
        while True:
            try:
                async with aiomqtt.Client("127.0.0.1", self.port, **self.client_args) as client:  # type: ignore[arg-type]
                    for f in self.filters:
                        await client.subscribe(f, qos=1)
                    self.connects += 1
                    self._ready.set()
                    async for m in client.messages:
                        payload = m.payload if isinstance(m.payload, bytes) else str(m.payload).encode()
                        self.messages.append(Received(str(m.topic), payload, m.retain, m.qos))
                        self._changed.set()
            except aiomqtt.MqttError:
                await asyncio.sleep(0.05)

    def on(self, topic: str) -> list[Received]:
        return [m for m in self.messages if m.topic == topic]

    async def wait_for(self, predicate: Callable[[], T], timeout_s: float = 15.0) -> T:
        """Wait for a condition on the received messages, checking it again whenever a message arrives."""
        return await eventually(
            predicate,
            timeout_s=timeout_s,
            interval_s=0.2,
            wake=self._changed,
            what=lambda: (
                "condition on the received messages (topics: "
                + ", ".join(sorted({m.topic for m in self.messages}))
                + ")"
            ),
        )


async def get_retained(port: int, topic: str, timeout_s: float = 5.0, **client_args: object) -> bytes | None:
    """What a fresh subscriber gets as the retained message of a topic (None when nothing is retained)."""
    async with aiomqtt.Client("127.0.0.1", port, **client_args) as client:  # type: ignore[arg-type]
        await client.subscribe(topic, qos=1)
        try:
            async with asyncio.timeout(timeout_s):
                async for m in client.messages:
                    payload = m.payload if isinstance(m.payload, bytes) else str(m.payload).encode()
                    return payload if m.retain else None
        except TimeoutError:
            return None
    return None


def make_snapshot(t_s: float, **changes: Any) -> Snapshot:
    """A plausible tick of a 100 Ah, 12.8 V battery running the reference fan at setting 3."""
    return sample_snapshot(**({"timestamp_utc": T0 + timedelta(seconds=t_s), "monotonic_s": t_s} | changes))


@dataclass
class FakeLoop:
    """A control loop on a scripted battery: each tick it answers pending commands through the control
    step's own command rule (`controller.step.apply_commands`), drains the battery by `drain_pct_per_tick`,
    runs the real alert engine and publishes the snapshot."""

    hub: SnapshotHub
    commands: CommandBus
    clock: SimulatedClock
    controller_id: str = "room1"
    soc_pct: float = 40.0
    drain_pct_per_tick: float = 0.0
    tick_s: float = 1.0
    pressure_cap_pa: float = 25.0
    alerts_config: AlertsSection = field(default_factory=lambda: AlertsSection().with_levels(battery_delay_s=2.0))
    setpoints: Setpoints = field(default_factory=lambda: Setpoints(Mode.AUTO, 42.0, 8.0, 5.0, None, BatteryState()))
    alert_state: AlertState = field(default_factory=AlertState)
    ticks: int = 0
    events: list[Event] = field(default_factory=list)

    @property
    def mode(self) -> Mode:
        return self.setpoints.mode

    @property
    def speed_pct(self) -> float:
        return self.setpoints.manual_speed_pct

    @property
    def floor_pa(self) -> float:
        return self.setpoints.floor_pa

    @property
    def setpoint_pa(self) -> float:
        return self.setpoints.setpoint_pa

    def answer(self) -> tuple[Event, ...]:
        pending = self.commands.take_pending()
        sourced = tuple(SourcedCommand(p.source, p.command) for p in pending)
        now_s, now_utc = self.clock.monotonic(), self.clock.utc_now()
        self.setpoints, results, events = apply_commands(self.setpoints, sourced, now_s, now_utc, self.pressure_cap_pa)
        for waiting, result in zip(pending, results, strict=True):
            if not waiting.result.done():
                waiting.result.set_result(result)
        told = self.setpoints.battery.soc_pct
        if told is not None:
            self.soc_pct = told
            self.setpoints = replace(self.setpoints, battery=BatteryState())
        return tuple(events)

    def tick(self) -> Snapshot:
        command_events = self.answer()
        self.ticks += 1
        self.clock.advance(self.tick_s)
        self.soc_pct = max(0.0, self.soc_pct - self.drain_pct_per_tick)
        now_s, now_utc = self.clock.monotonic(), self.clock.utc_now()
        runtime_s = self.soc_pct / 100.0 * 1280.0 / 8.0 * 3600.0
        update = update_alerts(
            self.alert_state,
            AlertInputs(
                now_utc=now_utc,
                monotonic_s=now_s,
                soc_pct=self.soc_pct,
                runtime_left_s=runtime_s,
                charging=False,
                deadline_shortfall_s=None,
                pressure_pa=7.4,
                pressure_floor_pa=self.floor_pa,
                pressure_cap_pa=self.pressure_cap_pa,
                door_open=False,
                shunt_stale=False,
                pressure_stale=False,
                fan_stalled=False,
                fan_fault=False,
            ),
            self.alerts_config,
        )
        self.alert_state = update.state
        self.events.extend(update.events)
        snapshot = make_snapshot(
            now_s,
            controller_id=self.controller_id,
            timestamp_utc=now_utc,
            soc_pct=self.soc_pct,
            mode=self.mode,
            fan_command_pct=self.speed_pct,
            pressure_floor_pa=self.floor_pa,
            pressure_setpoint_pa=self.setpoint_pa,
            runtime_plan_s=runtime_s,
            alerts=update.active,
            events=command_events + update.events,
        )
        self.hub.publish(snapshot)
        return snapshot

    async def run(self, real_tick_s: float, ticks: int | None = None) -> None:
        n = 0
        while ticks is None or n < ticks:
            self.tick()
            n += 1
            await asyncio.sleep(real_tick_s)

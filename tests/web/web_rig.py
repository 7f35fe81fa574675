"""A small stand-in for the control loop: publishes changing, plausible snapshots and answers commands
(the way the real loop does: once per tick, through `CommandBus.take_pending()`), plus a way to run the
web sink on a real port in a background thread for synchronous clients (schemathesis, Playwright, bench).
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from controller.battery import BatteryState
from controller.command_bus import CommandBus
from controller.hub import SnapshotHub
from controller.setpoints import Setpoints
from controller.sim.snapshots import sample_snapshot
from controller.snapshot import Alert, AlertKind, Event, Mode, Severity, Snapshot
from controller.step import SourcedCommand, apply_commands
from web.config import HttpSection
from web.sink import WebSink

START_UTC = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def make_snapshot(
    tick: int = 0,
    *,
    step_s: float = 60.0,
    mode: Mode = Mode.AUTO,
    controller_id: str = "room-1",
    alerts: tuple[Alert, ...] = (),
    events: tuple[Event, ...] = (),
    speed_pct: float = 40.0,
    pressure_floor_pa: float = 5.0,
    deadline_utc: datetime | None = None,
) -> Snapshot:
    """A snapshot of a 100 Ah battery draining at ~2 W per 10 % fan, `tick` steps after START_UTC."""
    elapsed_s = tick * step_s
    fan_w = 0.5 + 0.1 * speed_pct + 0.05 * (tick % 7)
    soc = max(0.0, 95.0 - elapsed_s / 3600.0 * 0.5)
    energy_wh = 1280.0 * soc / 100.0
    flow = 6.0 * speed_pct
    return sample_snapshot(
        controller_id=controller_id,
        timestamp_utc=START_UTC + timedelta(seconds=elapsed_s),
        monotonic_s=elapsed_s,
        mode=mode,
        voltage_v=13.2 - 0.001 * (tick % 11),
        current_a=-fan_w / 13.2,
        power_w=-fan_w,
        soc_pct=soc,
        consumed_ah=-(95.0 - soc),
        soc_sync_age_s=elapsed_s,
        energy_usable_wh=energy_wh,
        pressure_pa=4.0 + speed_pct / 10.0 + 0.1 * (tick % 5),
        pressure_raw_pa=4.0 + speed_pct / 10.0 + 0.13 * (tick % 5),
        pressure_floor_pa=pressure_floor_pa,
        fan_command_pct=speed_pct,
        fan_setting=None,
        fan_rpm=30.0 * speed_pct,
        fan_power_w=fan_w,
        flow_cfm=flow,
        clean_air_ft3=flow * elapsed_s / 60.0,
        runtime_now_s=energy_wh / fan_w * 3600.0,
        runtime_plan_s=energy_wh / (fan_w * 0.8) * 3600.0,
        plan_power_w=fan_w * 0.8,
        deadline_utc=deadline_utc,
        deadline_met=None if deadline_utc is None else True,
        time_to_soc_s=((20.0, 3600.0 * 150), (10.0, 3600.0 * 170)),
        alerts=alerts,
        events=events,
    )


LOW_PRESSURE = Alert(
    AlertKind.PRESSURE_LOW,
    Severity.WARNING,
    "room pressure 2.0 Pa is below the 5 Pa floor",
    START_UTC,
    {"pressure_pa": 2.0, "floor_pa": 5.0},
)


class FakeLoop:
    """Publishes one snapshot per `tick()` like the control loop, answering pending commands through the
    control step's own command rule (`controller.step.apply_commands`) with a 25 Pa cap."""

    def __init__(self, hub: SnapshotHub, commands: CommandBus, step_s: float = 60.0, floor_pa: float = 5.0) -> None:
        self.hub = hub
        self.commands = commands
        self.step_s = step_s
        self.tick_count = 0
        self.setpoints = Setpoints(Mode.AUTO, 40.0, max(8.0, floor_pa), floor_pa, None, BatteryState())
        self.alerts: tuple[Alert, ...] = ()
        self.received: list[object] = []
        self.observers: list[Callable[[Snapshot], None]] = []

    @property
    def mode(self) -> Mode:
        return self.setpoints.mode

    def tick(self) -> Snapshot:
        """Apply pending commands (resolving their futures), then publish a snapshot."""
        now_s = self.tick_count * self.step_s
        now = START_UTC + timedelta(seconds=now_s)
        pending = self.commands.take_pending()
        self.received += [p.command for p in pending]
        sourced = tuple(SourcedCommand(p.source, p.command) for p in pending)
        self.setpoints, results, events = apply_commands(self.setpoints, sourced, now_s, now, 25.0)
        for waiting, result in zip(pending, results, strict=True):
            if not waiting.result.done():
                waiting.result.set_result(result)
        snapshot = make_snapshot(
            self.tick_count,
            step_s=self.step_s,
            mode=self.mode,
            alerts=self.alerts,
            events=tuple(events),
            speed_pct=self.setpoints.manual_speed_pct,
            pressure_floor_pa=self.setpoints.floor_pa,
            deadline_utc=self.setpoints.deadline_utc(now_s, now),
        )
        self.hub.publish(snapshot)
        for observe in self.observers:
            observe(snapshot)
        self.tick_count += 1
        return snapshot

    async def run(self, interval_s: float) -> None:
        """Tick every `interval_s` real seconds until the hub closes."""
        while not self.hub.closed:
            self.tick()
            await asyncio.sleep(interval_s)


@dataclass
class Served:
    """A web sink serving on a real port in a background thread, fed by a FakeLoop."""

    url: str
    token: str
    loop: FakeLoop
    sink: WebSink


@contextmanager
def serve_in_thread(
    state_dir: str, section: HttpSection | None = None, interval_s: float = 0.1, history: object | None = None
) -> Iterator[Served]:
    """Run sink + fake loop in their own event loop on 127.0.0.1:<free port>; stop on exit."""
    from web.tokens import load_or_create_token

    section = section or HttpSection(push_interval_s=0.1)
    ready = threading.Event()
    box: dict[str, object] = {}

    async def main() -> None:
        hub, commands = SnapshotHub(), CommandBus()
        fake = FakeLoop(hub, commands)
        sink = WebSink("127.0.0.1", 0, "room-1", section, state_dir, history)  # type: ignore[arg-type]
        box.update(loop=asyncio.get_running_loop(), hub=hub, fake=fake, sink=sink)
        fake.tick()
        async with asyncio.TaskGroup() as group:
            group.create_task(sink.run(hub, commands))
            group.create_task(fake.run(interval_s))
            await sink.started.wait()
            ready.set()

    def target() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:
            box["error"] = exc
            ready.set()

    thread = threading.Thread(target=target, name="web-rig", daemon=True)
    thread.start()
    if not ready.wait(30) or "error" in box:
        raise RuntimeError(f"web rig did not start: {box.get('error')}")
    sink = box["sink"]
    assert isinstance(sink, WebSink)
    fake = box["fake"]
    assert isinstance(fake, FakeLoop)
    try:
        yield Served(sink.url, load_or_create_token(state_dir), fake, sink)
    finally:
        loop = box["loop"]
        hub = box["hub"]
        assert isinstance(loop, asyncio.AbstractEventLoop)
        assert isinstance(hub, SnapshotHub)
        loop.call_soon_threadsafe(hub.close)
        thread.join(30)
        if "error" in box:
            error = box["error"]
            assert isinstance(error, BaseException)
            raise RuntimeError("web rig failed") from error


def with_alert(loop: FakeLoop) -> None:
    """Make the next snapshots carry an active low-pressure alert."""
    loop.alerts = (replace(LOW_PRESSURE),)


@contextmanager
def simulator_serving(state_dir: Path, *args: str) -> Iterator[tuple[str, Path]]:
    """`cleanroom sim --http 127.0.0.1:0 --mqtt none` with `args` as a subprocess; yields its URL (from its
    log) and state dir, and stops it with SIGTERM (which must end it cleanly)."""
    command = [str(Path(sys.executable).parent / "cleanroom"), "sim", "--http", "127.0.0.1:0", "--mqtt", "none"]
    process = subprocess.Popen([*command, "--state-dir", str(state_dir), *args], stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    url = None
    log: list[str] = []
    deadline = time.monotonic() + 60
    while url is None and time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        log.append(line)
        found = re.search(r"dashboard and API at (http://127\.0\.0\.1:\d+)/", line)
        url = found.group(1) if found else None
    if url is None:
        process.kill()
        pytest.fail("cleanroom sim did not announce its dashboard:\n" + "".join(log))
    drain = threading.Thread(target=process.stderr.read, daemon=True)
    drain.start()
    try:
        yield url, state_dir
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0

"""The systemd notifier over a real unix datagram socket: READY after the first tick, WATCHDOG while ticks
come (paced to half of WATCHDOG_USEC), silence when the loop hangs, STOPPING when the hub closes."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable

import pytest

from controller.command_bus import CommandBus
from controller.errors import ConfigError
from controller.hub import SnapshotHub
from controller.snapshot import Snapshot
from controller.watchdog import (
    NotifySettings,
    WatchdogSink,
    build_watchdog_sink,
    notify_message,
    parse_notify_environment,
    status_line,
)
from tests.deploy.conftest import NotifyListener


class ManualClock:
    """A monotonic clock the test moves by hand (the pacing is checked without waiting)."""

    def __init__(self) -> None:
        self.now_s = 1000.0

    def monotonic(self) -> float:
        return self.now_s

    def utc_now(self):  # type: ignore[no-untyped-def]
        raise AssertionError("the watchdog needs no wall clock")

    async def sleep(self, seconds: float) -> None:
        self.now_s += seconds


async def settle() -> None:
    """Let the sink task handle what was just published (it only awaits the subscription)."""
    for _ in range(10):
        await asyncio.sleep(0)


def start_sink(sink: object, hub: SnapshotHub) -> asyncio.Task[None]:
    assert isinstance(sink, WatchdogSink)
    return asyncio.create_task(sink.run(hub, CommandBus()))


def test_no_notify_socket_means_no_sink() -> None:
    assert build_watchdog_sink({}) is None
    assert build_watchdog_sink({"NOTIFY_SOCKET": ""}) is None


def test_environment_is_parsed_like_sd_watchdog_enabled() -> None:
    settings = parse_notify_environment({"NOTIFY_SOCKET": "/run/systemd/notify", "WATCHDOG_USEC": "30000000"}, 42)
    assert settings == NotifySettings("/run/systemd/notify", 30_000_000)
    assert settings.ping_interval_s == 15.0
    abstract = parse_notify_environment({"NOTIFY_SOCKET": "@/org/freedesktop/systemd1/notify"}, 42)
    assert abstract == NotifySettings("\0/org/freedesktop/systemd1/notify", None)
    mine = {"NOTIFY_SOCKET": "/run/n", "WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "42"}
    assert parse_notify_environment(mine, 42) == NotifySettings("/run/n", 2_000_000)
    assert parse_notify_environment(mine, 43) == NotifySettings("/run/n", None)


@pytest.mark.parametrize(
    ("environ", "key", "expected"),
    [
        ({"NOTIFY_SOCKET": "run/notify"}, "NOTIFY_SOCKET", "absolute unix socket path"),
        ({"NOTIFY_SOCKET": "/run/n", "WATCHDOG_USEC": "thirty"}, "WATCHDOG_USEC", "microseconds"),
        ({"NOTIFY_SOCKET": "/run/n", "WATCHDOG_USEC": "-5"}, "WATCHDOG_USEC", "positive"),
    ],
)
def test_bad_environment_names_the_variable(environ: dict[str, str], key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_notify_environment(environ, 1)
    message = str(caught.value)
    assert key in message
    assert repr(environ[key]) in message
    assert expected in message


def test_status_line_shows_mode_soc_pressure(snapshot_factory: Callable[..., Snapshot]) -> None:
    line = status_line(snapshot_factory(5.0))
    assert line == "mode auto, SoC 83.2 %, pressure 7.4 Pa, fan 45 %, 141 CFM"
    unknown = status_line(snapshot_factory(5.0, soc_pct=None, pressure_pa=None))
    assert "SoC unknown" in unknown
    assert "pressure unknown" in unknown


def test_message_is_newline_separated_assignments() -> None:
    assert notify_message(ready=True, watchdog=True, status="a\nb") == b"READY=1\nWATCHDOG=1\nSTATUS=a b"
    assert notify_message(ready=False, watchdog=False, stopping=True) == b"STOPPING=1"


async def test_pings_follow_fresh_snapshots_at_most_every_half_period(
    notify_listener: NotifyListener, snapshot_factory: Callable[..., Snapshot]
) -> None:
    clock = ManualClock()
    environ = {"NOTIFY_SOCKET": notify_listener.environ_value, "WATCHDOG_USEC": "20000000"}
    sink = build_watchdog_sink(environ, clock=clock)
    hub = SnapshotHub()
    task = start_sink(sink, hub)

    hub.publish(snapshot_factory(1.0))
    await settle()
    (first,) = notify_listener.pending()
    assert first["READY"] == "1"
    assert first["WATCHDOG"] == "1"
    assert first["STATUS"].startswith("mode auto, SoC 83.2 %")

    for step_s in (3.0, 6.9):
        clock.now_s += step_s
        hub.publish(snapshot_factory(1.0 + clock.now_s - 1000.0))
        await settle()
    assert notify_listener.pending() == [], "pinged before half of WATCHDOG_USEC (10 s) had passed"

    clock.now_s += 0.1
    hub.publish(snapshot_factory(11.0))
    await settle()
    (ping,) = notify_listener.pending()
    assert ping["WATCHDOG"] == "1"
    assert "READY" not in ping

    clock.now_s += 15.0
    hub.publish(snapshot_factory(11.0))
    await settle()
    assert notify_listener.pending() == [], "a repeated (stale) snapshot must not feed the watchdog"
    hub.publish(snapshot_factory(26.0))
    await settle()
    assert [m.get("WATCHDOG") for m in notify_listener.pending()] == ["1"]

    hub.close()
    await asyncio.wait_for(task, 5)
    (last,) = notify_listener.pending()
    assert last["STOPPING"] == "1"


async def test_watchdog_stops_when_the_loop_hangs(
    notify_listener: NotifyListener, snapshot_factory: Callable[..., Snapshot]
) -> None:
    """A stand-in control loop ticks every 10 ms, then hangs on an await that never completes."""
    watchdog_usec = 100_000
    environ = {"NOTIFY_SOCKET": notify_listener.environ_value, "WATCHDOG_USEC": str(watchdog_usec)}
    hub = SnapshotHub()
    task = start_sink(build_watchdog_sink(environ), hub)
    hang = asyncio.Event()
    hung = asyncio.Event()
    ticks = 0

    async def control_loop() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            hub.publish(snapshot_factory(ticks * 0.01))
            if ticks >= 40:
                hung.set()
                await hang.wait()
            await asyncio.sleep(0.01)

    loop_task = asyncio.create_task(control_loop())
    received = [await notify_listener.receive(5)]
    assert received[0]["READY"] == "1"
    while sum(m.get("WATCHDOG") == "1" for m in received) < 3:
        received.append(await notify_listener.receive(5))
    assert ticks < 40, "three pings must come while the loop still ticks"

    await asyncio.wait_for(hung.wait(), 10)
    await settle()
    notify_listener.pending()
    # The loop is hung. Over five watchdog periods (ten ping intervals) nothing may arrive.
    with pytest.raises(TimeoutError):
        await notify_listener.receive(5 * watchdog_usec / 1e6)
    assert not loop_task.done()

    loop_task.cancel()
    hub.close()
    await asyncio.wait_for(task, 5)
    assert (await notify_listener.receive(5))["STOPPING"] == "1"


async def test_abstract_namespace_socket(
    abstract_notify_listener: NotifyListener, snapshot_factory: Callable[..., Snapshot]
) -> None:
    listener = abstract_notify_listener
    assert listener.environ_value.startswith("@cleanroom-test-")
    sink = build_watchdog_sink({"NOTIFY_SOCKET": listener.environ_value})
    hub = SnapshotHub()
    task = start_sink(sink, hub)
    hub.publish(snapshot_factory(1.0))
    ready = await listener.receive(5)
    assert ready["READY"] == "1"
    assert "WATCHDOG" not in ready, "no WATCHDOG_USEC: systemd asked for no watchdog"
    hub.close()
    await asyncio.wait_for(task, 5)
    assert (await listener.receive(5))["STOPPING"] == "1"


async def test_missing_listener_warns_once_and_keeps_running(
    tmp_path: os.PathLike[str], snapshot_factory: Callable[..., Snapshot], caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock()
    environ = {"NOTIFY_SOCKET": os.path.join(tmp_path, "nobody.sock"), "WATCHDOG_USEC": "1000000"}
    hub = SnapshotHub()
    with caplog.at_level(logging.INFO, logger="controller.watchdog"):
        task = start_sink(build_watchdog_sink(environ, clock=clock), hub)
        for tick in range(5):
            clock.now_s += 1.0
            hub.publish(snapshot_factory(float(tick)))
            await settle()
        assert not task.done()
        hub.close()
        await asyncio.wait_for(task, 5)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "nobody.sock" in warnings[0].getMessage()


async def test_without_watchdog_only_status_is_refreshed(
    notify_listener: NotifyListener, snapshot_factory: Callable[..., Snapshot]
) -> None:
    """Type=notify without WatchdogSec: READY once, then STATUS every 10 s and never WATCHDOG."""
    clock = ManualClock()
    hub = SnapshotHub()
    task = start_sink(build_watchdog_sink({"NOTIFY_SOCKET": notify_listener.environ_value}, clock=clock), hub)
    hub.publish(snapshot_factory(1.0))
    await settle()
    assert [set(m) for m in notify_listener.pending()] == [{"READY", "STATUS"}]
    clock.now_s += 9.0
    hub.publish(snapshot_factory(10.0, soc_pct=82.0))
    await settle()
    assert notify_listener.pending() == []
    clock.now_s += 1.0
    hub.publish(snapshot_factory(11.0, soc_pct=81.9))
    await settle()
    assert notify_listener.pending() == [{"STATUS": "mode auto, SoC 81.9 %, pressure 7.4 Pa, fan 45 %, 141 CFM"}]
    hub.close()
    await asyncio.wait_for(task, 5)

"""The daemon with its sinks, as `cleanroom run` and `cleanroom sim` start it: sinks built from the
configuration and the `--db`, `--mqtt`, `--http`, `--id` flags, each supervised (a crashing sink is
logged and restarted, never taking the control loop down), SIGTERM and SIGINT leading to a clean stop
with the fan at the safe speed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from controller.clock import Clock
from controller.command_bus import CommandBus
from controller.commands import CommandLimits
from controller.config.loader import Config
from controller.daemon import Daemon, RunTotals
from controller.errors import ConfigError
from controller.hub import Sink, SnapshotHub
from drivers.runtime import Backoff, TaskOwner

log = logging.getLogger(__name__)

SINK_FLUSH_TIMEOUT_S = 4.0
"""Bound on the sinks' last flush after the loop stopped: with the daemon's own bounded stop, SIGTERM ends the
process within 10 s whatever hangs (what the recorder cannot write stays in its backlog file)."""
OFF = "none"
EXIT_DEADLINE_S = 9.5
EXIT_FORCED = 70


@dataclass(frozen=True, slots=True)
class SinkChoice:
    """Which sinks to start and where they go (None = not started)."""

    db_url: str | None
    db_enabled: bool
    mqtt_url: str | None
    http: tuple[str, int] | None


def choose_sinks(
    args: argparse.Namespace,
    *,
    db_default: bool,
    mqtt_default: str | None,
    http_default: tuple[str, int] | None,
) -> SinkChoice:
    """Resolve the flags: a flag wins ('none' turns a sink off), else the command's default."""
    from web.config import parse_listen

    db_enabled = args.db != OFF if args.db is not None else db_default
    mqtt = args.mqtt if args.mqtt is not None else mqtt_default
    if args.http is None:
        http = http_default
    elif args.http == OFF:
        http = None
    else:
        http = parse_listen(args.http, "command line", "--http")
    return SinkChoice(
        args.db if args.db not in (None, OFF) else None,
        db_enabled,
        None if mqtt in (None, OFF) else mqtt,
        http,
    )


def build_sinks(choice: SinkChoice, config: Config, clock: Clock, state_dir: Path) -> list[Sink]:
    """The sinks of a choice, plus the systemd watchdog when run under systemd."""
    from controller.watchdog import build_watchdog_sink

    controller_id = config.controller.controller_id
    limits = CommandLimits(config.control.pressure_cap_pa)
    sinks: list[Sink] = []
    reader = None
    if choice.db_enabled:
        from controller.history.recorder import build_recorder

        recorder = build_recorder(choice.db_url, controller_id, config.history, clock, str(state_dir))
        reader = recorder.reader
        sinks.append(recorder)
    if choice.mqtt_url is not None:
        from controller.mqtt.sink import build_mqtt_sink

        sinks.append(build_mqtt_sink(choice.mqtt_url, controller_id, config.mqtt, clock, limits, state_dir))
    if choice.http is not None:
        from web.sink import build_web_sink

        host, port = choice.http
        curve = config.fan.curve
        settings = () if curve.continuous else tuple((p.setting, p.command_pct) for p in curve.points)
        sinks.append(
            build_web_sink(
                host, port, controller_id, config.http, str(state_dir), reader, limits, config.alerts, settings
            )
        )
    watchdog = build_watchdog_sink(os.environ)  # systemd counts real seconds, even under the simulator
    if watchdog is not None:
        sinks.append(watchdog)
    return sinks


async def _supervise(sink: Sink, hub: SnapshotHub, commands: CommandBus) -> None:
    restarts = Backoff(initial_s=1.0, max_s=60.0, jitter=0.0)
    while True:
        delay_s = restarts.delay(restarts.attempts)
        try:
            await sink.run(hub, commands)
            return
        except asyncio.CancelledError:
            raise
        except ConfigError as exc:
            log.error("the %s sink cannot start: %s; trying again in %.0f s", sink.name, exc, delay_s)
        except Exception:
            log.exception("the %s sink failed; restarting it in %.0f s", sink.name, delay_s)
        if hub.closed:
            return
        await asyncio.sleep(restarts.next_delay())


async def serve(
    daemon: Daemon,
    sinks: list[Sink],
    *,
    duration_s: float | None = None,
    should_stop: Callable[[], bool] | None = None,
    progress: Callable[[], None] | None = None,
) -> RunTotals:
    """Run the loop and its sinks until the duration passes, a signal arrives, or `should_stop` says so."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, partial(_on_stop_signal, stop))
    try:
        async with TaskOwner("sinks") as owned:
            supervised = [
                owned.spawn(partial(_supervise, sink, daemon.hub, daemon.commands), f"sink-{sink.name}")
                for sink in sinks
            ]
            reporter = owned.spawn(partial(_report, progress), "progress") if progress else None
            try:
                totals = await daemon.run(duration_s=duration_s, stop=stop, should_stop=should_stop)
            finally:
                if reporter is not None:
                    reporter.cancel()
                flushed = await owned.wait_for(supervised, SINK_FLUSH_TIMEOUT_S)
                for task in set(supervised) - flushed:
                    log.warning(
                        "the %s did not finish within %.0f s; cancelling it", task.get_name(), SINK_FLUSH_TIMEOUT_S
                    )
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)
    return totals


def _on_stop_signal(stop: asyncio.Event) -> None:
    """Start the clean stop, and arm a last resort: the stop's waits are all bounded, but a thread stuck in
    a device or database call can still hold the interpreter's exit, so the process ends regardless once
    EXIT_DEADLINE_S have passed (systemd's default stop timeout is 90 s; this stays well inside it)."""
    if stop.is_set():
        return
    stop.set()
    backstop = threading.Timer(EXIT_DEADLINE_S, _force_exit)
    backstop.daemon = True
    backstop.start()


def _force_exit() -> None:
    log.critical("still not stopped %.0f s after the stop signal; exiting now", EXIT_DEADLINE_S)
    logging.shutdown()
    os._exit(EXIT_FORCED)


async def _report(progress: Callable[[], None]) -> None:
    while True:
        await asyncio.sleep(0.5)
        progress()


def state_directory(args: argparse.Namespace, config: Config, fallback: Path | None = None) -> Path:
    """The state directory: the flag, else the configuration's (or the fallback for the simulator)."""
    raw = args.state_dir or (str(fallback) if fallback else config.controller.state_dir)
    path = Path(raw).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            "command line", "--state-dir", str(path), f"a directory this user can create ({exc.strerror})"
        ) from exc
    return path

"""systemd service notifications: READY once the loop has ticked, WATCHDOG while it keeps ticking.

The pings are driven by snapshots, and snapshots only come from control ticks. A loop that hangs (a
driver call that never returns, a blocked event loop) therefore stops the pings, and systemd kills and
restarts the service after `WatchdogSec=` (deploy/systemd/cleanroom.service).

The sd_notify protocol is one datagram of newline-separated `KEY=VALUE` lines sent to the unix socket
named by `$NOTIFY_SOCKET` (a path, or `@name` in the abstract namespace). The socket code is a few lines;
the PyPI options are unmaintained (`sdnotify`, last release 2017) or need libsystemd to build
(`systemd-python`), so it lives here.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

from controller.clock import Clock, SystemClock
from controller.command_bus import CommandBus
from controller.errors import ConfigError
from controller.hub import Sink, SnapshotHub
from controller.snapshot import Snapshot

log = logging.getLogger(__name__)

ENVIRONMENT = "environment"
STATUS_ONLY_INTERVAL_S = 10.0
"""How often STATUS= is refreshed when systemd asked for no watchdog (Type=notify without WatchdogSec)."""


@dataclass(frozen=True, slots=True)
class NotifySettings:
    """Where to send notifications and how often the watchdog must hear from us."""

    address: str
    """A socket path, or an abstract-namespace name starting with a NUL byte."""
    watchdog_usec: int | None
    """systemd's WatchdogSec in microseconds; None when the watchdog is off or meant for another process."""

    @property
    def ping_interval_s(self) -> float:
        """Ping at half the watchdog period (as sd_watchdog_enabled(3) advises), else refresh STATUS slowly."""
        if self.watchdog_usec is None:
            return STATUS_ONLY_INTERVAL_S
        return self.watchdog_usec / 2_000_000


def parse_notify_environment(environ: Mapping[str, str], pid: int) -> NotifySettings | None:
    """Read NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID; None when not started by systemd with Type=notify."""
    raw_socket = environ.get("NOTIFY_SOCKET", "")
    if not raw_socket:
        return None
    if raw_socket.startswith("@"):
        address = "\0" + raw_socket[1:]
    elif raw_socket.startswith("/"):
        address = raw_socket
    else:
        raise ConfigError(
            ENVIRONMENT, "NOTIFY_SOCKET", raw_socket, "an absolute unix socket path or an abstract name starting with @"
        )
    watchdog_usec = _parse_watchdog_usec(environ.get("WATCHDOG_USEC"))
    watchdog_pid = environ.get("WATCHDOG_PID")
    if watchdog_pid is not None and watchdog_pid.strip() != str(pid):
        watchdog_usec = None
    return NotifySettings(address, watchdog_usec)


def _parse_watchdog_usec(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigError(ENVIRONMENT, "WATCHDOG_USEC", raw, "a positive whole number of microseconds")
    return value


def _format(value: float | None, unit: str, digits: int = 1) -> str:
    return "unknown" if value is None else f"{value:.{digits}f} {unit}"


def status_line(snapshot: Snapshot) -> str:
    """The one line `systemctl status cleanroom` shows: mode, SoC, pressure, fan and alerts."""
    parts = [
        f"mode {snapshot.mode.value}",
        f"SoC {_format(snapshot.soc_pct, '%')}",
        f"pressure {_format(snapshot.pressure_pa, 'Pa')}",
        f"fan {snapshot.fan_command_pct:.0f} %",
        f"{snapshot.flow_cfm:.0f} CFM",
    ]
    if snapshot.alerts:
        parts.append(f"{len(snapshot.alerts)} alert{'s' if len(snapshot.alerts) > 1 else ''}")
    return ", ".join(parts)


def notify_message(*, ready: bool, watchdog: bool, status: str | None = None, stopping: bool = False) -> bytes:
    """One sd_notify datagram with the given assignments."""
    lines = []
    if ready:
        lines.append("READY=1")
    if watchdog:
        lines.append("WATCHDOG=1")
    if stopping:
        lines.append("STOPPING=1")
    if status is not None:
        lines.append("STATUS=" + status.replace("\n", " "))
    return "\n".join(lines).encode()


class NotifySocket:
    """An unconnected, non-blocking datagram socket aimed at systemd's notification socket."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._socket.setblocking(False)

    def send(self, message: bytes) -> None:
        """Send one datagram; raises OSError if systemd is not listening."""
        self._socket.sendto(message, self.address)

    def close(self) -> None:
        """Release the socket."""
        self._socket.close()


class WatchdogSink:
    """Tells systemd the daemon is ready, alive (from fresh snapshots) and stopping."""

    name = "watchdog"

    def __init__(self, settings: NotifySettings, clock: Clock | None = None) -> None:
        self.settings = settings
        self._clock: Clock = clock or SystemClock()
        self._failing = False
        self.sent = 0

    async def run(self, hub: SnapshotHub, commands: CommandBus) -> None:
        """Notify from deliveries until the hub closes, then say STOPPING=1."""
        subscription = hub.subscribe(self.name, coalesce=True)
        sock = NotifySocket(self.settings.address)
        watchdog = self.settings.watchdog_usec is not None
        last_sent_s: float | None = None
        last_tick_s: float | None = None
        try:
            async for delivery in subscription:
                snapshot = delivery.snapshot
                now_s = self._clock.monotonic()
                if last_sent_s is None:
                    self._send(sock, notify_message(ready=True, watchdog=watchdog, status=status_line(snapshot)))
                    last_sent_s, last_tick_s = now_s, snapshot.monotonic_s
                    continue
                fresh = last_tick_s is None or snapshot.monotonic_s > last_tick_s
                last_tick_s = snapshot.monotonic_s
                if fresh and now_s - last_sent_s >= self.settings.ping_interval_s:
                    self._send(sock, notify_message(ready=False, watchdog=watchdog, status=status_line(snapshot)))
                    last_sent_s = now_s
        finally:
            subscription.close()
            self._send(sock, notify_message(ready=False, watchdog=False, stopping=True, status="stopping"))
            sock.close()

    def _send(self, sock: NotifySocket, message: bytes) -> None:
        try:
            sock.send(message)
        except OSError as exc:
            if not self._failing:
                log.warning("cannot notify systemd at %r: %s", sock.address.replace("\0", "@"), exc)
                self._failing = True
            return
        if self._failing:
            log.info("notifying systemd again")
            self._failing = False
        self.sent += 1


def build_watchdog_sink(environ: Mapping[str, str], *, clock: Clock | None = None) -> Sink | None:
    """The systemd notifier when run under Type=notify (NOTIFY_SOCKET set), else None."""
    settings = parse_notify_environment(environ, os.getpid())
    if settings is None:
        return None
    return WatchdogSink(settings, clock)

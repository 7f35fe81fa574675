"""The web sink: uvicorn serving the app inside the daemon's event loop, beside the control loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from typing import cast

import uvicorn

from controller.alarm_config import AlertsSection
from controller.command_bus import CommandBus
from controller.commands import CommandLimits
from controller.errors import ConfigError
from controller.hub import SnapshotHub
from drivers.runtime import TaskOwner
from web.app import create_app
from web.config import HttpSection
from web.context import HistoryReader, WebContext
from web.memory_history import MemoryHistory
from web.slow_clients import MAX_HEADER_BYTES, with_request_timeout
from web.tokens import TokenStore, token_command

log = logging.getLogger(__name__)


class EmbeddedServer(uvicorn.Server):
    """uvicorn inside the daemon: without its signal handlers (the daemon owns SIGTERM/SIGINT and stops us
    with `stop()`), and without its 10 Hz housekeeping loop, which on a Pi Zero was most of an idle daemon's
    CPU. That loop refreshes the Date header and checks for exit; here the protocol refreshes the Date
    header when a request arrives (`web.slow_clients`), and `stop()` wakes the loop at once, so between
    requests the server does not wake at all."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._stop_requested = asyncio.Event()

    def stop(self) -> None:
        """Leave the main loop now and shut down gracefully."""
        self.should_exit = True
        self._stop_requested.set()

    async def main_loop(self) -> None:
        """One housekeeping pass for the first headers, then nothing until `stop()`."""
        if not await self.on_tick(0):
            await self._stop_requested.wait()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket, or a ConfigError naming the address (in use, not on this machine...)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP, and
    # without it every keep-alive response waits ~40 ms for Nagle and the client's delayed ACK.
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        listener.bind((host, port))
        listener.listen(128)
        listener.setblocking(False)
        return listener
    except OSError as exc:
        listener.close()
        raise ConfigError(
            "http", "listen", f"{host}:{port}", f"an address this machine can listen on ({exc.strerror})"
        ) from exc


class WebSink:
    """Serves the API and dashboard until the hub closes; keeps an in-memory 24 h history meanwhile."""

    name = "web"

    def __init__(
        self,
        host: str,
        port: int,
        controller_id: str,
        section: HttpSection,
        state_dir: str,
        history: HistoryReader | None = None,
        limits: CommandLimits | None = None,
        alerts: AlertsSection | None = None,
        fan_settings: tuple[tuple[str, float], ...] = (),
    ) -> None:
        self.host = host
        self.port = port
        self.controller_id = controller_id
        self.section = section
        self.state_dir = state_dir
        self.history = history
        self.limits = limits or CommandLimits()
        self.alerts = alerts or AlertsSection()
        self.fan_settings = fan_settings
        self.started = asyncio.Event()
        self.context: WebContext | None = None

    @property
    def url(self) -> str:
        """The base URL (valid once `started` is set: the socket listens, so connections queue until uvicorn
        accepts them; the real port when 0 was asked)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def run(self, hub: SnapshotHub, commands: CommandBus) -> None:
        """Serve until the hub closes, then stop uvicorn (open streams end with their subscriptions)."""
        tokens = TokenStore(self.state_dir)
        listener = bind_socket(self.host, self.port)
        self.port = listener.getsockname()[1]
        memory = MemoryHistory(self.section.memory_history_s, self.section.memory_resolution_s)
        subscription = hub.subscribe("web-history", coalesce=True)
        context = WebContext(
            controller_id=self.controller_id,
            section=self.section,
            hub=hub,
            commands=commands,
            tokens=tokens,
            memory=memory,
            history=self.history,
            limits=self.limits,
            alerts=self.alerts,
            token_command=token_command(self.state_dir),
            fan_settings=self.fan_settings,
        )
        self.context = context
        config = uvicorn.Config(
            create_app(context),
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=5,
            http=with_request_timeout(self.section.request_timeout_s),
            h11_max_incomplete_event_size=MAX_HEADER_BYTES,
            timeout_keep_alive=5,
        )
        server = EmbeddedServer(config)
        async with TaskOwner("web") as tasks:
            serving = tasks.spawn(lambda: server.serve(sockets=[listener]), "web-uvicorn")
            serving.add_done_callback(lambda _task: subscription.close())
            log.info("dashboard and API at %s/ (read access: %s)", self.url, self.section.read_access.value)
            self.started.set()
            try:
                async for delivery in subscription:
                    memory.add(delivery.snapshot, delivery.events)
            finally:
                subscription.close()
                server.stop()
                await tasks.wait()
                listener.close()


def build_web_sink(
    host: str,
    port: int,
    controller_id: str,
    section: HttpSection,
    state_dir: str,
    history: object | None,
    limits: CommandLimits | None = None,
    alerts: AlertsSection | None = None,
    fan_settings: tuple[tuple[str, float], ...] = (),
) -> WebSink:
    """The sink the daemon runs in its TaskGroup: `await sink.run(hub, commands)`; commands are checked
    against the ranges `limits` give, and `/api/meta` shows `alerts` levels (the configuration's)."""
    history_reader = cast(HistoryReader | None, history)
    return WebSink(host, port, controller_id, section, state_dir, history_reader, limits, alerts, fan_settings)

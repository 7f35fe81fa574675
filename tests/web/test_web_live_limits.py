"""Live-view (SSE) clients on the real web sink (uvicorn on a free port): a client that reads nothing is
dropped after the write timeout and its slot given back; one address cannot take every slot."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from controller.command_bus import CommandBus
from controller.hub import SnapshotHub
from controller.sim.snapshots import sample_snapshot
from controller.snapshot import Event, EventKind
from tests.eventually import eventually
from web.config import HttpSection
from web.sink import WebSink

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SECTION = HttpSection(
    host="127.0.0.1", port=0, max_clients=8, max_clients_per_address=2, live_write_timeout_s=0.5, push_interval_s=0.05
)


@dataclass
class Served:
    sink: WebSink
    hub: SnapshotHub


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    hub = SnapshotHub()
    sink = WebSink("127.0.0.1", 0, "room-1", SECTION, str(tmp_path))
    running = asyncio.create_task(sink.run(hub, CommandBus()))
    await asyncio.wait_for(sink.started.wait(), 30)
    hub.publish(sample_snapshot(controller_id="room-1", timestamp_utc=T0))
    try:
        yield Served(sink, hub)
    finally:
        hub.close()
        await asyncio.wait_for(running, 30)


def open_live_without_reading(port: int) -> socket.socket:
    """A client that sends the request and never reads (its receive buffer kept small)."""
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.connect(("127.0.0.1", port))
    client.sendall(b"GET /api/live HTTP/1.1\r\nHost: room.local\r\n\r\n")
    return client


async def flood_events(hub: SnapshotHub, rounds: int) -> None:
    """Big messages (a thousand events each) so that the unread socket's buffers fill quickly."""
    for n in range(rounds):
        when = T0 + timedelta(seconds=n)
        events = tuple(Event(EventKind.COMMAND_ACCEPTED, "x" * 200, when) for _ in range(1000))
        hub.publish(sample_snapshot(controller_id="room-1", timestamp_utc=when, events=events))
        await asyncio.sleep(0.02)


async def test_a_live_client_that_reads_nothing_is_dropped(served: Served) -> None:
    context = served.sink.context
    assert context is not None
    silent = open_live_without_reading(served.sink.port)
    try:
        await eventually(lambda: context.live_clients == 1, what="the silent client's stream")
        flooding = asyncio.create_task(flood_events(served.hub, 10_000))
        await eventually(lambda: context.live_clients == 0, timeout_s=60, what="the silent client dropped")
        flooding.cancel()
    finally:
        silent.close()


async def test_one_address_cannot_take_every_slot(served: Served) -> None:
    context = served.sink.context
    assert context is not None
    clients = [open_live_without_reading(served.sink.port) for _ in range(2)]
    try:
        await eventually(lambda: context.live_clients == 2, what="two streams from one address")
        async with httpx.AsyncClient(base_url=served.sink.url) as http:
            refused = await http.get("/api/live")
        assert refused.status_code == 503
        assert "from 127.0.0.1" in refused.json()["message"]
        assert context.live_by_address == {"127.0.0.1": 2}
    finally:
        for client in clients:
            client.close()
    await eventually(lambda: context.live_clients == 0, what="slots given back")

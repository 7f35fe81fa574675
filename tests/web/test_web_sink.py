"""The web sink on a real uvicorn and a real TCP port, in the same event loop as a stand-in control loop."""

from __future__ import annotations

import asyncio
import json
import socket
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest

from controller.command_bus import CommandBus
from controller.errors import ConfigError
from controller.hub import SnapshotHub
from controller.snapshot import Event, EventKind
from tests.eventually import eventually
from tests.web.web_rig import START_UTC, FakeLoop, make_snapshot
from web.config import HttpSection
from web.sink import WebSink, bind_socket, build_web_sink
from web.tokens import token_path


@dataclass
class Running:
    sink: WebSink
    hub: SnapshotHub
    loop: FakeLoop
    task: asyncio.Task[None]


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    hub, commands = SnapshotHub(), CommandBus()
    section = HttpSection(max_clients=2, push_interval_s=0.05)
    sink = build_web_sink("127.0.0.1", 0, "room-1", section, str(tmp_path), None)
    task = asyncio.create_task(sink.run(hub, commands))
    await asyncio.wait_for(sink.started.wait(), 10)
    yield Running(sink, hub, FakeLoop(hub, commands), task)
    hub.close()
    await asyncio.wait_for(task, 15)


async def _messages(response: httpx.Response) -> AsyncIterator[tuple[str, object]]:
    """Parse a text/event-stream body into (event, decoded data)."""
    event, data = "message", ""
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
        elif line == "" and data:
            yield event, json.loads(data)
            event, data = "message", ""


async def test_state_and_commands_over_a_real_socket(running: Running, tmp_path: Path) -> None:
    running.loop.tick()
    token = token_path(tmp_path).read_text().strip()
    assert stat.S_IMODE(token_path(tmp_path).stat().st_mode) == 0o600
    ticking = asyncio.create_task(running.loop.run(0.02))
    async with httpx.AsyncClient(base_url=running.sink.url) as client:
        state = (await client.get("/api/state")).json()
        assert state["controller_id"] == "room-1"
        answer = await client.post("/api/mode", json={"mode": "manual"}, headers={"Authorization": f"Bearer {token}"})
        assert answer.json() == {"command": "mode", "accepted": True, "message": "mode set to manual"}
        assert (await client.get("/api/state")).json()["mode"] == "manual"
    ticking.cancel()


async def test_live_stream_coalesces_to_the_newest_snapshot_and_keeps_every_event(running: Running) -> None:
    running.loop.tick()
    async with (
        httpx.AsyncClient(base_url=running.sink.url, timeout=10) as client,
        client.stream("GET", "/api/live") as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        messages = _messages(response)
        kind, first = await anext(messages)
        assert kind == "state"
        assert isinstance(first, dict)
        # A slow phone: 50 snapshots published while it reads nothing; each carries one event.
        for i in range(50):
            event = Event(EventKind.DOOR_OPEN, f"door {i}", START_UTC)
            running.hub.publish(replace(make_snapshot(100 + i), events=(event,)))
        newest = running.hub.latest
        assert newest is not None
        seen_events: list[str] = []
        states = 0
        while True:
            kind, data = await anext(messages)
            if kind == "events":
                assert isinstance(data, list)
                seen_events += [e["message"] for e in data if e["kind"] == "door_open"]
            elif kind == "state":
                assert isinstance(data, dict)
                states += 1
                if data["monotonic_s"] == newest.monotonic_s:
                    break
        assert seen_events == [f"door {i}" for i in range(50)]
        assert states <= 2


async def test_client_limit_refuses_then_frees_the_slot(running: Running) -> None:
    running.loop.tick()
    async with httpx.AsyncClient(base_url=running.sink.url, timeout=10) as client:
        first = await client.send(client.build_request("GET", "/api/live"), stream=True)
        second = await client.send(client.build_request("GET", "/api/live"), stream=True)
        assert (first.status_code, second.status_code) == (200, 200)
        refused = await client.get("/api/live")
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "10"
        assert "at most 2" in refused.json()["message"]
        assert (await client.get("/healthz")).json()["live_clients"] == 2
        await first.aclose()
        context = running.sink.context
        assert context is not None
        await eventually(lambda: context.live_clients < 2)
        again = await client.send(client.build_request("GET", "/api/live"), stream=True)
        assert again.status_code == 200
        await again.aclose()
        await second.aclose()
        await eventually(lambda: context.live_clients == 0)
        assert running.hub.subscriber_count == 1  # only the sink's own history subscription


async def test_max_messages_ends_the_stream(running: Running) -> None:
    running.loop.tick()
    ticking = asyncio.create_task(running.loop.run(0.01))
    async with httpx.AsyncClient(base_url=running.sink.url, timeout=10) as client:
        response = await client.get("/api/live", params={"max_messages": 3})
    ticking.cancel()
    assert response.text.count("event: state") == 3


async def test_closing_the_hub_stops_the_server_and_open_streams(tmp_path: Path) -> None:
    hub, commands = SnapshotHub(), CommandBus()
    sink = WebSink("127.0.0.1", 0, "room-1", HttpSection(), str(tmp_path))
    task = asyncio.create_task(sink.run(hub, commands))
    await sink.started.wait()
    FakeLoop(hub, commands).tick()
    async with httpx.AsyncClient(base_url=sink.url, timeout=10) as client:
        response = await client.send(client.build_request("GET", "/api/live"), stream=True)
        lines = response.aiter_lines()
        assert (await anext(lines)).startswith("retry:")
        hub.close()
        rest = [line async for line in lines]
        assert any(line.startswith("event: state") for line in rest)
        await asyncio.wait_for(task, 15)
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(base_url=sink.url) as client:
            await client.get("/healthz")


async def test_address_in_use_is_a_config_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        sink = WebSink("127.0.0.1", port, "room-1", HttpSection(), str(tmp_path))
        with pytest.raises(ConfigError, match=r"listen = '127\.0\.0\.1:\d+': expected an address this machine"):
            await sink.run(SnapshotHub(), CommandBus())


def test_the_listening_socket_is_tcp_so_responses_are_not_delayed_by_nagle() -> None:
    listener = bind_socket("127.0.0.1", 0)
    try:
        assert listener.proto == socket.IPPROTO_TCP  # asyncio sets TCP_NODELAY only on such accepted sockets
        assert listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        listener.close()

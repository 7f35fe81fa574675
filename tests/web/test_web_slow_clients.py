"""Slow and silent clients on the real web sink (uvicorn on a free port, raw sockets): a client that sends its
request a byte at a time, or nothing at all, is dropped once its request deadline passes, while other
clients keep being answered; headers over the size limit are answered 400, not 5xx."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from controller.command_bus import CommandBus
from controller.hub import SnapshotHub
from controller.sim.snapshots import sample_snapshot
from tests.eventually import eventually
from web.config import HttpSection
from web.sink import WebSink
from web.slow_clients import MAX_CONNECTIONS_PER_ADDRESS

SECTION = HttpSection(host="127.0.0.1", port=0, request_timeout_s=1.0)


@pytest.fixture
async def sink(tmp_path: Path) -> AsyncIterator[WebSink]:
    hub = SnapshotHub()
    web = WebSink("127.0.0.1", 0, "room-1", replace(SECTION), str(tmp_path))
    running = asyncio.create_task(web.run(hub, CommandBus()))
    await asyncio.wait_for(web.started.wait(), 30)
    hub.publish(sample_snapshot(controller_id="room-1"))
    try:
        yield web
    finally:
        hub.close()
        await asyncio.wait_for(running, 30)


async def _dribble_until_closed(port: int, request: bytes, interval_s: float, limit_s: float = 30.0) -> int:
    """Send the request a byte at a time; how many bytes went before the server closed the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sent = 0
    try:
        async with asyncio.timeout(limit_s):
            for byte in request:
                writer.write(bytes([byte]))
                await writer.drain()
                sent += 1
                try:
                    data = await asyncio.wait_for(reader.read(1024), interval_s)
                except TimeoutError:
                    continue
                if not data:
                    return sent
            return sent if await reader.read(1024) == b"" else -1
    except ConnectionError:
        return sent
    finally:
        writer.close()


async def _answers(base: str, stop: asyncio.Event) -> int:
    count = 0
    async with httpx.AsyncClient(base_url=base, timeout=10.0) as client:
        while not stop.is_set():
            response = await client.get("/healthz")
            assert response.status_code == 200
            count += 1
            await asyncio.sleep(0.05)
    return count


async def test_a_slow_header_client_is_dropped_and_others_are_answered(sink: WebSink) -> None:
    request = b"GET /api/state HTTP/1.1\r\nHost: room.local\r\nX-Padding: " + b"a" * 400 + b"\r\n\r\n"
    stop = asyncio.Event()
    others = asyncio.create_task(_answers(sink.url, stop))
    sent = await _dribble_until_closed(sink.port, request, interval_s=0.05)
    stop.set()
    answered = await others
    assert 0 < sent < len(request), "the server waited for the whole dribbled request"
    assert answered > 0


async def test_a_client_that_sends_nothing_is_dropped(sink: WebSink) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", sink.port)
    try:
        assert await asyncio.wait_for(reader.read(1024), 30) == b""
    finally:
        writer.close()


async def test_a_slow_second_request_on_a_kept_alive_connection_is_dropped(sink: WebSink) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", sink.port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: room.local\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        assert head.startswith(b"HTTP/1.1 200")
        length = int(
            next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")).split(b":")[1]
        )
        await reader.readexactly(length)
        writer.write(b"GET /heal")  # and nothing more
        await writer.drain()
        assert await asyncio.wait_for(reader.read(1024), 30) == b""
    finally:
        writer.close()


async def test_headers_over_the_limit_are_a_400(sink: WebSink) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", sink.port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: room.local\r\nX-Big: " + b"b" * 12_000)  # still unfinished
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(1024), 30)
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 400")


async def test_idle_sockets_beyond_the_per_address_cap_are_closed_at_once(tmp_path: Path) -> None:
    hub = SnapshotHub()
    web = WebSink("127.0.0.1", 0, "room-1", replace(SECTION, request_timeout_s=60.0), str(tmp_path))
    running = asyncio.create_task(web.run(hub, CommandBus()))
    await asyncio.wait_for(web.started.wait(), 30)
    idle: list[asyncio.StreamWriter] = []
    try:
        for _ in range(MAX_CONNECTIONS_PER_ADDRESS):
            _reader, writer = await asyncio.open_connection("127.0.0.1", web.port)
            idle.append(writer)
        reader, writer = await asyncio.open_connection("127.0.0.1", web.port)
        # closed by the cap long before the 60 s request deadline could close it
        assert await asyncio.wait_for(reader.read(1024), 20) == b""
        writer.close()
        for writer in idle:
            writer.close()
        idle.clear()
        async with httpx.AsyncClient(base_url=web.url, timeout=10.0) as client:
            response = await eventually(
                lambda: _status(client), timeout_s=20, what="answered again once the idle sockets are gone"
            )
        assert response == 200
    finally:
        for writer in idle:
            writer.close()
        hub.close()
        await asyncio.wait_for(running, 30)


async def _status(client: httpx.AsyncClient) -> int | None:
    try:
        return (await client.get("/healthz")).status_code
    except httpx.TransportError:
        return None

"""The embedded uvicorn wakes once per housekeeping interval, not ten times a second: every tick refreshes
the Date header (uvicorn does that on multiples of 10), and `stop()` ends it without waiting for a tick."""

from __future__ import annotations

import asyncio

import httpx
import uvicorn

from tests.eventually import eventually
from web.sink import EmbeddedServer, bind_socket


async def _app(scope: dict[str, object], receive: object, send: object) -> None:
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 204, "headers": []})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b""})  # type: ignore[operator]


class _CountingServer(EmbeddedServer):
    def __init__(self, config: uvicorn.Config, housekeeping_s: float) -> None:
        super().__init__(config, housekeeping_s)
        self.counters: list[int] = []

    async def on_tick(self, counter: int) -> bool:
        self.counters.append(counter)
        return await super().on_tick(counter)


async def test_every_tick_is_a_housekeeping_tick_and_stop_does_not_wait_for_one() -> None:
    listener = bind_socket("127.0.0.1", 0)
    port = listener.getsockname()[1]
    config = uvicorn.Config(_app, lifespan="off", log_config=None, access_log=False)
    server = _CountingServer(config, housekeeping_s=3600.0)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    await eventually(lambda: server.started, timeout_s=30.0)
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{port}/")
    assert response.status_code == 204
    assert "date" in response.headers
    server.stop()
    await asyncio.wait_for(serving, 60)
    assert server.counters == [0, 10]


async def test_the_ticks_pass_multiples_of_ten() -> None:
    listener = bind_socket("127.0.0.1", 0)
    config = uvicorn.Config(_app, lifespan="off", log_config=None, access_log=False)
    server = _CountingServer(config, housekeeping_s=0.001)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    await eventually(lambda: len(server.counters) >= 5, timeout_s=30.0)
    server.stop()
    await asyncio.wait_for(serving, 60)
    assert all(counter % 10 == 0 for counter in server.counters)
    assert server.counters[:5] == [0, 10, 20, 30, 40]

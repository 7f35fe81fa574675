"""The embedded uvicorn does not wake between requests: its housekeeping runs once at start (uvicorn's own
runs ten times a second), the Date header is refreshed by the protocol when a request arrives, and `stop()`
ends the server without waiting for anything."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
import uvicorn

from tests.eventually import eventually
from web.sink import EmbeddedServer, bind_socket
from web.slow_clients import with_request_timeout


async def _app(scope: dict[str, object], receive: object, send: object) -> None:
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 204, "headers": []})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b""})  # type: ignore[operator]


class _CountingServer(EmbeddedServer):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.counters: list[int] = []

    async def on_tick(self, counter: int) -> bool:
        self.counters.append(counter)
        return await super().on_tick(counter)


def _config(date_header: bool = True) -> uvicorn.Config:
    return uvicorn.Config(
        _app,
        lifespan="off",
        log_config=None,
        access_log=False,
        http=with_request_timeout(10.0),
        date_header=date_header,
    )


async def _started(server: EmbeddedServer) -> tuple[asyncio.Task[None], int]:
    listener = bind_socket("127.0.0.1", 0)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    await eventually(lambda: server.started, timeout_s=30.0)
    return serving, listener.getsockname()[1]


async def test_requests_get_the_current_date_while_the_server_never_wakes_on_its_own() -> None:
    server = _CountingServer(_config())
    serving, port = await _started(server)
    dates = []
    async with httpx.AsyncClient() as client:
        for _ in range(2):
            response = await client.get(f"http://127.0.0.1:{port}/")
            assert response.status_code == 204
            dates.append(parsedate_to_datetime(response.headers["date"]))
            await asyncio.sleep(1.2)
    server.stop()
    await asyncio.wait_for(serving, 60)
    assert server.counters == [0]
    assert (dates[1] - dates[0]).total_seconds() >= 1.0
    assert abs((datetime.now(UTC) - dates[1]).total_seconds()) < 30.0


async def test_the_server_header_stays_and_no_date_is_added_when_uvicorn_is_told_not_to() -> None:
    server = EmbeddedServer(_config(date_header=False))
    serving, port = await _started(server)
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{port}/")
    server.stop()
    await asyncio.wait_for(serving, 60)
    assert "date" not in response.headers
    assert response.headers["server"] == "uvicorn"


async def test_stop_ends_an_idle_server() -> None:
    server = _CountingServer(_config())
    serving, _port = await _started(server)
    server.stop()
    await asyncio.wait_for(serving, 60)
    assert server.counters == [0]

"""Limits checked before a request body is read: the token of a command first (401), then the body's size
(413, by Content-Length or while a chunked body streams in). Driven through the app's ASGI interface, which
shows how much of the body the app asked for."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest

from controller.command_bus import CommandBus
from controller.hub import SnapshotHub
from web.app import create_app
from web.config import HttpSection
from web.context import WebContext
from web.memory_history import MemoryHistory
from web.middleware import MAX_BODY_BYTES
from web.tokens import TokenStore, load_or_create_token


class Exchange:
    """One request sent in chunks; counts how many chunks the app pulled and keeps the answer."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.pulled = 0
        self.status = 0
        self.body = b""

    async def receive(self) -> dict[str, Any]:
        if self.pulled < len(self.chunks):
            self.pulled += 1
            return {
                "type": "http.request",
                "body": self.chunks[self.pulled - 1],
                "more_body": self.pulled < len(self.chunks),
            }
        return {"type": "http.disconnect"}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")


async def post(tmp_path: Path, chunks: list[bytes], *, token: str | None, length: int | None) -> Exchange:
    context = WebContext(
        controller_id="room-1", section=HttpSection(), hub=SnapshotHub(), commands=CommandBus(),
        tokens=TokenStore(tmp_path), memory=MemoryHistory(), history=None,
    )  # fmt: skip
    app = create_app(context)
    headers = [(b"content-type", b"application/json")]
    if token is not None:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/api/commands/speed", "raw_path": b"/api/commands/speed", "query_string": b"", "headers": headers,
        "client": ("192.168.1.50", 50000), "server": ("room.local", 80), "root_path": "",
    }  # fmt: skip
    exchange = Exchange(chunks)
    await app(scope, exchange.receive, exchange.send)
    return exchange


HUGE = [b"x" * 65536] * 5000  # 300 MB if it were all read


async def test_a_command_without_the_token_is_refused_before_its_body(tmp_path: Path) -> None:
    exchange = await post(tmp_path, HUGE, token=None, length=65536 * 5000)
    assert exchange.status == 401
    assert exchange.pulled == 0
    assert json.loads(exchange.body)["field"] == "Authorization"
    wrong = await post(tmp_path, HUGE, token="wrong", length=None)
    assert (wrong.status, wrong.pulled) == (401, 0)


async def test_a_body_over_the_limit_is_refused_by_its_length_before_it_is_read(tmp_path: Path) -> None:
    token = load_or_create_token(tmp_path)
    exchange = await post(tmp_path, HUGE, token=token, length=65536 * 5000)
    assert exchange.status == 413
    assert exchange.pulled == 0
    assert json.loads(exchange.body)["expected"] == f"at most {MAX_BODY_BYTES} bytes"


@pytest.mark.parametrize("chunk_bytes", [1024, 65536])
async def test_a_chunked_body_is_cut_off_once_over_the_limit(tmp_path: Path, chunk_bytes: int) -> None:
    token = load_or_create_token(tmp_path)
    exchange = await post(tmp_path, [b" " * chunk_bytes] * 1000, token=token, length=None)
    assert exchange.status == 413
    assert exchange.pulled <= MAX_BODY_BYTES // chunk_bytes + 1


async def test_a_small_command_with_the_token_goes_through(tmp_path: Path) -> None:
    token = load_or_create_token(tmp_path)
    exchange = await post(tmp_path, [b'{"value": "fast"}'], token=token, length=17)
    assert exchange.status == 400
    assert json.loads(exchange.body)["field"] == "speed"

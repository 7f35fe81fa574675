"""Hardening and caching headers on every response, and the limits checked before a request body is read."""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'"
)


class SecurityHeaders:
    """Plain ASGI middleware (streaming-safe) adding hardening and caching headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                api = path.startswith("/api/") or path in ("/healthz", "/metrics", "/openapi.json")
                headers.setdefault("Cache-Control", "no-store" if api else "no-cache")
            await send(message)

        await self.app(scope, receive, send_with_headers)


MAX_BODY_BYTES = 4096
"""Largest request body read (a command is a few dozen bytes)."""
COMMAND_PATHS = ("/api/commands/", "/api/mode")


class RequestLimits:
    """Plain ASGI middleware that refuses before the body is read: a command without the right token (401),
    and any body over MAX_BODY_BYTES (413, by its Content-Length, or while it streams in when chunked)."""

    def __init__(
        self, app: ASGIApp, check_token: Callable[[str | None], bool], token_command: str = "cleanroom token"
    ) -> None:
        self.app = app
        self.check_token = check_token
        self.token_command = token_command

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path: str = scope.get("path", "")
        if path.startswith(COMMAND_PATHS) and not self.check_token(_bearer(headers.get("authorization"))):
            await _refuse(
                send,
                401,
                f"commands need the API token (`{self.token_command}` shows it), as 'Authorization: Bearer <token>'",
                "Authorization",
                "Bearer <token>",
            )
            return
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            await _refuse(send, 413, "request body too large", "body", f"at most {MAX_BODY_BYTES} bytes")
            return
        received = 0
        started = refused = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_BODY_BYTES and not started:
                    refused = True
                    await _refuse(send, 413, "request body too large", "body", f"at most {MAX_BODY_BYTES} bytes")
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 has been sent; whatever the app answers to the cut-off body is dropped
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counting_receive, guarded_send)


def _bearer(authorization: str | None) -> str | None:
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _refuse(send: Send, status: int, message: str, field: str, expected: str) -> None:
    body = json.dumps({"message": message, "field": field, "value": None, "expected": expected}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

"""Live updates as server-sent events: each client gets the newest snapshot (coalesced), at most one per
push interval, plus every event since its previous message; a bounded number of clients at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable

from starlette.responses import StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from controller.hub import Delivery, Subscription
from controller.snapshot import Snapshot

log = logging.getLogger(__name__)

KEEPALIVE_S = 15.0
RETRY_MS = 3000


def _message(event: str, data: str) -> str:
    return f"event: {event}\ndata: {data}\n\n"


class SnapshotEncoder:
    """JSON of the newest snapshot, encoded once however many clients ask for it."""

    def __init__(self) -> None:
        self._snapshot: Snapshot | None = None
        self._text = ""

    def text(self, snapshot: Snapshot) -> str:
        """`snapshot.to_dict()` as compact JSON (cached for the last snapshot seen)."""
        if snapshot is not self._snapshot:
            self._text = json.dumps(snapshot.to_dict(), separators=(",", ":"))
            self._snapshot = snapshot
        return self._text


def encode_delivery(delivery: Delivery, encoder: SnapshotEncoder) -> str:
    """One `state` message, preceded by an `events` message when events happened since the last one."""
    text = ""
    if delivery.events:
        events = json.dumps([e.to_dict() for e in delivery.events], separators=(",", ":"))
        text += _message("events", events)
    return text + _message("state", encoder.text(delivery.snapshot))


PUSH_SLACK = 0.1
"""A delivery that comes within this fraction of the push interval of being due goes out at once: when
ticks come at the push interval (1 s both, by default) a stream never waits on a timer of its own."""


async def stream_deliveries(
    subscription: Subscription, encoder: SnapshotEncoder, push_interval_s: float, max_messages: int | None
) -> AsyncGenerator[str, None]:
    """The text/event-stream body, at most one state per push interval (the newest); ends when the hub
    closes or after `max_messages` states."""
    yield f"retry: {RETRY_MS}\n\n"
    loop = asyncio.get_running_loop()
    sent = 0
    last_sent_s: float | None = None
    while max_messages is None or sent < max_messages:
        try:
            async with asyncio.timeout(KEEPALIVE_S):  # not wait_for: it wraps the wait in a new task each time
                await subscription.wait()
        except TimeoutError:
            yield ": keepalive\n\n"
            continue
        if last_sent_s is not None:
            early_s = last_sent_s + push_interval_s - loop.time()
            if early_s > PUSH_SLACK * push_interval_s:
                await asyncio.sleep(early_s)  # the subscription coalesces meanwhile, keeping every event
        delivery = subscription.get_nowait()
        if delivery is None:
            return
        yield encode_delivery(delivery, encoder)
        last_sent_s = loop.time()
        sent += 1


class LiveResponse(StreamingResponse):
    """A stream that gives its client slot back however it ends (even if it never started)."""

    def __init__(self, content: AsyncIterator[str], release: Callable[[], None], write_timeout_s: float) -> None:
        super().__init__(
            content,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
        self._release = release
        self._write_timeout_s = write_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Stream; a client that takes more than the write timeout to take one message (it reads nothing, so
        the server's send buffer stays full) is dropped and its slot given back."""

        async def send_or_drop(message: Message) -> None:
            async with asyncio.timeout(self._write_timeout_s):
                await send(message)

        try:
            await super().__call__(scope, receive, send_or_drop)
        except* TimeoutError:
            client = scope.get("client")
            log.warning("dropping live client %s: it read nothing for %g s", client, self._write_timeout_s)
        finally:
            self._release()

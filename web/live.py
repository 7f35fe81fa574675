"""Live updates as server-sent events: each client gets the newest snapshot (coalesced), at most one per
push interval, plus every event since its previous message; a bounded number of clients at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable

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


async def stream_deliveries(
    subscription: Subscription, encoder: SnapshotEncoder, push_interval_s: float, max_messages: int | None
) -> AsyncIterator[str]:
    """The text/event-stream body; ends when the hub closes or after `max_messages` states."""
    yield f"retry: {RETRY_MS}\n\n"
    sent = 0
    while max_messages is None or sent < max_messages:
        try:
            delivery = await asyncio.wait_for(subscription.get(), KEEPALIVE_S)
        except TimeoutError:
            yield ": keepalive\n\n"
            continue
        if delivery is None:
            return
        yield encode_delivery(delivery, encoder)
        sent += 1
        if max_messages is None or sent < max_messages:
            await asyncio.sleep(push_interval_s)


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

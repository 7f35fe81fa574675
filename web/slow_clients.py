"""A deadline on each HTTP request, which uvicorn does not have: its `timeout_keep_alive` only runs between
requests, so a client that connects and sends nothing, or sends its headers a byte at a time (slowloris),
would hold a connection (and a file descriptor) for ever. Here a connection whose request is not complete
(headers and body) `request_timeout_s` after it started is closed; header size is bounded by h11
(`h11_max_incomplete_event_size`, answered 400). Open connections are capped per client address and in
all, so that a flood of idle sockets cannot use up the process's file descriptors (which the drivers and
the database need too): one over a cap is closed at once."""

from __future__ import annotations

import asyncio
import logging
from email.utils import formatdate
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 8192
MAX_CONNECTIONS_PER_ADDRESS = 32
MAX_CONNECTIONS = 256


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a per-request deadline (set by `with_request_timeout`)."""

    request_timeout_s = 10.0
    open_by_address: dict[str, int]

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._request_timer: asyncio.TimerHandle | None = None
        self._address: str | None = str(self.client[0]) if self.client else "?"
        counts = self.open_by_address
        if counts.get(self._address, 0) >= MAX_CONNECTIONS_PER_ADDRESS or sum(counts.values()) >= MAX_CONNECTIONS:
            self._address = None
            log.warning("refusing a connection from %s: too many open connections", self.client)
            transport.close()
            return
        counts[self._address] = counts.get(self._address, 0) + 1
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._request_timer is None and self.conn.their_state is h11.IDLE:
            self._arm()  # the first bytes of the next request on a kept-alive connection
        self._refresh_date()
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE and self.conn.their_state is not h11.SEND_BODY:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._address is not None:
            left = self.open_by_address.get(self._address, 1) - 1
            if left > 0:
                self.open_by_address[self._address] = left
            else:
                self.open_by_address.pop(self._address, None)
            self._address = None
        super().connection_lost(exc)

    def _refresh_date(self) -> None:
        """The Date header uvicorn's housekeeping loop would keep (the embedded server has none, so that an
        idle daemon sleeps): refreshed when a request comes in, which is when a response will need it."""
        if not self.config.date_header:
            return
        date = (b"date", formatdate(usegmt=True).encode())
        headers = self.server_state.default_headers
        if not headers or headers[0] != date:
            self.server_state.default_headers = [date, *self.config.encoded_headers]

    def _arm(self) -> None:
        self._disarm()
        self._request_timer = self.loop.call_later(self.request_timeout_s, self._expired)

    def _disarm(self) -> None:
        timer = getattr(self, "_request_timer", None)
        if timer is not None:
            timer.cancel()
            self._request_timer = None

    def _expired(self) -> None:
        self._request_timer = None
        if self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and not self.transport.is_closing():
            log.info(
                "closing a connection from %s: request not complete within %g s", self.client, self.request_timeout_s
            )
            self.transport.close()


def with_request_timeout(timeout_s: float) -> type[DeadlineH11Protocol]:
    """The protocol class for uvicorn.Config(http=...) with this deadline."""
    attributes: dict[str, Any] = {"request_timeout_s": timeout_s, "open_by_address": {}}
    return type("DeadlineH11Protocol", (DeadlineH11Protocol,), attributes)

"""Bounds on every database call the recorder makes, so that a database that hangs cannot hold a thread
(or the process's exit) forever.

PostgreSQL's own `statement_timeout` runs on the server: a server that hangs, or a network path that stops
forwarding, never applies it, and libpq then waits on its socket with no limit. `StatementGuard` is the
client's side: when a transaction outlives its deadline it shuts that socket down (libpq's wait ends with an
error at once) or, for SQLite, interrupts the running statement. Calls run on daemon threads
(`in_daemon_thread`), never on the default executor, whose threads the interpreter joins at exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")


class HistoryTimeout(Exception):
    """A database call that had no answer within its deadline."""


class StatementGuard:
    """A context that ends the watched connection's current call once `timeout_s` have passed."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.expired = False
        self._target: Any = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(timeout_s, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> StatementGuard:
        self._timer.start()
        return self

    def watch(self, dbapi_connection: Any) -> None:
        """The DB-API connection whose calls the guard ends (psycopg or sqlite3)."""
        with self._lock:
            self._target = dbapi_connection
            if self.expired:
                _interrupt(dbapi_connection)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            if self._target is not None:
                _interrupt(self._target)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._timer.cancel()
        if self.expired and exc is not None:
            raise HistoryTimeout(f"no answer within {self.timeout_s:g} s ({exc.__class__.__name__})") from exc


def _interrupt(dbapi_connection: Any) -> None:
    """Shut a psycopg connection's socket down (its blocked wait returns an error), or interrupt SQLite."""
    pgconn = getattr(dbapi_connection, "pgconn", None)
    if pgconn is not None:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            fd = os.dup(pgconn.socket)
            with socket.socket(fileno=fd) as sock:
                sock.shutdown(socket.SHUT_RDWR)
        return
    interrupt = getattr(dbapi_connection, "interrupt", None)
    if interrupt is not None:
        with contextlib.suppress(Exception):
            interrupt()


async def in_daemon_thread(work: Callable[[], T], name: str) -> T:
    """`work()` on a new daemon thread: the caller may stop waiting (cancel) and the process may exit while
    the thread is still stuck in a call (the guard ends such calls; an exit does not wait for them)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            result = work()
        except BaseException as exc:  # handed to the awaiting task, which decides
            outcome: tuple[T | None, BaseException | None] = (None, exc)
        else:
            outcome = (result, None)
        with contextlib.suppress(RuntimeError):  # the loop closed while the call was stuck
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=run, name=name, daemon=True).start()
    return await future

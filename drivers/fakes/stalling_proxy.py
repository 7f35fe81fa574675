"""A real TCP proxy for fault injection: forwards between clients and a target (PostgreSQL, a broker) until
`stall()`, after which it keeps every connection open and accepts new ones but forwards nothing — a server
that hangs, or a network path that went silent — until `resume()`.

Runs on its own threads, so the process under test can be this one (an asyncio test) or a daemon started
as a subprocess.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading


class StallingProxy:
    """127.0.0.1:`port` → `target`; `stall()` / `resume()` / `close()`."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._forwarding = threading.Event()
        self._forwarding.set()
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self.connections = 0
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def stall(self) -> None:
        """Stop forwarding in both directions; connections stay open, new ones are accepted."""
        self._forwarding.clear()

    def resume(self) -> None:
        """Forward again (what waited is forwarded)."""
        self._forwarding.set()

    def close(self) -> None:
        """Close the listener and every connection."""
        self._closed.set()
        self._forwarding.set()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in [self._listener, *sockets]:
            with contextlib.suppress(OSError):
                sock.close()

    def __enter__(self) -> StallingProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, upstream), name="proxy-pump", daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        peers = {client: upstream, upstream: client}
        try:
            while not self._closed.is_set():
                if not self._forwarding.wait(0.1):
                    continue
                readable, _, _ = select.select(list(peers), [], [], 0.1)
                if not self._forwarding.is_set():
                    continue  # stalled while waiting: what arrived waits in the kernel's buffers
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except (OSError, ValueError):  # a socket closed by close()
            return
        finally:
            for sock in (client, upstream):
                with contextlib.suppress(OSError):
                    sock.close()

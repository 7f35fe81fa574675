"""The [http] section: where the dashboard listens, who may read it, how many live clients it serves."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from controller import units
from controller.config.reader import Table
from controller.errors import ConfigError

DEFAULT_LISTEN = "0.0.0.0:8080"


class ReadAccess(StrEnum):
    """Who may read state, history and metrics. Commands always need the token."""

    OPEN = "open"
    TOKEN = "token"


@dataclass(frozen=True, slots=True)
class HttpSection:
    """Settings of the HTTP API and dashboard."""

    host: str = "0.0.0.0"
    port: int = 8080
    enabled: bool = True
    read_access: ReadAccess = ReadAccess.OPEN
    max_clients: int = 8
    max_clients_per_address: int = 3
    live_write_timeout_s: float = 10.0
    request_timeout_s: float = 10.0
    """A request (headers and body) not complete this long after it started closes its connection."""
    cors_origins: tuple[str, ...] = ()
    push_interval_s: float = 1.0
    memory_history_s: float = 86400.0
    memory_resolution_s: float = 60.0
    command_timeout_s: float = 10.0


def parse_listen(text: str, source: str, key: str) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:8080` for IPv6) -> (host, port); port 0 picks a free port."""
    expected = 'HOST:PORT such as "0.0.0.0:8080", "127.0.0.1:8080" or "[::]:8080", with a port from 0 to 65535'
    raw = text.strip()
    if raw.startswith("["):
        host, sep, port_text = raw[1:].partition("]:")
    else:
        host, sep, port_text = raw.rpartition(":")
    if not sep or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise ConfigError(source, key, text, expected)
    if ":" in host:
        if not raw.startswith("["):
            raise ConfigError(source, key, text, expected)
        try:
            ipaddress.IPv6Address(host)
        except ValueError as exc:
            raise ConfigError(source, key, text, expected) from exc
    return host, int(port_text)


def _origin(table: Table, raw: object) -> str:
    expected = 'an origin such as "http://192.168.1.20:8080" or "https://ha.example.org" (scheme, host, port), or "*"'
    if raw == "*":
        return "*"
    if not isinstance(raw, str):
        raise table.error("cors_origins", raw, expected)
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") or parts.query:
        raise table.error("cors_origins", raw, expected)
    return f"{parts.scheme}://{parts.netloc}"


def parse_http(table: Table) -> HttpSection:
    """[http]"""
    host, port = parse_listen(table.string("listen", DEFAULT_LISTEN), table.source, table.key_name("listen"))
    section = HttpSection(
        host=host,
        port=port,
        enabled=table.boolean("enabled", True),
        read_access=ReadAccess(table.string("read_access", "open", choices=[a.value for a in ReadAccess])),
        max_clients=table.integer("max_clients", 8, low=1, high=1000),
        max_clients_per_address=table.integer("max_clients_per_address", 3, low=1, high=1000),
        live_write_timeout_s=table.quantity("live_write_timeout", units.DURATION, "10 s", low=0.1, high=300.0),
        request_timeout_s=table.quantity("request_timeout", units.DURATION, "10 s", low=0.5, high=300.0),
        cors_origins=tuple(_origin(table, raw) for raw in table.array("cors_origins", [])),
        push_interval_s=table.quantity("push_interval", units.DURATION, "1 s", low=0.05, high=60.0),
        memory_history_s=table.quantity("memory_history", units.DURATION, "24 h", low=60.0, high=7 * 86400.0),
        memory_resolution_s=table.quantity("memory_resolution", units.DURATION, "1 min", low=1.0, high=3600.0),
        command_timeout_s=table.quantity("command_timeout", units.DURATION, "10 s", low=0.5, high=120.0),
    )
    table.finish()
    return section

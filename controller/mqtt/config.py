"""The `[mqtt]` section and the broker URL (`mqtt://user:pass@host:port`, `mqtts://` for TLS, `mqtt5://` or
`mqtts5://` for MQTT 5)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from controller import units
from controller.config.reader import Table
from controller.errors import ConfigError
from controller.redact import masked_url

URL_EXPECTED = (
    "mqtt://[user[:password]@]host[:port], mqtts://... for TLS, mqtt5:// or mqtts5://... for MQTT 5 "
    "(e.g. mqtt://cleanroom:secret@192.168.1.10:1883)"
)
_SCHEMES = {"mqtt": (False, False), "mqtts": (True, False), "mqtt5": (False, True), "mqtts5": (True, True)}
PROTOCOLS = ("3.1.1", "5")
_TOPIC_FORBIDDEN = re.compile(r"[+#\x00]")


@dataclass(frozen=True, slots=True)
class BrokerUrl:
    """Where the broker is and how to log in. `password` is never logged."""

    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None
    mqtt5: bool = False
    """The URL asked for MQTT 5 (`mqtt5://`), whatever [mqtt] protocol says."""

    def redacted(self) -> str:
        """The URL without the password, for logs and messages."""
        user = f"{self.username}:x@" if self.password else (f"{self.username}@" if self.username else "")
        return masked_url(
            f"{'mqtts' if self.tls else 'mqtt'}{'5' if self.mqtt5 else ''}://{user}{self.host}:{self.port}"
        )


def parse_broker_url(url: str, source: str = "--mqtt", key: str = "url") -> BrokerUrl:
    """Parse a broker URL; a ConfigError names the value (password hidden) and the expected form."""
    shown = masked_url(url) if isinstance(url, str) else url
    if not isinstance(url, str):
        raise ConfigError(source, key, shown, URL_EXPECTED)
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ConfigError(source, key, shown, URL_EXPECTED) from exc
    if parts.scheme not in _SCHEMES or not parts.hostname:
        raise ConfigError(source, key, shown, URL_EXPECTED)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(source, key, shown, URL_EXPECTED)
    tls, mqtt5 = _SCHEMES[parts.scheme]
    return BrokerUrl(
        host=parts.hostname,
        port=port if port is not None else (8883 if tls else 1883),
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        mqtt5=mqtt5,
    )


def check_topic_level(source: str, key: str, value: str, what: str) -> str:
    """A controller id or topic must not contain MQTT wildcards or be empty."""
    if not value or _TOPIC_FORBIDDEN.search(value) or value.startswith("/") or value.endswith("/"):
        raise ConfigError(source, key, value, f"{what} without '+', '#', or a leading or trailing '/'")
    return value


@dataclass(frozen=True, slots=True)
class MqttSection:
    """The `[mqtt]` configuration."""

    url: str | None = None
    base_topic: str = "cleanroom/{id}"
    client_id: str | None = None
    protocol: str = "3.1.1"
    discovery: bool = True
    discovery_prefix: str = "homeassistant"
    publish_interval_s: float = 5.0
    keepalive_s: float = 30.0
    timeout_s: float = 10.0
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    queue_limit: int = 10_000
    flush_timeout_s: float = 3.0
    tls_ca_file: str | None = None
    tls_insecure: bool = False


def parse_mqtt(table: Table) -> MqttSection:
    """Read the `[mqtt]` section; every key is optional (MQTT is off without a url or `--mqtt`)."""
    d = MqttSection()
    url = table.optional_string("url")
    if url is not None:
        parse_broker_url(url, table.source, table.key_name("url"))
    base_topic = table.string("base_topic", d.base_topic)
    check_topic_level(table.source, table.key_name("base_topic"), base_topic, "a topic such as cleanroom/{id}")
    discovery_prefix = table.string("discovery_prefix", d.discovery_prefix)
    check_topic_level(table.source, table.key_name("discovery_prefix"), discovery_prefix, "a topic prefix")
    reconnect_min_s = table.quantity("reconnect_min", units.DURATION, "1 s", low=0.01, high=3600.0)
    section = MqttSection(
        url=url,
        base_topic=base_topic,
        client_id=table.optional_string("client_id"),
        protocol=table.string("protocol", d.protocol, choices=PROTOCOLS),
        discovery=table.boolean("discovery", d.discovery),
        discovery_prefix=discovery_prefix,
        publish_interval_s=table.quantity("publish_interval", units.DURATION, "5 s", low=0.0, high=3600.0),
        keepalive_s=table.quantity("keepalive", units.DURATION, "30 s", low=5.0, high=3600.0),
        timeout_s=table.quantity("timeout", units.DURATION, "10 s", low=0.1, high=600.0),
        reconnect_min_s=reconnect_min_s,
        reconnect_max_s=table.quantity("reconnect_max", units.DURATION, "60 s", low=reconnect_min_s, high=86400.0),
        queue_limit=table.integer("queue_limit", d.queue_limit, low=1, high=1_000_000),
        flush_timeout_s=table.quantity("flush_timeout", units.DURATION, "3 s", low=0.0, high=600.0),
        tls_ca_file=table.optional_string("tls_ca_file"),
        tls_insecure=table.boolean("tls_insecure", d.tls_insecure),
    )
    table.finish()
    return section

"""Prometheus exposition of the newest snapshot: one gauge per row of METRICS, read at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from controller import units
from controller.metrics import METRICS
from controller.snapshot import AlertKind, Mode, Snapshot


def prometheus_name(key: str, unit: str | None) -> str:
    """`voltage_v` -> `cleanroom_voltage_volts`: Prometheus spells the unit (a row of `controller.units`,
    found by its Home Assistant unit or symbol) out as a suffix."""
    row = next((u for u in units.UNITS if unit in (u.home_assistant, u.symbol)), None)
    short = f"_{row.suffix}" if row is not None else ""
    base = key[: -len(short)] + f"_{row.prometheus}" if row is not None and key.endswith(short) else key
    return f"cleanroom_{base}"


class SnapshotCollector(Collector):
    """Reads the newest snapshot (and the live client count) each time Prometheus scrapes."""

    def __init__(self, latest: Callable[[], Snapshot | None], clients: Callable[[], int]) -> None:
        self._latest = latest
        self._clients = clients

    def collect(self) -> Iterator[Metric]:
        clients = GaugeMetricFamily("cleanroom_http_live_clients", "Open live-update streams")
        clients.add_metric([], float(self._clients()))
        yield clients
        snapshot = self._latest()
        if snapshot is None:
            return
        labels = ["controller_id"]
        ident = [snapshot.controller_id]
        for metric in METRICS:
            value = metric.value(snapshot)
            if value is None:
                continue
            family = GaugeMetricFamily(
                prometheus_name(metric.key, metric.unit.home_assistant), metric.label, labels=labels
            )
            family.add_metric(ident, value)
            yield family
        stamp = GaugeMetricFamily(
            "cleanroom_snapshot_timestamp_seconds", "Time of the newest snapshot (Unix seconds)", labels=labels
        )
        stamp.add_metric(ident, snapshot.timestamp_utc.timestamp())
        yield stamp
        mode = GaugeMetricFamily("cleanroom_mode", "Control mode (1 for the active one)", labels=[*labels, "mode"])
        for candidate in Mode:
            mode.add_metric([*ident, candidate.value], 1.0 if candidate is snapshot.mode else 0.0)
        yield mode
        active = {a.kind for a in snapshot.alerts}
        alerts = GaugeMetricFamily("cleanroom_alert_active", "Whether an alert is active", labels=[*labels, "kind"])
        for kind in AlertKind:
            alerts.add_metric([*ident, kind.value], 1.0 if kind in active else 0.0)
        yield alerts


def build_registry(latest: Callable[[], Snapshot | None], clients: Callable[[], int]) -> CollectorRegistry:
    """A registry of its own (not the global one), so that several apps can live in one process."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(latest, clients))
    return registry

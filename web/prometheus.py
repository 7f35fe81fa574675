"""Prometheus exposition of the newest snapshot: one gauge per row of METRICS, read at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from controller.metrics import METRICS
from controller.snapshot import AlertKind, Mode, Snapshot

_SUFFIXES: dict[str, tuple[str, str]] = {
    "V": ("_v", "_volts"),
    "A": ("_a", "_amperes"),
    "W": ("_w", "_watts"),
    "Wh": ("_wh", "_watt_hours"),
    "Ah": ("_ah", "_ampere_hours"),
    "%": ("_pct", "_percent"),
    "Pa": ("_pa", "_pascals"),
    "s": ("_s", "_seconds"),
    "ft³/min": ("_cfm", "_cubic_feet_per_minute"),
    "ft³": ("_ft3", "_cubic_feet"),
}


def prometheus_name(key: str, unit: str | None) -> str:
    """`voltage_v` -> `cleanroom_voltage_volts`: Prometheus spells the unit out as a suffix."""
    short, long = _SUFFIXES.get(unit or "", ("", ""))
    base = key[: -len(short)] + long if short and key.endswith(short) else key
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
            family = GaugeMetricFamily(prometheus_name(metric.key, metric.unit), metric.label, labels=labels)
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

"""Prometheus exposition of the newest snapshot: one family per row of METRICS, read at scrape time, in
Prometheus's base units (a counter, named `..._total`, for what only grows)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from controller import units
from controller.metrics import METRICS
from controller.metrics import Metric as Row
from controller.snapshot import AlertKind, Mode, Snapshot


def prometheus_name(key: str, unit: str | None) -> str:
    """`voltage_v` -> `cleanroom_voltage_volts`: Prometheus spells the unit (a row of `controller.units`,
    found by its Home Assistant unit or symbol) out as a suffix, in its base unit (`energy_usable_wh` ->
    `cleanroom_energy_usable_joules`)."""
    row = next((u for u in units.UNITS if unit in (u.home_assistant, u.symbol)), None)
    short = f"_{row.suffix}" if row is not None else ""
    base = key[: -len(short)] + f"_{row.prometheus}" if row is not None and key.endswith(short) else key
    return f"cleanroom_{base}"


def _family(row: Row, labels: list[str]) -> GaugeMetricFamily | CounterMetricFamily:
    """A counter for what only grows (prometheus_client adds `_total`), else a gauge; the help names the
    unit."""
    name = prometheus_name(row.key, row.unit.home_assistant)
    documentation = f"{row.label} ({row.unit.prometheus.replace('_', ' ')})"
    if row.state_class == "total_increasing":
        return CounterMetricFamily(name, documentation, labels=labels)
    return GaugeMetricFamily(name, documentation, labels=labels)


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
            family = _family(metric, labels)
            family.add_metric(ident, value * metric.unit.prometheus_scale)
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

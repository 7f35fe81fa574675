"""One declarative row per published number: MQTT per-value topics, Home Assistant discovery, the HTTP
API schema, history columns, Prometheus gauges and the dashboard all read this table.

Adding a metric is adding a row (and the Snapshot field it reads).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from controller.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class Metric:
    """A number taken from the snapshot, with how to label and classify it."""

    key: str
    label: str
    unit: str | None
    device_class: str | None
    value: Callable[[Snapshot], float | None]
    state_class: str | None = "measurement"
    recorded: bool = True
    precision: int = 1
    icon: str | None = None


def _attr(name: str) -> Callable[[Snapshot], float | None]:
    def read(snapshot: Snapshot) -> float | None:
        value = getattr(snapshot, name)
        return None if value is None else float(value)

    read.__name__ = f"read_{name}"
    return read


METRICS: tuple[Metric, ...] = (
    Metric("voltage_v", "Battery voltage", "V", "voltage", _attr("voltage_v"), precision=2),
    Metric("current_a", "Battery current", "A", "current", _attr("current_a"), precision=2),
    Metric("power_w", "Battery power", "W", "power", _attr("power_w"), precision=1),
    Metric("soc_pct", "State of charge", "%", "battery", _attr("soc_pct"), precision=1),
    Metric("consumed_ah", "Consumed charge", "Ah", None, _attr("consumed_ah"), precision=2, icon="mdi:battery-minus"),
    Metric("energy_usable_wh", "Usable energy", "Wh", "energy_storage", _attr("energy_usable_wh"), precision=0),
    Metric("pressure_pa", "Room pressure", "Pa", "pressure", _attr("pressure_pa"), precision=1),
    Metric("pressure_raw_pa", "Room pressure (raw)", "Pa", "pressure", _attr("pressure_raw_pa"), precision=2),
    Metric("pressure_floor_pa", "Pressure floor", "Pa", "pressure", _attr("pressure_floor_pa"), precision=1),
    Metric("fan_command_pct", "Fan command", "%", None, _attr("fan_command_pct"), precision=0, icon="mdi:fan"),
    Metric("fan_rpm", "Fan speed", "rpm", None, _attr("fan_rpm"), precision=0, icon="mdi:fan"),
    Metric("fan_power_w", "Fan power", "W", "power", _attr("fan_power_w"), precision=2),
    Metric("flow_cfm", "Clean air flow", "ft³/min", "volume_flow_rate", _attr("flow_cfm"), precision=0),
    Metric(
        "clean_air_ft3",
        "Clean air delivered",
        "ft³",
        "volume",
        _attr("clean_air_ft3"),
        state_class="total_increasing",
        precision=0,
    ),
    Metric("runtime_now_s", "Runtime at current speed", "s", "duration", _attr("runtime_now_s"), precision=0),
    Metric("runtime_plan_s", "Runtime under plan", "s", "duration", _attr("runtime_plan_s"), precision=0),
    Metric("plan_power_w", "Planned average draw", "W", "power", _attr("plan_power_w"), precision=2),
)

METRICS_BY_KEY: dict[str, Metric] = {m.key: m for m in METRICS}

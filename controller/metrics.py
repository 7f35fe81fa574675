"""One declarative row per published number: MQTT per-value topics, Home Assistant discovery, the HTTP
API schema, history columns, Prometheus gauges and the dashboard all read this table.

A row names its quantity by a stem and a unit row of `controller.units`; the key (snapshot field, topic
and column) is the stem with the unit's suffix. Adding a metric is adding a row (and the Snapshot field
it reads).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from controller import units
from controller.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class Metric:
    """A number taken from the snapshot, with how to label and classify it."""

    stem: str
    label: str
    unit: units.Unit
    device_class: str | None
    state_class: str | None = "measurement"
    recorded: bool = True
    precision: int = 1
    icon: str | None = None

    key: str = field(init=False, compare=False)
    """The snapshot field, per-value topic and history column: `voltage_v` (read by every sink every tick)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", f"{self.stem}_{self.unit.suffix}")

    def value(self, snapshot: Snapshot) -> float | None:
        """The metric's value in this snapshot (None when unknown)."""
        value = getattr(snapshot, self.key)
        return None if value is None else float(value)


METRICS: tuple[Metric, ...] = (
    Metric("voltage", "Battery voltage", units.VOLT, "voltage", precision=2),
    Metric("current", "Battery current", units.AMPERE, "current", precision=2),
    Metric("power", "Battery power", units.WATT, "power", precision=1),
    Metric("soc", "State of charge", units.PERCENT, "battery", precision=1),
    Metric("consumed", "Consumed charge", units.AMPERE_HOUR, None, precision=2, icon="mdi:battery-minus"),
    Metric("energy_usable", "Usable energy", units.WATT_HOUR, "energy_storage", precision=0),
    Metric("soc_estimate", "State of charge (estimated)", units.PERCENT, "battery", precision=1),
    Metric("energy_estimate", "Energy in the battery", units.WATT_HOUR, "energy_storage", precision=0),
    Metric("energy_uncertainty", "Energy uncertainty (1 sigma)", units.WATT_HOUR, None, precision=0, icon="mdi:sigma"),
    Metric(
        "capacity",
        "Battery capacity",
        units.AMPERE_HOUR,
        None,
        recorded=False,
        precision=1,
        icon="mdi:battery-heart",
    ),
    Metric("last_sync_age", "Time since battery sync", units.SECOND, "duration", recorded=False, precision=0),
    Metric("pressure", "Room pressure", units.PASCAL, "pressure", precision=1),
    Metric("pressure_raw", "Room pressure (raw)", units.PASCAL, "pressure", precision=2),
    Metric("pressure_floor", "Pressure floor", units.PASCAL, "pressure", precision=1),
    Metric("fan_command", "Fan command", units.PERCENT, None, precision=0, icon="mdi:fan"),
    Metric("fan", "Fan speed", units.RPM, None, precision=0, icon="mdi:fan"),
    Metric("fan_power", "Fan power", units.WATT, "power", precision=2),
    Metric("flow", "Clean air flow", units.CFM, "volume_flow_rate", precision=0),
    Metric("clean_air", "Clean air delivered", units.CUBIC_FOOT, "volume", state_class="total_increasing", precision=0),
    Metric("runtime_now", "Runtime at current speed", units.SECOND, "duration", precision=0),
    Metric("runtime_plan", "Runtime under plan", units.SECOND, "duration", precision=0),
    Metric("plan_power", "Planned average draw", units.WATT, "power", precision=2),
    Metric("room_c", "Room leakage (flow at 1 Pa)", units.CFM, "volume_flow_rate", recorded=False, precision=1),
    Metric("room_c_uncertainty", "Room leakage uncertainty", units.PERCENT, None, recorded=False, precision=0),
)

METRICS_BY_KEY: dict[str, Metric] = {m.key: m for m in METRICS}

"""The VE.Direct text protocol's values: a block's fields -> SI values and readings."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from drivers.base import ChargerReading, ShuntReading, WrongProduct
from drivers.vedirect.charger import to_charger_reading
from drivers.vedirect.framer import UNKNOWN, Block, VEDirectError, integer_value
from drivers.vedirect.products import BATTERY_MONITORS, Kind, Product
from drivers.vedirect.products import product as lookup_product

_PID = re.compile(r"0[xX][0-9A-Fa-f]{1,4}")


PRODUCTS: Mapping[int, str] = BATTERY_MONITORS
"""The battery monitors' product ids (the full table, with the other kinds, is in products.py)."""
SOC_RESOLUTION_PCT = 0.1
"""A Victron monitor's state of charge comes in 0.1 % steps (SOC is in per mille)."""

ALARM_REASONS: Mapping[int, str] = {
    1: "low_voltage",
    2: "high_voltage",
    4: "low_soc",
    8: "low_starter_voltage",
    16: "high_starter_voltage",
    32: "low_temperature",
    64: "high_temperature",
    128: "mid_voltage",
    256: "overload",
    512: "dc_ripple",
    1024: "low_v_ac_out",
    2048: "high_v_ac_out",
    4096: "short_circuit",
    8192: "bms_lockout",
}

# History label -> (name in SI, factor from the protocol unit).
HISTORY: Mapping[str, tuple[str, float]] = {
    "H1": ("deepest_discharge_ah", 0.001),
    "H2": ("last_discharge_ah", 0.001),
    "H3": ("average_discharge_ah", 0.001),
    "H4": ("charge_cycles", 1.0),
    "H5": ("full_discharges", 1.0),
    "H6": ("cumulative_drawn_ah", 0.001),
    "H7": ("min_voltage_v", 0.001),
    "H8": ("max_voltage_v", 0.001),
    "H9": ("since_full_charge_s", 1.0),
    "H10": ("automatic_syncs", 1.0),
    "H11": ("low_voltage_alarms", 1.0),
    "H12": ("high_voltage_alarms", 1.0),
    "H13": ("low_aux_voltage_alarms", 1.0),
    "H14": ("high_aux_voltage_alarms", 1.0),
    "H15": ("min_aux_voltage_v", 0.001),
    "H16": ("max_aux_voltage_v", 0.001),
    "H17": ("discharged_energy_wh", 10.0),
    "H18": ("charged_energy_wh", 10.0),
}

# Main-block numeric label -> (field of DecodedBlock, factor to SI).
_NUMERIC: Mapping[str, tuple[str, float]] = {
    "V": ("voltage_v", 0.001),
    "VS": ("aux_voltage_v", 0.001),
    "VM": ("midpoint_voltage_v", 0.001),
    "DM": ("midpoint_deviation_pct", 0.1),
    "I": ("current_a", 0.001),
    "P": ("power_w", 1.0),
    "CE": ("consumed_ah", 0.001),
    "SOC": ("soc_pct", 0.1),
    "TTG": ("time_to_go_min", 1.0),
    "T": ("temperature_c", 1.0),
}


@dataclass(frozen=True, slots=True)
class DecodedBlock:
    """The values of one block in SI units; `present` lists the labels the block carried."""

    present: frozenset[str]
    voltage_v: float | None = None
    aux_voltage_v: float | None = None
    midpoint_voltage_v: float | None = None
    midpoint_deviation_pct: float | None = None
    current_a: float | None = None
    power_w: float | None = None
    consumed_ah: float | None = None
    soc_pct: float | None = None
    time_to_go_min: float | None = None
    temperature_c: float | None = None
    alarm: bool | None = None
    relay: bool | None = None
    alarm_reasons: tuple[str, ...] = ()
    product: str | None = None
    firmware: str | None = None
    monitor_mode: int | None = None
    history: dict[str, float] = field(default_factory=dict)
    pid: int | None = None

    @property
    def is_main(self) -> bool:
        """Whether this is a main block (battery values) rather than a history-only block."""
        return bool(self.present & {"V", "I", "PID", "SOC"})


def _on_off(label: str, value: str) -> bool | None:
    if value == UNKNOWN:
        return None
    if value not in ("ON", "OFF"):
        raise VEDirectError("value", f"{label} = {value!r} is not ON or OFF")
    return value == "ON"


def _product_id(value: str) -> int:
    if not _PID.fullmatch(value):
        raise VEDirectError("value", f"PID = {value!r} is not a hex product id")
    return int(value, 16)


def alarm_reason_names(mask: int) -> tuple[str, ...]:
    """Names of the bits set in an AR bitmask (unknown bits as bit_N)."""
    names = []
    for bit in range(16):
        if mask & (1 << bit):
            names.append(ALARM_REASONS.get(1 << bit, f"bit_{bit}"))
    return tuple(names)


def decode_block(block: Block | Iterable[tuple[str, str]]) -> DecodedBlock:
    """Convert a block's fields to SI; raises VEDirectError for a value the protocol does not allow.

    TTG -1 means "infinite" (not discharging) and becomes math.inf; `---` (unknown) becomes None
    everywhere. Labels of other Victron products (chargers, inverters) are ignored here.
    """
    fields = block.fields if isinstance(block, Block) else tuple(block)
    values: dict[str, float | None] = {}
    history: dict[str, float] = {}
    alarm: bool | None = None
    relay: bool | None = None
    reasons: tuple[str, ...] = ()
    product_name: str | None = None
    firmware: str | None = None
    model: str | None = None
    monitor_mode: int | None = None
    pid: int | None = None
    for label, value in fields:
        if label in _NUMERIC:
            name, factor = _NUMERIC[label]
            number = integer_value(label, value)
            if label == "TTG" and number == -1:
                values[name] = math.inf
                continue
            values[name] = None if number is None else number * factor
        elif label in HISTORY:
            name, factor = HISTORY[label]
            number = integer_value(label, value)
            if number is not None:
                history[name] = number * factor
        elif label == "Alarm":
            alarm = _on_off(label, value)
        elif label == "Relay":
            relay = _on_off(label, value)
        elif label == "AR":
            mask = integer_value(label, value)
            if mask is not None and mask < 0:
                raise VEDirectError("value", f"AR = {value!r} is negative")
            reasons = alarm_reason_names(mask or 0)
        elif label == "PID":
            pid = _product_id(value)
            product_name = lookup_product(pid).name
        elif label == "FW":
            firmware = value
        elif label == "BMV":
            model = value
        elif label == "MON":
            monitor_mode = integer_value(label, value)
    return DecodedBlock(
        present=frozenset(label for label, _ in fields),
        alarm=alarm,
        relay=relay,
        alarm_reasons=reasons,
        product=product_name or (f"BMV {model}" if model else None),
        firmware=firmware,
        monitor_mode=monitor_mode,
        history=history,
        pid=pid,
        **values,
    )


def to_reading(main: DecodedBlock, history: Mapping[str, float], monotonic_s: float) -> ShuntReading:
    """A ShuntReading from a main block and the newest history values."""
    return ShuntReading(
        monotonic_s=monotonic_s,
        voltage_v=main.voltage_v,
        current_a=main.current_a,
        power_w=main.power_w,
        soc_pct=main.soc_pct,
        consumed_ah=main.consumed_ah,
        time_to_go_min=main.time_to_go_min,
        temperature_c=main.temperature_c,
        alarm=main.alarm,
        relay=main.relay,
        alarm_reasons=main.alarm_reasons,
        product=main.product,
        history={**history, **main.history},
        aux_voltage_v=main.aux_voltage_v,
        midpoint_voltage_v=main.midpoint_voltage_v,
        midpoint_deviation_pct=main.midpoint_deviation_pct,
        firmware=main.firmware,
        soc_resolution_pct=SOC_RESOLUTION_PCT if main.soc_pct is not None else None,
    )


def refusal(found: Product) -> WrongProduct:
    """The error for a product whose values must not be taken for a battery monitor's."""
    return WrongProduct(
        found.name,
        f"the VE.Direct device is {found.describe()}, not a battery monitor: its values are not counted "
        "into the battery's charge; connect the SmartShunt or BMV to this port",
    )


class ReadingAssembler:
    """Turns a stream of blocks into readings, by the product id each block carries: a ShuntReading per
    battery monitor main block (history merged in), a ChargerReading per solar charger block; any other
    product raises WrongProduct naming it."""

    def __init__(self) -> None:
        self.history: dict[str, float] = {}
        self.found: Product | None = None

    def accept(self, item: Block, monotonic_s: float) -> ShuntReading | ChargerReading | None:
        """Decode a valid block (VEDirectError if a value is not allowed, WrongProduct for a product that
        is neither a battery monitor nor a solar charger); a reading for a main block."""
        decoded = decode_block(item)
        if decoded.pid is not None:
            self.found = lookup_product(decoded.pid)
            if self.found.kind is Kind.SOLAR_CHARGER:
                return to_charger_reading(item, self.found, monotonic_s)
            if self.found.kind is not Kind.BATTERY_MONITOR:
                raise refusal(self.found)
        if not decoded.is_main:
            self.history.update(decoded.history)
            return None
        return to_reading(decoded, self.history, monotonic_s)

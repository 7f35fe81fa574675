"""The VE.Direct text protocol's values: a block's fields -> SI values and readings."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from drivers.base import ShuntReading
from drivers.vedirect.framer import Block, VEDirectError

_INTEGER = re.compile(r"-?[0-9]{1,12}")
_PID = re.compile(r"0[xX][0-9A-Fa-f]{1,4}")
UNKNOWN = "---"
"""What the monitor sends for a value it does not know (e.g. no temperature sensor, not synchronised)."""


# Product IDs documented by Victron (VE.Direct protocol document, product table).
PRODUCTS: Mapping[int, str] = {
    0x0203: "BMV-700",
    0x0204: "BMV-702",
    0xA381: "BMV-712 Smart",
    0xA389: "SmartShunt 500A/50mV",
    0xA38A: "SmartShunt 1000A/50mV",
    0xA38B: "SmartShunt 2000A/50mV",
}

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

    @property
    def is_main(self) -> bool:
        """Whether this is a main block (battery values) rather than a history-only block."""
        return bool(self.present & {"V", "I", "PID", "SOC"})


def _integer(label: str, value: str) -> int | None:
    if value == UNKNOWN:
        return None
    if not _INTEGER.fullmatch(value):
        raise VEDirectError("value", f"{label} = {value!r} is not an integer")
    return int(value)


def _on_off(label: str, value: str) -> bool | None:
    if value == UNKNOWN:
        return None
    if value not in ("ON", "OFF"):
        raise VEDirectError("value", f"{label} = {value!r} is not ON or OFF")
    return value == "ON"


def alarm_reason_names(mask: int) -> tuple[str, ...]:
    """Names of the bits set in an AR bitmask (unknown bits as bit_N)."""
    names = []
    for bit in range(16):
        if mask & (1 << bit):
            names.append(ALARM_REASONS.get(1 << bit, f"bit_{bit}"))
    return tuple(names)


def decode_block(block: Block | Iterable[tuple[str, str]]) -> DecodedBlock:
    """Convert a block's fields to SI; raises VEDirectError for a value the protocol does not allow.

    TTG -1 means "infinite" (not discharging) and becomes None; `---` becomes None everywhere.
    Labels of other Victron products (chargers, inverters) are ignored.
    """
    fields = block.fields if isinstance(block, Block) else tuple(block)
    values: dict[str, float | None] = {}
    history: dict[str, float] = {}
    alarm: bool | None = None
    relay: bool | None = None
    reasons: tuple[str, ...] = ()
    product: str | None = None
    firmware: str | None = None
    model: str | None = None
    monitor_mode: int | None = None
    for label, value in fields:
        if label in _NUMERIC:
            name, factor = _NUMERIC[label]
            number = _integer(label, value)
            if label == "TTG" and number == -1:
                number = None
            values[name] = None if number is None else number * factor
        elif label in HISTORY:
            name, factor = HISTORY[label]
            number = _integer(label, value)
            if number is not None:
                history[name] = number * factor
        elif label == "Alarm":
            alarm = _on_off(label, value)
        elif label == "Relay":
            relay = _on_off(label, value)
        elif label == "AR":
            mask = _integer(label, value)
            if mask is not None and mask < 0:
                raise VEDirectError("value", f"AR = {value!r} is negative")
            reasons = alarm_reason_names(mask or 0)
        elif label == "PID":
            if not _PID.fullmatch(value):
                raise VEDirectError("value", f"PID = {value!r} is not a hex product id")
            pid = int(value, 16)
            product = PRODUCTS.get(pid, f"VE.Direct product {pid:#06x}")
        elif label == "FW":
            firmware = value
        elif label == "BMV":
            model = value
        elif label == "MON":
            monitor_mode = _integer(label, value)
    return DecodedBlock(
        present=frozenset(label for label, _ in fields),
        alarm=alarm,
        relay=relay,
        alarm_reasons=reasons,
        product=product or (f"BMV {model}" if model else None),
        firmware=firmware,
        monitor_mode=monitor_mode,
        history=history,
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
    )


class ReadingAssembler:
    """Turns a stream of parser results into readings: a reading per main block, history merged in."""

    def __init__(self) -> None:
        self.history: dict[str, float] = {}

    def accept(self, item: Block, monotonic_s: float) -> ShuntReading | None:
        """Decode a valid block (VEDirectError if a value is not allowed); a reading for a main block."""
        decoded = decode_block(item)
        if not decoded.is_main:
            self.history.update(decoded.history)
            return None
        return to_reading(decoded, self.history, monotonic_s)

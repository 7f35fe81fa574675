"""A Victron solar charger's VE.Direct block -> a ChargerReading (labels and units from the VE.Direct
Protocol document 3.33: V/I/IL in mV/mA, VPV in mV, PPV in W, H19-H23 yields in 0.01 kWh and powers in W)."""

from __future__ import annotations

from collections.abc import Mapping

from drivers.base import ChargerReading
from drivers.vedirect.framer import Block, integer_value
from drivers.vedirect.products import Product

CHARGE_STATES: Mapping[int, str] = {
    0: "off",
    1: "low power",
    2: "fault",
    3: "bulk",
    4: "absorption",
    5: "float",
    6: "storage",
    7: "equalize",
    9: "inverting",
    11: "power supply",
    245: "starting up",
    246: "repeated absorption",
    247: "recondition",
    248: "battery safe",
    252: "external control",
}
"""The `CS` field."""

TRACKER_STATES: Mapping[int, str] = {0: "off", 1: "voltage or current limited", 2: "tracking"}
"""The `MPPT` field."""

ERRORS: Mapping[int, str] = {
    0: "no error",
    2: "battery voltage too high",
    17: "charger temperature too high",
    18: "charger over current",
    19: "charger current reversed",
    20: "bulk time limit exceeded",
    21: "current sensor issue",
    26: "terminals overheated",
    28: "converter issue",
    33: "panel voltage too high",
    34: "panel current too high",
    38: "input shutdown (battery voltage too high)",
    39: "input shutdown (current flow while off)",
    65: "lost communication",
    66: "synchronised charging configuration issue",
    67: "BMS connection lost",
    68: "network misconfigured",
    116: "factory calibration data lost",
    117: "invalid or incompatible firmware",
    119: "user settings invalid",
}
"""The `ERR` field."""

# label -> (ChargerReading field, factor to SI)
_NUMERIC: Mapping[str, tuple[str, float]] = {
    "V": ("battery_voltage_v", 0.001),
    "I": ("battery_current_a", 0.001),
    "VPV": ("panel_voltage_v", 0.001),
    "PPV": ("panel_power_w", 1.0),
    "IL": ("load_current_a", 0.001),
    "H19": ("yield_total_wh", 10.0),
    "H20": ("yield_today_wh", 10.0),
    "H21": ("max_power_today_w", 1.0),
    "H22": ("yield_yesterday_wh", 10.0),
    "H23": ("max_power_yesterday_w", 1.0),
}

_STATES: Mapping[str, tuple[str, Mapping[int, str]]] = {
    "CS": ("charge_state", CHARGE_STATES),
    "MPPT": ("tracker", TRACKER_STATES),
    "ERR": ("error", ERRORS),
}


def to_charger_reading(block: Block, product: Product, monotonic_s: float) -> ChargerReading:
    """The charger's values (VEDirectError for a value the protocol does not allow)."""
    numbers: dict[str, float | None] = {}
    states: dict[str, str | None] = {}
    firmware: str | None = None
    for label, value in block.fields:
        if label in _NUMERIC:
            name, factor = _NUMERIC[label]
            number = integer_value(label, value)
            numbers[name] = None if number is None else number * factor
        elif label in _STATES:
            name, table = _STATES[label]
            code = integer_value(label, value)
            states[name] = None if code is None else table.get(code, f"code {code}")
        elif label in ("FW", "FWE"):
            firmware = value
    return ChargerReading(
        monotonic_s=monotonic_s,
        battery_voltage_v=numbers.get("battery_voltage_v"),
        battery_current_a=numbers.get("battery_current_a"),
        panel_voltage_v=numbers.get("panel_voltage_v"),
        panel_power_w=numbers.get("panel_power_w"),
        yield_today_wh=numbers.get("yield_today_wh"),
        yield_yesterday_wh=numbers.get("yield_yesterday_wh"),
        yield_total_wh=numbers.get("yield_total_wh"),
        max_power_today_w=numbers.get("max_power_today_w"),
        max_power_yesterday_w=numbers.get("max_power_yesterday_w"),
        charge_state=states.get("charge_state"),
        tracker=states.get("tracker"),
        error=states.get("error"),
        load_current_a=numbers.get("load_current_a"),
        product=product.name,
        firmware=firmware,
    )

"""Register maps shipped for devices whose maps are documented (sources in each docstring and in
shared protocol notes). Anything else: write the map in the configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from drivers.modbus.maps import FanMap, PressureMap, ShuntMap, generic_pressure_unit_factors
from drivers.modbus.registers import Function, Register, RegisterType, WordOrder


@dataclass(frozen=True, slots=True)
class LineDefaults:
    """A device's factory serial settings."""

    baudrate: int
    parity: str = "N"
    stopbits: int = 1
    device_id: int = 1


SI_PER_UNIT: Mapping[str, float] = {
    "V": 1.0,
    "A": 1.0,
    "W": 1.0,
    "Wh": 1.0,
    "Ah": 1.0,
    "%": 1.0,
    "degC": 1.0,
    "inWC": 249.08890999999997,
}
"""Internal units (see SHUNT_UNITS) per one unit the presets use; the configuration's own units are
converted with pint at the composition root, and a test checks this table against pint."""


def reg(
    address: int,
    unit: str,
    *,
    function: Function = "holding",
    type: RegisterType = "uint16",
    word_order: WordOrder = "big",
    scale: float = 1.0,
) -> Register:
    """A Register whose factor is scale times the unit's factor to its quantity's internal unit."""
    return Register(address, function, type, word_order, scale, unit, scale * SI_PER_UNIT[unit])


SHUNT_UNITS: Mapping[str, str] = {
    "voltage_v": "V",
    "current_a": "A",
    "power_w": "W",
    "soc_pct": "%",
    "consumed_ah": "Ah",
    "remaining_ah": "Ah",
    "capacity_ah": "Ah",
    "energy_wh": "Wh",
    "temperature_c": "degC",
}
"""The internal unit of each battery-monitor value (the one its name ends in)."""


def _pzem017() -> tuple[ShuntMap, LineDefaults]:
    """Peacefair PZEM-017: input registers, 9600 8N2; current is a magnitude (no sign); 32-bit values
    low word first (Tasmota xnrg_06_pzem_dc)."""
    return (
        ShuntMap(
            {
                "voltage_v": reg(0x0000, "V", function="input", scale=0.01),
                "current_a": reg(0x0001, "A", function="input", scale=0.01),
                "power_w": reg(0x0002, "W", function="input", type="uint32", word_order="little", scale=0.1),
                "energy_wh": reg(0x0004, "Wh", function="input", type="uint32", word_order="little"),
            }
        ),
        LineDefaults(9600, "N", 2, 1),
    )


def _renogy_battery() -> tuple[ShuntMap, LineDefaults]:
    """Renogy smart LiFePO4 battery: holding registers 5042-5047, 9600 8N1, id 48 (renogy-modbus-research)."""
    return (
        ShuntMap(
            {
                "current_a": reg(5042, "A", type="int16", scale=0.01),
                "voltage_v": reg(5043, "V", scale=0.1),
                "remaining_ah": reg(5044, "Ah", type="uint32", scale=0.001),
                "capacity_ah": reg(5046, "Ah", type="uint32", scale=0.001),
            }
        ),
        LineDefaults(9600, "N", 1, 48),
    )


def _epever_tracer() -> tuple[ShuntMap, LineDefaults]:
    """Epever Tracer A/B/AN charge controller: input registers, 115200 8N1, id 1; battery current is a
    signed 32-bit value, low word first; values ×100 (Epever communication instruction V2.5)."""
    return (
        ShuntMap(
            {
                "voltage_v": reg(0x331A, "V", function="input", scale=0.01),
                "current_a": reg(0x331B, "A", function="input", type="int32", word_order="little", scale=0.01),
                "soc_pct": reg(0x311A, "%", function="input"),
            }
        ),
        LineDefaults(115200, "N", 1, 1),
    )


SHUNT_PRESETS = {
    "pzem-017": _pzem017,
    "renogy-smart-battery": _renogy_battery,
    "epever-tracer": _epever_tracer,
}


def _generic_rs485_pressure() -> tuple[PressureMap, LineDefaults]:
    """The common RS485 pressure transmitter (Lobaro pages): 0x0002 unit code, 0x0003 decimals, 0x0004 value."""
    return (
        PressureMap(
            value=Register(0x0004, "holding", "int16", "big", 1.0, "", 1.0),
            decimals_register=Register(0x0003, "holding", "uint16"),
            unit_register=Register(0x0002, "holding", "uint16"),
            unit_factors=generic_pressure_unit_factors(),
        ),
        LineDefaults(9600, "N", 1, 1),
    )


def _dwyer_ms2() -> tuple[PressureMap, LineDefaults]:
    """Dwyer MS2-M: register 0001 (address 0) is the pressure in 0.001 inWC (user manual, appendix II);
    factory id 127; check the baud rate on the device's menu."""
    return (
        PressureMap(value=reg(0x0000, "inWC", type="int16", scale=0.001)),
        LineDefaults(9600, "N", 1, 127),
    )


PRESSURE_PRESETS = {
    "generic-rs485": _generic_rs485_pressure,
    "dwyer-ms2": _dwyer_ms2,
}


def _waveshare_ao8() -> tuple[FanMap, LineDefaults]:
    """Waveshare Modbus RTU Analog Output 8CH (B): holding register 0 = channel 1 in mV, 0-10000 (0-10 V)."""
    return (FanMap(output=Register(0x0000, "holding", "uint16"), zero_raw=0.0, full_raw=10000.0), LineDefaults(9600))


FAN_PRESETS = {"waveshare-ao8": _waveshare_ao8}

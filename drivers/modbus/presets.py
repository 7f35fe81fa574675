"""Register maps shipped for devices whose maps are documented. Each preset's docstring names the
document its device address, function code, scale and byte order were checked against. Each value has a
plausible range, so that a map read against another device or firmware layout gives an error rather than
a reading. Anything else: write the map in the configuration.
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
    valid: tuple[float, float] | None = None,
) -> Register:
    """A Register whose factor is scale times the unit's factor to its quantity's internal unit; `valid` is
    the plausible range in that internal unit."""
    low, high = valid if valid is not None else (None, None)
    factor = scale * SI_PER_UNIT[unit]
    return Register(address, function, type, word_order, scale, unit, factor, valid_min=low, valid_max=high)


BATTERY_V = (0.0, 100.0)
"""Up to a 48 V system's charge voltage with margin."""
BATTERY_A = (-1000.0, 1000.0)
PERCENT = (0.0, 100.0)
ROOM_PA = (-10_000.0, 10_000.0)
"""A room's differential pressure is a few Pa; ±10 kPa is far beyond any fan and catches a misread map."""


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
    """Peacefair PZEM-017. Source: Peacefair's "PZEM-003/017 DC communication module" manual, section 2 and
    its register table, checked against arendst/Tasmota `xnrg_06_pzem_dc.ino`: address 0x01 (0xF8 general),
    9600 8N2, function 04 (input registers); voltage 0.01 V, current 0.01 A (a magnitude, no sign), power
    0.1 W and energy 1 Wh as 32-bit values low word first (byte order CDAB)."""
    return (
        ShuntMap(
            {
                "voltage_v": reg(0x0000, "V", function="input", scale=0.01, valid=BATTERY_V),
                "current_a": reg(0x0001, "A", function="input", scale=0.01, valid=(0.0, 300.0)),
                "power_w": reg(0x0002, "W", function="input", type="uint32", word_order="little", scale=0.1),
                "energy_wh": reg(0x0004, "Wh", function="input", type="uint32", word_order="little"),
            }
        ),
        LineDefaults(9600, "N", 2, 1),
    )


def _renogy_battery() -> tuple[ShuntMap, LineDefaults]:
    """Renogy smart LiFePO4 battery. Source: "Renogy Modbus V1.7" as read in Grmume/renogy-smart-battery and
    sdellysse/renogy-modbus-research: 9600 8N1, function 03 (holding registers); 5042 current int16
    0.01 A, 5043 voltage 0.1 V, 5044-45 remaining and 5046-47 full capacity 0.001 Ah as 32-bit values high
    word first (ABCD). Address 247 from the factory, 48 (0x30) once Renogy's app or hub has set it: the
    preset uses 48, set `device_id = 247` for a battery that was never paired."""
    return (
        ShuntMap(
            {
                "current_a": reg(5042, "A", type="int16", scale=0.01, valid=BATTERY_A),
                "voltage_v": reg(5043, "V", scale=0.1, valid=BATTERY_V),
                "remaining_ah": reg(5044, "Ah", type="uint32", scale=0.001, valid=(0.0, 2000.0)),
                "capacity_ah": reg(5046, "Ah", type="uint32", scale=0.001, valid=(0.0, 2000.0)),
            }
        ),
        LineDefaults(9600, "N", 1, 48),
    )


def _epever_tracer() -> tuple[ShuntMap, LineDefaults]:
    """Epever Tracer A/B/AN charge controller. Source: EPEVER "XTRA, TRIRON, TracerAN Series Controller
    Communication Instruction" (and the Tracer protocol V2.3/V2.5 it continues): address 1, 115200 8N1,
    function 04 (input registers), 32-bit values L register then H (CDAB); 0x331A battery voltage 0.01 V;
    0x331B-1C battery current, signed 32-bit, 0.01 A; 0x311A battery SOC in %."""
    return (
        ShuntMap(
            {
                "voltage_v": reg(0x331A, "V", function="input", scale=0.01, valid=BATTERY_V),
                "current_a": reg(
                    0x331B, "A", function="input", type="int32", word_order="little", scale=0.01, valid=BATTERY_A
                ),
                "soc_pct": reg(0x311A, "%", function="input", valid=PERCENT),
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
    """The common RS485 pressure transmitter. Source: Lobaro "Pressure Sensor Application" register table:
    address 1, 9600 8N1, function 03 (holding registers); 0x0002 unit code, 0x0003 decimals, 0x0004 value
    (int16). A newer firmware of the same family moves unit and decimals (0x0003/0x0004) and keeps a
    float at 0x0016: read against it, this map would say megapascals, and the plausible range refuses that."""
    return (
        PressureMap(
            value=Register(0x0004, "holding", "int16", "big", 1.0, "", 1.0, valid_min=ROOM_PA[0], valid_max=ROOM_PA[1]),
            decimals_register=Register(0x0003, "holding", "uint16"),
            unit_register=Register(0x0002, "holding", "uint16"),
            unit_factors=generic_pressure_unit_factors(),
        ),
        LineDefaults(9600, "N", 1, 1),
    )


def _dwyer_ms2() -> tuple[PressureMap, LineDefaults]:
    """Dwyer MS2-M. Source: "Dwyer MS2-M User Manual", appendix II: address set by DIP switch, 127 from the
    factory; function 03; register 0001 (address 0) is the pressure in 0.001 inWC, signed. The baud rate
    is a menu setting the appendix does not fix: 9600 here, check the device's menu."""
    return (
        PressureMap(value=reg(0x0000, "inWC", type="int16", scale=0.001, valid=ROOM_PA)),
        LineDefaults(9600, "N", 1, 127),
    )


PRESSURE_PRESETS = {
    "generic-rs485": _generic_rs485_pressure,
    "dwyer-ms2": _dwyer_ms2,
}


def _waveshare_ao8() -> tuple[FanMap, LineDefaults]:
    """Waveshare Modbus RTU Analog Output 8CH (B). Source: the Waveshare wiki page of the module: address 1,
    9600 8N1, holding register 0x0000 = channel 1 in mV (0-10000 for 0-10 V), written with function 06."""
    return (FanMap(output=Register(0x0000, "holding", "uint16"), zero_raw=0.0, full_raw=10000.0), LineDefaults(9600))


FAN_PRESETS = {"waveshare-ao8": _waveshare_ao8}

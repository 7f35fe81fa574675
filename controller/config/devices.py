"""The `[devices]` section: which driver plays each role (shunt, pressure, fan) and its settings.

`parse_devices(table)` reads the `[devices]` table into the drivers' parameter values (drivers.config);
a missing role is "simulated" (the simulator of `cleanroom sim` provides it). Modbus register maps come
from a shipped preset, from the file, or both (keys in the file override the preset). Units are
converted here, with pint, so that drivers never need it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import cast

from controller import units
from controller.config.buttons import parse_buttons_fan
from controller.config.reader import Table
from drivers.config import (
    DevicesSection,
    FanConfig,
    ModbusFanConfig,
    ModbusPolling,
    ModbusPressureConfig,
    ModbusShuntConfig,
    PressureConfig,
    PwmFanConfig,
    SdpConfig,
    ShuntConfig,
    Simulated,
    VEDirectConfig,
)
from drivers.modbus.link import ModbusSettings
from drivers.modbus.maps import (
    PRESSURE_UNIT_CODES_GENERIC,
    SHUNT_FIELDS,
    FanMap,
    PressureMap,
    ShuntMap,
    StatusCheck,
)
from drivers.modbus.presets import FAN_PRESETS, PRESSURE_PRESETS, SHUNT_PRESETS, SHUNT_UNITS, LineDefaults
from drivers.modbus.registers import (
    BYTE_ORDERS,
    FUNCTIONS,
    TYPES,
    WORD_ORDERS,
    Function,
    Register,
    RegisterType,
    WordOrder,
)
from drivers.pwm import Tachometer
from drivers.sdp import ADDRESSES, MODELS

SHUNT_DRIVERS = ("vedirect", "modbus", "victron-ble", "solix", "simulated")
PRESSURE_DRIVERS = ("modbus", "sdp", "simulated")
FAN_DRIVERS = ("pwm", "modbus", "buttons", "ir", "simulated")

_KIND_OF_INTERNAL_UNIT: Mapping[str, units.Kind] = {
    "V": units.VOLTAGE,
    "A": units.CURRENT,
    "W": units.POWER,
    "%": units.FRACTION,
    "Ah": units.CHARGE,
    "Wh": units.ENERGY,
    "degC": units.TEMPERATURE,
}


def unit_factor(unit: str, kind: units.Kind) -> float:
    """Internal units per one `unit` (e.g. 0.001 for "mV" as a voltage)."""
    if kind is units.FRACTION and unit in ("%", "percent"):
        return 1.0
    if kind is units.DIMENSIONLESS or unit == "":
        return 1.0
    if kind is units.TEMPERATURE:
        return 1.0
    return units.parse(f"1 {unit}", kind)


def _byte_order(table: Table) -> tuple[WordOrder, bool]:
    """`byte_order` (ABCD, BADC, CDAB, DCBA) or the older `word_order` (big = ABCD, little = CDAB)."""
    if table.has("byte_order"):
        if table.has("word_order"):
            raise table.error("word_order", table.string("word_order"), "no word_order beside byte_order (one of them)")
        return BYTE_ORDERS[table.string("byte_order", choices=tuple(BYTE_ORDERS))]
    return cast("WordOrder", table.string("word_order", "big", choices=WORD_ORDERS)), False


def _bound(table: Table, key: str, kind: units.Kind) -> float | None:
    if kind is units.DIMENSIONLESS:
        return table.number(key) if table.has(key) else table.optional_quantity(key, kind)
    return table.optional_quantity(key, kind)


def parse_register(table: Table, kind: units.Kind, default_unit: str) -> Register:
    """One register description: address, function, type, byte_order (or word_order), scale, unit, offset
    (in that unit) and the plausible range `min`/`max` (quantities)."""
    address = table.integer("address", low=0, high=0xFFFF)
    function = table.string("function", "holding", choices=FUNCTIONS)
    reg_type = table.string("type", "uint16", choices=TYPES)
    word_order, byte_swap = _byte_order(table)
    scale = table.number("scale", 1.0)
    if scale == 0:
        raise table.error("scale", scale, "a non-zero number (one register count times scale gives the value)")
    unit = table.string("unit", default_unit)
    try:
        unit_si = unit_factor(unit, kind)
    except units.UnitError as exc:
        raise table.error("unit", unit, f"a {kind.name} unit such as {kind.unit}") from exc
    offset = table.number("offset", 0.0) * unit_si
    low, high = _bound(table, "min", kind), _bound(table, "max", kind)
    if low is not None and high is not None and low >= high:
        raise table.error("max", high, f"more than min ({low:g} {kind.unit})")
    table.finish()
    return Register(
        address,
        cast("Function", function),
        cast("RegisterType", reg_type),
        word_order,
        scale,
        unit,
        scale * unit_si,
        byte_swap=byte_swap,
        offset=offset,
        valid_min=low,
        valid_max=high,
    )


def parse_status(table: Table) -> StatusCheck:
    """A status or validity register: where it is, and `good`, the values that mean the reading is valid."""
    good = table.array("good")
    expected = "a list of the status values that mean the reading is good, e.g. [0] or [1, 2]"
    if not good or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 0xFFFF for v in good):
        raise table.error("good", good, expected)
    register = Register(
        table.integer("address", low=0, high=0xFFFF),
        table.string("function", "holding", choices=FUNCTIONS),  # type: ignore[arg-type]
        table.string("type", "uint16", choices=("uint16", "int16")),  # type: ignore[arg-type]
    )
    table.finish()
    return StatusCheck(register, frozenset(cast("int", v) for v in good))


def _settings(table: Table, defaults: LineDefaults | None) -> ModbusSettings:
    d = defaults or LineDefaults(9600)
    transport = table.string("transport", "rtu", choices=("rtu", "ascii", "tcp"))
    port = table.string("port", "") if transport != "tcp" else ""
    if transport != "tcp" and not port:
        raise table.error(
            "port", port, f'a serial port such as "/dev/serial/by-id/usb-FTDI_..." (transport "{transport}")'
        )
    host = table.string("host", "") if transport == "tcp" else ""
    if transport == "tcp" and not host:
        raise table.error("host", host, 'the gateway\'s address such as "192.168.1.50" (transport "tcp")')
    return ModbusSettings(
        transport=transport,  # type: ignore[arg-type]
        port=port,
        host=host,
        tcp_port=table.integer("tcp_port", 502, low=1, high=65535),
        baudrate=table.integer("baudrate", d.baudrate, low=300, high=1_000_000),
        bytesize=table.integer("bytesize", 8, low=7, high=8),
        parity=table.string("parity", d.parity, choices=("N", "E", "O")),  # type: ignore[arg-type]
        stopbits=table.integer("stopbits", d.stopbits, low=1, high=2),
        device_id=table.integer("device_id", d.device_id, low=0, high=247),
        timeout_s=table.quantity("timeout", units.DURATION, "1 s", low=0.05, high=30),
    )


def _polling(table: Table, interval: str) -> ModbusPolling:
    return ModbusPolling(
        interval_s=table.quantity("poll_interval", units.DURATION, interval, low=0.05, high=3600),
        retries=table.integer("retries", 2, low=0, high=10),
        stale_after_s=table.quantity("stale_after", units.DURATION, "5 s", low=0.1, high=3600),
    )


def _preset(table: Table, presets: dict[str, object]) -> str | None:
    if not table.has("preset"):
        table.string("preset", "")
        return None
    return table.string("preset", choices=tuple(presets))


def _parse_shunt(table: Table) -> ShuntConfig:
    driver = table.string("driver", "simulated", choices=SHUNT_DRIVERS)
    if driver == "simulated":
        table.finish()
        return Simulated()
    if driver in ("victron-ble", "solix"):
        from controller.config.bluetooth import parse_solix, parse_victron_ble

        return parse_victron_ble(table) if driver == "victron-ble" else parse_solix(table)
    if driver == "vedirect":
        config = VEDirectConfig(
            port=table.string("port"),
            baudrate=table.integer("baudrate", 19200, low=300, high=1_000_000),
            stale_after_s=table.quantity("stale_after", units.DURATION, "5 s", low=0.1, high=3600),
        )
        table.finish()
        return config
    preset = _preset(table, dict(SHUNT_PRESETS))
    base_map, defaults = SHUNT_PRESETS[preset]() if preset else (ShuntMap({}), None)
    registers = dict(base_map.registers)
    regs_table = table.table("registers")
    for name in SHUNT_FIELDS:
        if regs_table.has(name):
            internal_unit = SHUNT_UNITS[name]
            registers[name] = parse_register(
                regs_table.table(name), _KIND_OF_INTERNAL_UNIT[internal_unit], internal_unit
            )
    regs_table.finish()
    for required in ("voltage_v", "current_a"):
        if required not in registers:
            raise table.error(
                f"registers.{required}", None, f"a register for {required} (or a preset: {', '.join(SHUNT_PRESETS)})"
            )
    status = parse_status(table.table("status")) if table.has("status") else base_map.status
    shunt_map = ShuntMap(registers, table.boolean("invert_current", base_map.invert_current), status)
    modbus_config = ModbusShuntConfig(_settings(table, defaults), shunt_map, _polling(table, "1 s"), preset)
    table.finish()
    return modbus_config


def _parse_pressure(table: Table) -> PressureConfig:
    driver = table.string("driver", "simulated", choices=PRESSURE_DRIVERS)
    if driver == "simulated":
        table.finish()
        return Simulated()
    if driver == "sdp":
        model = table.string("model", "sdp810-500", choices=tuple(MODELS))
        address = table.integer("address", MODELS[model][0], low=0x03, high=0x77)
        if address not in ADDRESSES[model]:
            choices = " or ".join(f"{a:#04x}" for a in ADDRESSES[model])
            raise table.error("address", f"{address:#04x}", f"{choices} (the addresses an {model.upper()} can have)")
        config_sdp = SdpConfig(
            model=model,
            bus=table.integer("bus", 1, low=0, high=255),
            address=address,
            interval_s=table.quantity("poll_interval", units.DURATION, "0.2 s", low=0.01, high=60),
            stale_after_s=table.quantity("stale_after", units.DURATION, "5 s", low=0.1, high=3600),
        )
        table.finish()
        return config_sdp
    preset = _preset(table, dict(PRESSURE_PRESETS))
    base, defaults = PRESSURE_PRESETS[preset]() if preset else (None, None)
    value = parse_register(table.table("value"), units.PRESSURE, "Pa") if table.has("value") else None
    if value is None:
        if base is None:
            raise table.error("value", None, f"a value register table (or a preset: {', '.join(PRESSURE_PRESETS)})")
        value = base.value
    decimals = (
        parse_register(table.table("decimals_register"), units.DIMENSIONLESS, "")
        if table.has("decimals_register")
        else (base.decimals_register if base else None)
    )
    unit_reg = (
        parse_register(table.table("unit_register"), units.DIMENSIONLESS, "")
        if table.has("unit_register")
        else (base.unit_register if base else None)
    )
    factors = dict(base.unit_factors) if base else {}
    codes = table.table("unit_codes")
    if table.has("unit_codes"):
        factors = {}
        for code in range(256):
            if not codes.has(str(code)):
                continue
            unit_text = codes.string(str(code))
            try:
                factors[code] = units.parse(f"1 {unit_text}", units.PRESSURE)
            except units.UnitError as exc:
                raise codes.error(str(code), unit_text, "a pressure unit such as Pa, kPa, mbar, inWC") from exc
        codes.finish()
    elif unit_reg is not None and not factors:
        factors = {c: units.parse(f"1 {u}", units.PRESSURE) for c, u in PRESSURE_UNIT_CODES_GENERIC.items()}
    temperature = (
        parse_register(table.table("temperature"), units.TEMPERATURE, "degC") if table.has("temperature") else None
    )
    status = parse_status(table.table("status")) if table.has("status") else (base.status if base else None)
    pressure_map = PressureMap(value, decimals, unit_reg, factors, temperature, status)
    config = ModbusPressureConfig(_settings(table, defaults), pressure_map, _polling(table, "0.5 s"), preset)
    table.finish()
    return config


def _parse_fan(table: Table) -> FanConfig:
    driver = table.string("driver", "simulated", choices=FAN_DRIVERS)
    if driver == "simulated":
        table.finish()
        return Simulated()
    if driver in ("buttons", "ir"):
        return parse_buttons_fan(table, driver)
    if driver == "pwm":
        tach = None
        if table.has("tach"):
            tach = Tachometer(
                path=Path(table.string("tach")),
                kind=table.string("tach_kind", "rpm", choices=("rpm", "pulses")),  # type: ignore[arg-type]
                pulses_per_rev=table.integer("pulses_per_rev", 2, low=1, high=12),
                stall_rpm=table.number("stall_rpm", 150.0, low=0),
                stall_min_command_pct=table.quantity("stall_min_command", units.FRACTION, "20 %", low=0, high=100),
                stall_after_s=table.quantity("stall_after", units.DURATION, "5 s", low=0.1, high=600),
            )
        config_pwm = PwmFanConfig(
            chip=table.string("chip", ""),
            channel=table.integer("channel", 0, low=0, high=63),
            frequency_hz=table.quantity("frequency", units.FREQUENCY, "25 kHz", low=1, high=1e6),
            inverted=table.boolean("inverted", False),
            tachometer=tach,
            sysfs_root=Path(table.string("sysfs_root", "/sys/class/pwm")),
        )
        table.finish()
        return config_pwm
    preset = _preset(table, dict(FAN_PRESETS))
    base, defaults = FAN_PRESETS[preset]() if preset else (None, None)
    if table.has("output"):
        output = parse_register(table.table("output"), units.DIMENSIONLESS, "")
    elif base is not None:
        output = base.output
    else:
        raise table.error("output", None, f"an output register table (or a preset: {', '.join(FAN_PRESETS)})")
    if output.function != "holding":
        raise table.error("output.function", output.function, '"holding" (outputs are written holding registers)')
    zero = table.number("zero_raw", base.zero_raw if base else 0.0)
    full = table.number("full_raw", base.full_raw if base else 0.0)
    if full == zero:
        raise table.error("full_raw", full, f"the raw output value at 100 % (different from zero_raw = {zero:g})")
    enable = parse_register(table.table("enable"), units.DIMENSIONLESS, "") if table.has("enable") else None
    fan_map = FanMap(
        output,
        zero,
        full,
        enable,
        table.integer("enable_on", 1, low=0, high=0xFFFF),
        table.integer("enable_off", 0, low=0, high=0xFFFF),
    )
    if base is not None and enable is None:
        fan_map = replace(fan_map, enable=base.enable)
    config = ModbusFanConfig(_settings(table, defaults), fan_map, table.integer("retries", 2, low=0, high=10), preset)
    table.finish()
    return config


def parse_devices(table: Table) -> DevicesSection:
    """Parse the `[devices]` table (its `shunt`, `pressure` and `fan` sub-tables)."""
    section = DevicesSection(
        shunt=_parse_shunt(table.table("shunt")),
        pressure=_parse_pressure(table.table("pressure")),
        fan=_parse_fan(table.table("fan")),
    )
    table.finish()
    return section

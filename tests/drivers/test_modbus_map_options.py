"""The Modbus map options against the real pymodbus server: byte orders, offsets, status registers,
plausible ranges, and Modbus ASCII framing, each with golden register vectors."""

from __future__ import annotations

import tomllib

import pytest

from controller.config.devices import parse_devices
from controller.config.reader import Table
from controller.errors import ConfigError
from drivers.config import ModbusPressureConfig, ModbusShuntConfig
from drivers.fakes.modbus import ModbusFake
from drivers.modbus.devices import ModbusPressureSensor, ModbusShunt
from drivers.modbus.link import ModbusSettings
from drivers.modbus.maps import PressureMap, ShuntMap, StatusCheck
from drivers.modbus.presets import PRESSURE_PRESETS, SHUNT_PRESETS
from drivers.modbus.registers import BYTE_ORDERS, Register, RegisterError, decode, encode
from tests.drivers.helpers import fast_backoff


def _reg(order: str, reg_type: str = "uint32", **kwargs: float) -> Register:
    word_order, swap = BYTE_ORDERS[order]
    return Register(0, "holding", reg_type, word_order, byte_swap=swap, **kwargs)  # type: ignore[arg-type]


# Golden vectors: the words a device holds, for each byte order (A = the most significant byte).
BYTE_ORDER_GOLDEN = [
    ("ABCD", "uint32", [0x1234, 0x5678], 0x12345678),
    ("BADC", "uint32", [0x3412, 0x7856], 0x12345678),
    ("CDAB", "uint32", [0x5678, 0x1234], 0x12345678),
    ("DCBA", "uint32", [0x7856, 0x3412], 0x12345678),
    ("ABCD", "float32", [0x4153, 0x3333], 13.2),
    ("BADC", "float32", [0x5341, 0x3333], 13.2),
    ("CDAB", "float32", [0x3333, 0x4153], 13.2),
    ("DCBA", "float32", [0x3333, 0x5341], 13.2),
    ("ABCD", "int32", [0xFFFF, 0xCFC7], -12345),
    ("DCBA", "int32", [0xC7CF, 0xFFFF], -12345),
    ("BADC", "int16", [0x2EFB], -1234),
]


@pytest.mark.parametrize(("order", "reg_type", "words", "value"), BYTE_ORDER_GOLDEN)
def test_byte_order_golden_vectors(order: str, reg_type: str, words: list[int], value: float) -> None:
    register = _reg(order, reg_type)
    assert register.byte_order == order
    assert decode(register, words) == pytest.approx(value, rel=1e-6)
    assert encode(register, value) == words


def test_an_offset_is_added_after_the_scale() -> None:
    celsius_plus_100 = Register(9, type="uint16", factor=1.0, offset=-100.0)  # a Juntek KG-F temperature
    assert decode(celsius_plus_100, [125]) == 25.0
    assert encode(celsius_plus_100, -5.0) == [95]
    tenth_kelvin = Register(9, type="uint16", scale=0.1, factor=0.1, offset=-273.15)
    assert decode(tenth_kelvin, [2982]) == pytest.approx(25.05)


def test_a_value_outside_its_plausible_range_is_an_error_naming_it() -> None:
    voltage = Register(0x20, type="uint16", scale=0.01, factor=0.01, valid_min=0.0, valid_max=100.0)
    assert decode(voltage, [1320], "voltage_v") == pytest.approx(13.2)
    with pytest.raises(RegisterError, match=r"register 32 \(voltage_v\) reads 655.35, outside .* 0 to 100"):
        decode(voltage, [65535], "voltage_v")


def _tcp(fake: ModbusFake, transport: str = "tcp") -> ModbusSettings:
    if transport == "tcp":
        return ModbusSettings(transport="tcp", host=fake.host, tcp_port=fake.tcp_port, timeout_s=0.3)
    return ModbusSettings(transport=transport, port=fake.port, timeout_s=0.5)  # type: ignore[arg-type]


async def test_a_map_read_against_another_firmware_layout_is_refused_not_3_MPa() -> None:
    pressure_map, _ = PRESSURE_PRESETS["generic-rs485"]()
    # the newer firmware: 0x0002 parity (0 = none), 0x0003 unit (0 = kPa in its table), 0x0004 decimals (3)
    fake = ModbusFake(transport="tcp", holding={0x0002: 0, 0x0003: 0, 0x0004: 3, 0x0016: 0x3F80, 0x0017: 0})
    await fake.start()
    sensor = ModbusPressureSensor(_tcp(fake), pressure_map, retries=0, backoff=fast_backoff())
    try:
        assert await sensor.poll_once() is None
        error = str(sensor.stats.last_error)
        assert "reads 3e+06" in error
        assert "plausible range -10000 to 10000" in error
        assert "this device and firmware" in error
        fake.set("holding", 0x0002, [2, 1, 42])  # the layout the map is for: Pa, one decimal, 4.2 Pa
        reading = await sensor.poll_once()
        assert reading is not None
        assert reading.pressure_pa == pytest.approx(4.2)
    finally:
        await sensor.close()
        await fake.close()


async def test_a_status_register_gates_the_reading() -> None:
    status = StatusCheck(Register(0x0010, type="uint16"), frozenset({0, 1}))
    pressure_map = PressureMap(Register(0x0011, type="int16", scale=0.1, factor=0.1), status=status)
    fake = ModbusFake(transport="tcp", holding={0x0010: 1, 0x0011: 57})
    await fake.start()
    sensor = ModbusPressureSensor(_tcp(fake), pressure_map, retries=0, backoff=fast_backoff())
    try:
        reading = await sensor.poll_once()
        assert reading is not None
        assert reading.pressure_pa == pytest.approx(5.7)
        fake.set("holding", 0x0010, [4])
        assert await sensor.poll_once() is None
        assert "status register 16 says 4, not one of the good values [0, 1]" in str(sensor.stats.last_error)
        assert sensor.stats.corrupt == 1
    finally:
        await sensor.close()
        await fake.close()


async def test_byte_orders_and_offsets_end_to_end() -> None:
    shunt_map = ShuntMap(
        {
            "voltage_v": _reg("DCBA", "float32"),
            "current_a": Register(2, "input", "int32", "big", byte_swap=True, scale=0.001, factor=0.001),
            "temperature_c": Register(4, "input", "uint16", offset=-100.0),
        }
    )
    fake = ModbusFake(transport="tcp", holding={0: 0x3333, 1: 0x5341}, input={2: 0xFFFF, 3: 0x2EFB, 4: 123})
    await fake.start()
    shunt = ModbusShunt(_tcp(fake), shunt_map, retries=0, backoff=fast_backoff())
    try:
        reading = await shunt.poll_once()
        assert reading is not None, shunt.stats.last_error
        assert reading.voltage_v == pytest.approx(13.2)
        assert reading.current_a == pytest.approx(-1.234)  # 0xFFFFFB2E as BADC words
        assert reading.temperature_c == 23.0
    finally:
        await shunt.close()
        await fake.close()


async def test_modbus_ascii_framing_through_pymodbus() -> None:
    shunt_map, line = SHUNT_PRESETS["epever-tracer"]()
    fake = ModbusFake(transport="ascii", device_id=line.device_id)
    fake.set_shunt(shunt_map, {"voltage_v": 13.42, "current_a": -6.5, "soc_pct": 81.0})
    await fake.start()
    shunt = ModbusShunt(_tcp(fake, "ascii"), shunt_map, retries=0, backoff=fast_backoff())
    wrong_id = ModbusShunt(
        ModbusSettings(transport="ascii", port=fake.port, device_id=9, timeout_s=0.2), shunt_map, retries=0
    )
    try:
        reading = await shunt.poll_once()
        assert reading is not None, shunt.stats.last_error
        assert (reading.voltage_v, reading.current_a, reading.soc_pct) == pytest.approx((13.42, -6.5, 81.0))
        fake.bad_crc = 1  # a wrong LRC
        assert await shunt.poll_once() is None
        assert shunt.stats.corrupt == 1
        assert await shunt.poll_once() is not None
        await shunt.close()
        assert await wrong_id.poll_once() is None
        assert "no answer from device 9" in str(wrong_id.stats.last_error)
        assert "Modbus ASCII" in str(wrong_id.stats.last_error)
    finally:
        await shunt.close()
        await wrong_id.close()
        await fake.close()


CONFIG = """
[devices.shunt]
driver = "modbus"
transport = "ascii"
port = "/dev/ttyUSB0"
[devices.shunt.registers.voltage_v]
address = 0
type = "float32"
byte_order = "DCBA"
min = "8 V"
max = "16 V"
[devices.shunt.registers.current_a]
address = 2
type = "int16"
scale = 10
unit = "mA"
[devices.shunt.registers.temperature_c]
address = 3
offset = -100
[devices.shunt.status]
address = 7
good = [0]
"""


def test_the_options_are_read_from_the_configuration() -> None:
    section = parse_devices(Table(tomllib.loads(CONFIG)["devices"], "test.toml", "devices."))
    shunt = section.shunt
    assert isinstance(shunt, ModbusShuntConfig)
    assert shunt.settings.transport == "ascii"
    voltage = shunt.map.registers["voltage_v"]
    assert (voltage.byte_order, voltage.valid_min, voltage.valid_max) == ("DCBA", 8.0, 16.0)
    assert shunt.map.registers["current_a"].factor == pytest.approx(0.01)
    assert shunt.map.registers["temperature_c"].offset == -100.0
    assert shunt.map.status == StatusCheck(Register(7), frozenset({0}))
    preset = parse_devices(Table({"pressure": {"driver": "modbus", "preset": "generic-rs485", "port": "/x"}}, "t", ""))
    assert isinstance(preset.pressure, ModbusPressureConfig)
    assert preset.pressure.map.value.valid_max == 10_000


@pytest.mark.parametrize(
    ("registers", "key", "expected"),
    [
        ({"address": 0, "byte_order": "ABDC"}, "byte_order", "ABCD, BADC, CDAB, DCBA"),
        ({"address": 0, "byte_order": "ABCD", "word_order": "big"}, "word_order", "beside byte_order"),
        ({"address": 0, "min": "20 V", "max": "10 V"}, "max", "more than min"),
        ({"address": 0, "min": "20 A"}, "min", "voltage"),
    ],
)
def test_bad_options_name_the_key(registers: dict[str, object], key: str, expected: str) -> None:
    table = {"shunt": {"driver": "modbus", "port": "/x", "registers": {"voltage_v": registers}}}
    with pytest.raises(ConfigError) as caught:
        parse_devices(Table(table, "test.toml", "devices."))
    assert f"devices.shunt.registers.voltage_v.{key}" in str(caught.value)
    assert expected in str(caught.value)


def test_a_status_table_needs_good_values() -> None:
    table = {"pressure": {"driver": "modbus", "preset": "dwyer-ms2", "port": "/x", "status": {"address": 19}}}
    with pytest.raises(ConfigError, match=r"devices.pressure.status.good"):
        parse_devices(Table(table, "test.toml", "devices."))


@pytest.mark.parametrize(("order", "reg_type", "words", "value"), [g for g in BYTE_ORDER_GOLDEN if g[1] != "int16"])
async def test_each_byte_order_through_the_pymodbus_server(
    order: str, reg_type: str, words: list[int], value: float
) -> None:
    register = _reg(order, reg_type, scale=0.001, factor=0.001)
    shunt_map = ShuntMap({"voltage_v": register, "current_a": Register(8, type="int16")})
    fake = ModbusFake(transport="tcp", holding={0: words[0], 1: words[1], 8: 0})
    await fake.start()
    shunt = ModbusShunt(_tcp(fake), shunt_map, retries=0, backoff=fast_backoff())
    try:
        reading = await shunt.poll_once()
    finally:
        await shunt.close()
        await fake.close()
    assert reading is not None, shunt.stats.last_error
    assert reading.voltage_v == pytest.approx(value * 0.001, rel=1e-6)

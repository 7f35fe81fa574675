"""Modbus maps and drivers against a real pymodbus server (RTU over a pty, and TCP), with every fault."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.base import DeviceState
from drivers.fakes.modbus import ModbusFake
from drivers.modbus.devices import ModbusFan, ModbusPressureSensor, ModbusShunt
from drivers.modbus.link import ModbusSettings
from drivers.modbus.maps import FanMap, ReadSpan, plan_reads, pressure_value, shunt_values
from drivers.modbus.presets import FAN_PRESETS, PRESSURE_PRESETS, SHUNT_PRESETS
from drivers.modbus.registers import Register, RegisterError, decode, encode
from tests.drivers.helpers import fast_backoff
from tests.eventually import eventually

SETTLE_S = 30.0
"""A generous bound on a fan command reaching the device (the driver applies it on its own task)."""

# Golden vectors: words as the device holds them.
GOLDEN = [
    (Register(0, type="int16", scale=0.01, factor=0.01), [0xFB2E], -12.34),
    (Register(0, type="uint16", scale=0.1, factor=0.1), [0x0084], 13.2),
    (Register(0, type="int32", word_order="big", factor=0.001), [0xFFFF, 0xCFC7], -12.345),
    (Register(0, type="int32", word_order="little", factor=0.01), [0xFB2E, 0xFFFF], -12.34),
    (Register(0, type="uint32", word_order="little", factor=1.0), [0x04D2, 0x0001], 66770.0),
    (Register(0, type="float32", word_order="big", factor=1.0), [0x4153, 0x3333], 13.2),
    (Register(0, type="float32", word_order="little", factor=1.0), [0x3333, 0x4153], 13.2),
]


@pytest.mark.parametrize(("register", "words", "value"), GOLDEN)
def test_golden_register_vectors(register: Register, words: list[int], value: float) -> None:
    assert decode(register, words) == pytest.approx(value, rel=1e-6)
    assert encode(register, value) == words


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["int16", "uint16", "int32", "uint32", "float32"]),
    st.sampled_from(["big", "little"]),
    st.lists(st.integers(-5, 0x10005), max_size=3),
)
def test_fuzz_register_words_only_raise_register_errors(reg_type: str, order: str, words: list[int]) -> None:
    register = Register(0, "holding", reg_type, order)  # type: ignore[arg-type]
    try:
        value = decode(register, words)
    except RegisterError:
        return
    assert value == value  # finite numbers only (NaN would fail this)


def test_reads_are_grouped_into_few_requests() -> None:
    epever, _ = SHUNT_PRESETS["epever-tracer"]()
    spans = plan_reads(list(epever.registers.values()))
    assert spans == [ReadSpan(4, 0x311A, 1), ReadSpan(4, 0x331A, 3)]
    pzem, _ = SHUNT_PRESETS["pzem-017"]()
    assert plan_reads(list(pzem.registers.values())) == [ReadSpan(4, 0, 6)]


def test_soc_and_power_are_derived_when_the_device_has_no_register() -> None:
    renogy, _ = SHUNT_PRESETS["renogy-smart-battery"]()
    span = ReadSpan(3, 5042, 6)
    words = [*encode(renogy.registers["current_a"], -2.5), *encode(renogy.registers["voltage_v"], 13.2)]
    words += encode(renogy.registers["remaining_ah"], 50.0) + encode(renogy.registers["capacity_ah"], 100.0)
    values = shunt_values(renogy, {span: words})
    assert values["soc_pct"] == pytest.approx(50.0)
    assert values["power_w"] == pytest.approx(-33.0)


@pytest.fixture(params=["tcp", "rtu"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _settings(fake: ModbusFake, device_id: int | None = None) -> ModbusSettings:
    device = fake.device_id if device_id is None else device_id
    if fake.transport == "tcp":
        return ModbusSettings(transport="tcp", host=fake.host, tcp_port=fake.tcp_port, device_id=device, timeout_s=0.3)
    return ModbusSettings(transport="rtu", port=fake.port, device_id=device, timeout_s=0.3)


@pytest.mark.parametrize("preset", sorted(SHUNT_PRESETS))
async def test_every_shunt_preset_reads_its_values_through_the_wire(preset: str, transport: str) -> None:
    shunt_map, line = SHUNT_PRESETS[preset]()
    values = {"voltage_v": 13.3, "current_a": 4.25, "soc_pct": 77.0, "remaining_ah": 77.0, "capacity_ah": 100.0}
    values |= {"power_w": 56.4, "energy_wh": 1234.0}
    fake = ModbusFake(transport=transport, device_id=line.device_id)  # type: ignore[arg-type]
    fake.set_shunt(shunt_map, values)
    await fake.start()
    shunt = ModbusShunt(_settings(fake, device_id=line.device_id), shunt_map, retries=0, backoff=fast_backoff())
    try:
        reading = await shunt.poll_once()
        assert reading is not None, shunt.stats.last_error
        assert reading.voltage_v == pytest.approx(13.3)
        assert reading.current_a == pytest.approx(4.25)
        names = set(shunt_map.registers)
        if names & {"soc_pct", "capacity_ah"}:
            assert reading.soc_pct == pytest.approx(77.0)
        else:
            assert reading.soc_pct is None  # the device does not say
        if "power_w" in names:
            assert reading.power_w == pytest.approx(56.4)
        if "energy_wh" in names:
            assert reading.history["energy_wh"] == pytest.approx(1234.0)
        assert shunt.stats.state is DeviceState.OK
    finally:
        await shunt.close()
        await fake.close()


async def test_faults_are_counted_and_polling_recovers(transport: str, tmp_path: Path) -> None:
    shunt_map, _ = SHUNT_PRESETS["pzem-017"]()
    fake = ModbusFake(transport=transport, link=tmp_path / "usb-FTDI_RS485-if00-port0")  # type: ignore[arg-type]
    fake.set_shunt(shunt_map, {"voltage_v": 12.9, "current_a": 3.0})
    await fake.start()
    shunt = ModbusShunt(_settings(fake), shunt_map, interval_s=0.01, retries=1, backoff=fast_backoff())
    await shunt.start()
    try:
        await eventually(lambda: shunt.stats.readings >= 2, what="first readings")
        fake.no_answer = 1
        await eventually(lambda: shunt.stats.timeouts >= 1, what="timeout counted")
        fake.bad_crc = 1
        await eventually(lambda: shunt.stats.corrupt >= 1, what="bad CRC counted")
        fake.exception_code, fake.exceptions_left = 6, 1
        await eventually(lambda: fake.faults.get("exception", 0) == 1, what="exception sent")
        await eventually(lambda: shunt.stats.corrupt >= 2, what="exception counted")
        readings = shunt.stats.readings
        fake.set_shunt(shunt_map, {"voltage_v": 13.1})
        await eventually(lambda: shunt.stats.readings > readings + 2, what="readings resume")
        reading = shunt.latest()
        assert reading is not None
        assert reading.voltage_v == pytest.approx(13.1)
        fake.unplug()
        await eventually(lambda: shunt.stats.state is not DeviceState.OK, what="outage noticed")
        await fake.replug()
        readings = shunt.stats.readings
        await eventually(lambda: shunt.stats.readings > readings + 1, what="readings after replug")
        assert shunt.stats.state is DeviceState.OK
        assert fake.faults == {"no_answer": 1, "bad_crc": 1, "exception": 1, "unplug": 1, "replug": 1}
    finally:
        await shunt.close()
        await fake.close()


@pytest.mark.parametrize(
    ("unit_code", "decimals", "raw", "pa"),
    [(2, 1, 55, 5.5), (1, 3, 12, 12.0), (4, 2, -7, -7.0), (8, 0, 3, 29.41995)],
)
async def test_pressure_transmitter_honours_its_unit_and_decimal_registers(
    unit_code: int, decimals: int, raw: int, pa: float
) -> None:
    pressure_map, _ = PRESSURE_PRESETS["generic-rs485"]()
    fake = ModbusFake(transport="tcp", holding={2: unit_code, 3: decimals, 4: raw & 0xFFFF})
    await fake.start()
    sensor = ModbusPressureSensor(_settings(fake), pressure_map, retries=0, backoff=fast_backoff())
    try:
        reading = await sensor.poll_once()
        assert reading is not None, sensor.stats.last_error
        assert reading.pressure_pa == pytest.approx(pa)
        fake.set("holding", 2, [99])
        assert await sensor.poll_once() is None
        assert sensor.stats.corrupt == 1
        assert "unit register says code 99" in (sensor.stats.last_error or "")
    finally:
        await sensor.close()
        await fake.close()


async def test_dwyer_preset_reads_inches_of_water() -> None:
    pressure_map, _ = PRESSURE_PRESETS["dwyer-ms2"]()
    fake = ModbusFake(transport="rtu", device_id=127, holding={0: 20})  # 0.020 inWC
    await fake.start()
    sensor = ModbusPressureSensor(_settings(fake), pressure_map, retries=0, backoff=fast_backoff())
    try:
        reading = await sensor.poll_once()
        assert reading is not None, sensor.stats.last_error
        assert reading.pressure_pa == pytest.approx(4.98, abs=0.01)
    finally:
        await sensor.close()
        await fake.close()


async def test_fan_output_is_written_read_back_and_reapplied_after_faults(transport: str) -> None:
    fan_map, _ = FAN_PRESETS["waveshare-ao8"]()
    fake = ModbusFake(transport=transport)  # type: ignore[arg-type]
    await fake.start()
    fan = ModbusFan(_settings(fake), fan_map, retries=1, refresh_s=0.05, backoff=fast_backoff())
    await fan.start()
    try:
        await fan.set_command(40.0)
        assert await fan.settled(SETTLE_S)
        assert fake.registers["holding"][0] == 4000
        reading = fan.latest()
        assert reading is not None
        assert reading.command_pct == pytest.approx(40.0)
        fake.no_answer = 2  # both tries of the next command go unanswered
        await fan.set_command(75.0)
        assert await fan.settled(SETTLE_S)
        assert fan.stats.timeouts >= 1
        await eventually(lambda: (fan.latest() or reading).command_pct == pytest.approx(75.0), what="re-applied")
        assert fake.registers["holding"][0] == 7500
        fake.bad_crc = 1
        await fan.set_command(10.0)
        assert await fan.settled(SETTLE_S)
        assert fake.registers["holding"][0] == 1000
        assert fan.stats.corrupt >= 1
        await fan.set_command(150.0)  # clamped
        assert await fan.settled(SETTLE_S)
        assert fake.registers["holding"][0] == 10000
    finally:
        await fan.close()
        await fake.close()


async def test_dc_supply_fan_switches_its_output_with_the_enable_register() -> None:
    fan_map = FanMap(
        output=Register(0x08, "holding", "uint16", scale=0.01, factor=0.01),
        zero_raw=500.0,
        full_raw=1200.0,
        enable=Register(0x12, "holding", "uint16"),
    )
    fake = ModbusFake(transport="tcp")
    await fake.start()
    fan = ModbusFan(_settings(fake), fan_map, backoff=fast_backoff())
    await fan.start()
    try:
        await fan.set_command(50.0)
        assert await fan.settled(SETTLE_S)
        assert fake.registers["holding"][0x08] == 850
        assert fake.registers["holding"][0x12] == 1
        await fan.set_command(0.0)
        assert await fan.settled(SETTLE_S)
        assert fake.registers["holding"][0x08] == 500
        assert fake.registers["holding"][0x12] == 0
    finally:
        await fan.close()
        await fake.close()


async def test_a_silent_device_gives_a_wiring_hint_and_never_raises() -> None:
    shunt_map, _ = SHUNT_PRESETS["pzem-017"]()
    fake = ModbusFake(transport="rtu", device_id=1)
    await fake.start()
    shunt = ModbusShunt(_settings(fake, device_id=7), shunt_map, retries=1, backoff=fast_backoff())
    try:
        assert await shunt.poll_once() is None
        assert shunt.stats.timeouts == 2
        assert "check the A/B wires" in (shunt.stats.last_error or "")
    finally:
        await shunt.close()
        await fake.close()


_WORD = st.integers(0, 0xFFFF)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(SHUNT_PRESETS)), st.data())
def test_fuzz_any_register_contents_give_values_or_register_errors(preset: str, data: st.DataObject) -> None:
    shunt_map, _ = SHUNT_PRESETS[preset]()
    spans = {
        span: data.draw(st.lists(_WORD, min_size=span.count, max_size=span.count))
        for span in plan_reads(list(shunt_map.registers.values()))
    }
    try:
        values = shunt_values(shunt_map, spans)
    except RegisterError:
        return
    assert set(values) >= {"voltage_v", "current_a", "power_w"}


@settings(max_examples=200, deadline=None)
@given(_WORD, _WORD, _WORD)
def test_fuzz_pressure_transmitter_registers(unit: int, decimals: int, value: int) -> None:
    pressure_map, _ = PRESSURE_PRESETS["generic-rs485"]()
    span = ReadSpan(3, 2, 3)
    message = ""
    try:
        pa = pressure_value(pressure_map, {span: [unit, decimals, value]})
    except RegisterError as exc:
        message = str(exc)
    if message:
        assert unit > 8 or decimals > 6 or "plausible range" in message
    else:
        assert abs(pa) <= 10_000

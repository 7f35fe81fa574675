"""Sensirion SDP driver: CRC-8, decoding, fuzzing, and the driver against a fake sensor on a fake bus."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.base import DeviceState
from drivers.fakes.sdp import SdpFakeBus
from drivers.sdp import (
    ADDRESSES,
    MODELS,
    START_CONTINUOUS_DP_AVERAGE,
    STOP_CONTINUOUS,
    STOP_SETTLE_S,
    SdpError,
    SdpSensor,
    command_bytes,
    crc8,
    decode_measurement,
    encode_measurement,
)
from tests.drivers.helpers import fast_backoff


def test_crc8_matches_the_datasheet_example() -> None:
    assert crc8(bytes([0xBE, 0xEF])) == 0x92


@pytest.mark.parametrize(("scale", "pressure"), [(60, 12.5), (240, -3.25), (60, 500.0), (240, 0.0)])
def test_measurements_decode_with_the_transmitted_scale(scale: int, pressure: float) -> None:
    data = encode_measurement(pressure, 23.5, scale)
    assert decode_measurement(data, scale) == pytest.approx((pressure, 23.5), abs=1 / scale)


def test_a_scale_that_does_not_fit_the_model_is_rejected() -> None:
    with pytest.raises(SdpError, match="check the model"):
        decode_measurement(encode_measurement(1.0, 20.0, 240), 60)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=12), st.sampled_from([None, 60, 240]))
def test_fuzz_random_bytes_only_raise_sdp_errors(data: bytes, scale: int | None) -> None:
    try:
        pressure, _ = decode_measurement(data, scale)
    except SdpError:
        return
    assert abs(pressure) <= 32768


async def test_driver_reads_pressure_and_temperature_in_continuous_mode() -> None:
    bus = SdpFakeBus("sdp810-125", pressure_pa=4.75, temperature_c=21.0)
    sensor = SdpSensor(bus, model="sdp810-125", backoff=fast_backoff())
    reading = await sensor.poll_once()
    assert reading is not None
    assert reading.pressure_pa == pytest.approx(4.75)
    assert reading.temperature_c == pytest.approx(21.0)
    # stop first (an idle sensor NACKs it, which the driver ignores), then start continuous mode
    assert bus.commands == [STOP_CONTINUOUS, START_CONTINUOUS_DP_AVERAGE]
    await sensor.poll_once()
    assert bus.commands == [STOP_CONTINUOUS, START_CONTINUOUS_DP_AVERAGE]  # stays in continuous mode
    assert bus.reads == 2


async def test_crc_errors_nacks_and_replugs_are_counted_and_recovered() -> None:
    bus = SdpFakeBus("sdp31", pressure_pa=-2.0)
    sensor = SdpSensor(bus, model="sdp31", retries=2, backoff=fast_backoff())
    assert await sensor.poll_once() is not None
    bus.crc_errors = 1
    assert await sensor.poll_once() is not None
    assert sensor.stats.corrupt == 1
    bus.nacks = 1
    assert await sensor.poll_once() is not None
    assert sensor.stats.errors == 2
    bus.unplug()
    assert await sensor.poll_once() is None
    assert sensor.stats.state is DeviceState.UNAVAILABLE
    assert "check SDA/SCL" in (sensor.stats.last_error or "")
    bus.replug()
    reading = await sensor.poll_once()
    assert reading is not None
    assert reading.pressure_pa == pytest.approx(-2.0)
    assert sensor.stats.state is DeviceState.OK
    assert bus.commands.count(START_CONTINUOUS_DP_AVERAGE) >= 2  # continuous mode restarted after the replug
    assert STOP_CONTINUOUS in bus.commands


async def test_wrong_model_setting_is_reported() -> None:
    bus = SdpFakeBus("sdp810-125")
    sensor = SdpSensor(bus, model="sdp810-500", retries=0, backoff=fast_backoff())
    assert await sensor.poll_once() is None
    assert "check the model" in (sensor.stats.last_error or "")


async def test_a_stuck_bus_times_out_without_stalling_the_event_loop() -> None:
    bus = SdpFakeBus("sdp810-500", pressure_pa=3.0)
    sensor = SdpSensor(bus, model="sdp810-500", retries=1, backoff=fast_backoff())
    sensor.transfer_timeout_s = 0.05
    assert await sensor.poll_once() is not None
    bus.stuck_reads = 1
    reading = await sensor.poll_once()
    assert reading is not None  # the retry (after restarting continuous mode) succeeds
    assert sensor.stats.timeouts == 1
    assert sensor.stats.state is DeviceState.OK


def test_the_sdp33_decodes_with_its_own_scale_factor() -> None:
    assert MODELS["sdp33"] == (0x21, 20)
    data = encode_measurement(1200.0, 25.0, 20)
    assert decode_measurement(data, 20) == pytest.approx((1200.0, 25.0))
    with pytest.raises(SdpError, match="check the model"):
        decode_measurement(data, 60)


@pytest.mark.parametrize(
    ("model", "addresses"),
    [("sdp31", (0x21, 0x22, 0x23)), ("sdp33", (0x21, 0x22, 0x23)), ("sdp800-500", (0x25,)), ("sdp811-500", (0x26,))],
)
def test_each_model_has_the_addresses_of_its_datasheet(model: str, addresses: tuple[int, ...]) -> None:
    assert ADDRESSES[model] == addresses
    assert MODELS[model][0] == addresses[0]


def test_a_command_within_500_us_of_a_stop_is_not_acknowledged() -> None:
    bus = SdpFakeBus("sdp33")
    bus.write(0x21, command_bytes(START_CONTINUOUS_DP_AVERAGE))
    bus.write(0x21, command_bytes(STOP_CONTINUOUS))
    with pytest.raises(OSError, match="Remote I/O"):
        bus.write(0x21, command_bytes(START_CONTINUOUS_DP_AVERAGE))
    assert bus.too_soon == 1


async def test_the_driver_waits_the_settle_time_between_stop_and_start() -> None:
    bus = SdpFakeBus("sdp33", pressure_pa=850.0)
    bus.measuring = True  # the sensor was left measuring by an earlier run: the stop is acknowledged
    sensor = SdpSensor(bus, model="sdp33", backoff=fast_backoff(), retries=0)
    reading = await sensor.poll_once()
    assert reading is not None
    assert reading.pressure_pa == pytest.approx(850.0)
    assert bus.commands == [STOP_CONTINUOUS, START_CONTINUOUS_DP_AVERAGE]
    assert bus.too_soon == 0
    assert pytest.approx(0.0005) == STOP_SETTLE_S

"""The Bluetooth shunts with the real libraries (victron-ble, SolixBLE, bleak-retry-connector) decoding
the bytes those libraries publish as test data, played at the bleak seam by drivers/fakes/ble.py."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.config.devices import parse_devices
from controller.config.reader import Table
from controller.errors import ConfigError
from drivers.base import DeviceState
from drivers.ble.solix import SolixShunt
from drivers.ble.victron import VictronBleShunt
from drivers.config import SolixConfig, VictronBleConfig
from drivers.fakes.ble import Airwaves, BleReplay, ReplayScanner, ReplayStationClient
from drivers.runtime import Backoff
from tests.eventually import eventually

BLE = Path(__file__).resolve().parents[1] / "fixtures" / "ble"
SMARTSHUNT = BLE / "victron-smartshunt.json"
MPPT = BLE / "victron-mppt.json"
STATION = BLE / "solix-c1000.json"


def _victron(path: Path, key: str | None = None, speedup: float = 20.0) -> tuple[VictronBleShunt, Airwaves]:
    replay = BleReplay.load(path)
    airwaves = Airwaves(replay, speedup=speedup)
    shunt = VictronBleShunt(
        replay.address,
        key or replay.key,
        scanner_class=partial(ReplayScanner, airwaves),
        stale_after_s=0.5,
        backoff=Backoff(initial_s=0.05, max_s=0.2),
    )
    return shunt, airwaves


async def test_victron_ble_decodes_the_recorded_advertisement() -> None:
    shunt, _ = _victron(SMARTSHUNT)
    await shunt.start()
    try:
        reading = await shunt.wait_for_reading(5.0)
    finally:
        await shunt.close()
    assert reading is not None
    assert (reading.voltage_v, reading.current_a, reading.soc_pct) == (12.53, 0.0, 50.0)
    assert reading.consumed_ah == -50.0
    assert reading.time_to_go_min is None  # the advertisement says "not available"
    assert reading.product == "SmartShunt 500A/50mV"
    assert reading.soc_resolution_pct == 0.1
    assert shunt.stats.state is DeviceState.OK


async def test_victron_ble_with_a_wrong_key_says_where_to_find_the_right_one() -> None:
    shunt, airwaves = _victron(SMARTSHUNT, key="00" * 16)
    await shunt.start()
    try:
        await eventually(lambda: shunt.stats.corrupt >= 2, what="advertisements rejected")
    finally:
        await shunt.close()
    assert shunt.latest() is None
    assert "VictronConnect" in str(shunt.stats.last_error)
    assert shunt.stats.counters["key_mismatch"] >= 2
    assert airwaves.sent >= 2


async def test_victron_ble_refuses_a_solar_charger_by_name() -> None:
    shunt, _ = _victron(MPPT)
    await shunt.start()
    try:
        await eventually(lambda: shunt.wrong_product is not None, what="the charger refused")
    finally:
        await shunt.close()
    assert shunt.latest() is None
    assert shunt.wrong_product == "BlueSolar MPPT 75|15"
    assert shunt.stats.state is DeviceState.UNAVAILABLE
    assert "a solar charger" in str(shunt.stats.last_error)


async def test_victron_ble_goes_stale_out_of_range_and_restarts_a_failed_scanner() -> None:
    shunt, airwaves = _victron(SMARTSHUNT)
    airwaves.failing_connects = 2  # the adapter is not ready twice
    await shunt.start()
    try:
        assert await shunt.wait_for_reading(10.0) is not None
        assert "Resource Not Ready" in str(shunt.stats.last_error)
        airwaves.silent = True
        await eventually(lambda: shunt.latest() is not None and shunt.stats.state is DeviceState.STALE, what="stale")
        airwaves.silent = False
        await eventually(lambda: shunt.latest() is not None and shunt.stats.state is DeviceState.OK, what="back")
    finally:
        await shunt.close()
    assert airwaves.connects == 1


def _solix(stale_after_s: float = 30.0) -> tuple[SolixShunt, Airwaves]:
    replay = BleReplay.load(STATION)
    airwaves = Airwaves(replay, speedup=10.0)
    shunt = SolixShunt(
        replay.address,
        model="c1000",
        client_class=partial(ReplayStationClient, airwaves),
        poll_s=0.05,
        backoff=Backoff(initial_s=0.1, max_s=0.5),
        stale_after_s=stale_after_s,
    )
    return shunt, airwaves


async def test_solix_negotiates_and_reads_the_recorded_telemetry() -> None:
    shunt, _ = _solix()
    await shunt.start()
    try:
        readings = [await shunt.wait_for_reading(30.0) for _ in range(3)]
    finally:
        await shunt.close()
    by_soc = {r.soc_pct: r for r in readings if r is not None}
    assert set(by_soc) == {79.0, 23.0, 26.0}
    ac_load = by_soc[79.0]
    assert (ac_load.power_w, ac_load.output_power_w, ac_load.temperature_c) == (-979.0, 979.0, 26.0)
    assert ac_load.time_to_go_min == pytest.approx(0.8 * 60)  # the station's own 0.8 h
    assert ac_load.soc_resolution_pct == 1.0
    assert ac_load.voltage_v is None  # the station does not say
    solar = by_soc[26.0]
    assert (solar.solar_power_w, solar.power_w) == (98.0, 95.0)
    assert solar.time_to_go_min == math.inf  # charging: the station's 9 h are the time to full
    assert solar.history["time_to_full_min"] == pytest.approx(540.0)
    assert by_soc[23.0].product == "Anker SOLIX C1000"


async def test_solix_goes_stale_on_a_drop_and_reconnects() -> None:
    shunt, airwaves = _solix(stale_after_s=1.0)
    await shunt.start()
    try:
        assert await shunt.wait_for_reading(30.0) is not None
        airwaves.silent = True  # out of range: the link drops and reconnects fail until it is back
        airwaves.drop()
        await eventually(lambda: shunt.stats.state is DeviceState.STALE, timeout_s=30, what="stale after the drop")
        before = shunt.stats.readings
        airwaves.silent = False
        await eventually(lambda: shunt.stats.readings > before, timeout_s=60, what="readings after reconnecting")
    finally:
        await shunt.close()
    assert shunt.stats.state is DeviceState.OK
    assert shunt.stats.reconnects >= 1
    assert airwaves.connects >= 2


async def test_solix_retries_with_backoff_when_the_station_cannot_be_reached() -> None:
    shunt, airwaves = _solix()
    airwaves.failing_connects = 4  # more than one connect's attempts (bleak-retry-connector makes 3)
    await shunt.start()
    try:
        assert await shunt.wait_for_reading(60.0) is not None
    finally:
        await shunt.close()
    assert shunt.sessions == 1
    assert "could not connect" in str(shunt.stats.last_error)
    assert shunt.stats.state is DeviceState.OK


@pytest.mark.parametrize(
    ("driver", "replay", "expected"),
    [
        ("victron-ble", SMARTSHUNT, {"voltage_v": 12.53, "soc_pct": 50.0}),
        ("solix", STATION, {"soc_resolution_pct": 1.0}),
    ],
)
def test_probe_plays_a_replay_file(driver: str, replay: Path, expected: dict[str, float]) -> None:
    command = [sys.executable, "-m", "controller", "probe", "shunt", "--driver", driver, "--replay", str(replay)]
    result = subprocess.run([*command, "--json"], capture_output=True, text=True, check=False)
    data = json.loads(result.stdout)
    assert result.returncode == 0, data
    assert {k: data[k] for k in expected} == expected
    assert data["product"]


def test_probe_names_a_charger_heard_instead_of_a_shunt() -> None:
    command = [sys.executable, "-m", "controller", "probe", "shunt", "--driver", "victron-ble", "--replay", str(MPPT)]
    result = subprocess.run([*command, "--timeout", "3 s", "--json"], capture_output=True, text=True, check=False)
    data = json.loads(result.stdout)
    assert result.returncode == 1
    assert data["found"] == "BlueSolar MPPT 75|15"
    assert "not a battery monitor" in data["problem"]


def _parse(shunt: dict[str, object]) -> object:
    return parse_devices(Table({"shunt": shunt}, "test.toml", "devices.")).shunt


def test_configuration_of_the_bluetooth_shunts() -> None:
    victron = _parse({"driver": "victron-ble", "address": "C0:FF:EE:12:34:56", "key": "ab" * 16})
    assert victron == VictronBleConfig("C0:FF:EE:12:34:56", "ab" * 16)
    solix = _parse({"driver": "solix", "replay": str(STATION)})
    assert solix == SolixConfig("F4:9D:8A:10:4E:0C", "c1000", replay=STATION)


@pytest.mark.parametrize(
    ("shunt", "key", "expected"),
    [
        ({"driver": "victron-ble", "address": "C0:FF:EE", "key": "ab" * 16}, "address", "Bluetooth address"),
        ({"driver": "victron-ble", "address": "C0:FF:EE:12:34:56", "key": "abc"}, "key", "VictronConnect"),
        ({"driver": "solix", "address": "C0:FF:EE:12:34:56", "model": "c9000"}, "model", "c1000"),
        ({"driver": "solix", "replay": "/nonexistent.json"}, "replay", "Bluetooth replay file"),
    ],
)
def test_bad_bluetooth_settings_name_the_key(shunt: dict[str, object], key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _parse(shunt)
    assert f"devices.shunt.{key}" in str(caught.value)
    assert expected in str(caught.value)


def test_probe_without_a_radio_says_what_to_check() -> None:
    command = [sys.executable, "-m", "controller", "probe", "shunt", "--driver", "victron-ble"]
    flags = ["--address", "C0:FF:EE:12:34:56", "--key", "ab" * 16, "--timeout", "2 s", "--json"]
    result = subprocess.run([*command, *flags], capture_output=True, text=True, check=False)
    data = json.loads(result.stdout)
    assert result.returncode == 1
    assert data["voltage_v"] is None
    # no BlueZ here: the scanner cannot start; with BlueZ and no device: nothing is heard
    assert "systemctl status bluetooth" in data["problem"] or "nothing heard from" in data["problem"]
    assert "Traceback" not in result.stderr


async def test_solix_ignores_a_garbled_notification_and_keeps_reading() -> None:
    shunt, airwaves = _solix()
    await shunt.start()
    try:
        assert await shunt.wait_for_reading(30.0) is not None
        airwaves.garbage = 2
        sent = airwaves.sent
        await eventually(lambda: airwaves.garbage == 0 and airwaves.sent > sent + 3, timeout_s=30, what="garbage sent")
        assert await shunt.wait_for_reading(30.0) is not None
    finally:
        await shunt.close()
    assert shunt.stats.state is DeviceState.OK
    assert shunt.sessions == 1


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=40))
def test_fuzz_any_advertisement_bytes_are_a_reading_or_a_counted_rejection(data: bytes) -> None:
    shunt = VictronBleShunt("D3:2B:9E:75:1C:40", "aff4d0995b7d1e176c0c33ecb9e70dcd")
    advertisement = AdvertisementData(None, {0x02E1: b"\x10" + data}, {}, [], None, -60, ())
    shunt._heard(BLEDevice("D3:2B:9E:75:1C:40", None, {}), advertisement)
    reading = shunt.latest()
    if reading is None:
        assert shunt.stats.readings == 0
    else:
        assert reading.soc_pct is None or 0 <= reading.soc_pct <= 102.3

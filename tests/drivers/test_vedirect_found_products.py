"""The VE.Direct driver and `probe` on real captures of other products: they say what they found."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from drivers.base import DeviceState
from drivers.fakes.vedirect import VEDirectFake, replay
from drivers.vedirect.codec import split_blocks
from drivers.vedirect.driver import VEDirectShunt
from drivers.vedirect.framer import parse_block
from tests.drivers.helpers import BMV712, INVERTER, MPPT_CHARGING, MPPT_MID_STREAM, SMARTSHUNT, fast_backoff
from tests.eventually import eventually


def _driver(port: str, by_id: Path) -> VEDirectShunt:
    return VEDirectShunt(port, backoff=fast_backoff(), by_id_dir=by_id, poll_s=0.02, stale_after_s=0.5)


async def test_an_inverter_on_the_shunt_port_makes_the_shunt_unavailable_by_name(tmp_path: Path) -> None:
    fake = VEDirectFake(replay(split_blocks(INVERTER.read_bytes())), interval_s=0.01, link=tmp_path / "usb-Victron")
    driver = _driver(fake.port, tmp_path)
    await fake.start()
    await driver.start()
    try:
        await eventually(lambda: driver.stats.counters.get("wrong_product_blocks", 0) >= 3, what="blocks refused")
        assert driver.latest() is None
        assert driver.stats.state is DeviceState.UNAVAILABLE
        assert driver.wrong_product == "Phoenix Inverter 12V 1200VA 120V"
        assert "an inverter" in str(driver.stats.last_error)
        assert driver.stats.corrupt == 0
    finally:
        await driver.close()
        await fake.close()


async def test_a_solar_charger_is_kept_as_a_charger_reading_never_a_shunt_reading(tmp_path: Path) -> None:
    blocks = split_blocks(MPPT_CHARGING.read_bytes())
    fake = VEDirectFake(replay(blocks), interval_s=0.01, link=tmp_path / "usb-Victron")
    driver = _driver(fake.port, tmp_path)
    await fake.start()
    await driver.start()
    try:
        await eventually(lambda: driver.charger is not None, what="a charger reading")
        assert driver.latest() is None
        assert driver.charger is not None
        assert driver.charger.panel_power_w in {float(parse_block(b).as_dict()["PPV"]) for b in blocks}
        assert driver.stats.state is DeviceState.UNAVAILABLE
        assert "a solar charger" in str(driver.stats.last_error)
    finally:
        await driver.close()
        await fake.close()


async def test_joining_mid_block_counts_a_partial_block(tmp_path: Path) -> None:
    shunt_blocks = split_blocks(SMARTSHUNT.read_bytes())
    tail = shunt_blocks[1][40:]  # the reader joins while the device is half-way through a block
    fake = VEDirectFake(replay([tail, *shunt_blocks], per_tick=3, cycle=False), interval_s=0.01, link=tmp_path / "u")
    driver = _driver(fake.port, tmp_path)
    await driver.start()
    await eventually(lambda: driver._opened_once, what="port open")
    await fake.start()
    try:
        await eventually(lambda: driver.latest() is not None, what="a reading")
        assert driver.stats.counters.get("rejected_partial") == 1
        assert "rejected_checksum" not in driver.stats.counters
    finally:
        await driver.close()
        await fake.close()


def _probe(capture: Path) -> tuple[int, dict[str, object]]:
    command = [sys.executable, "-m", "controller", "probe", "shunt", "--driver", "vedirect", "--port", str(capture)]
    result = subprocess.run([*command, "--json"], capture_output=True, text=True, check=False)
    return result.returncode, json.loads(result.stdout)


@pytest.mark.parametrize(
    ("capture", "code", "found", "kind"),
    [
        (BMV712, 0, "BMV-712 Smart", "battery monitor"),
        (MPPT_CHARGING, 1, "BlueSolar MPPT 75|15", "solar charger"),
        (MPPT_MID_STREAM, 1, "SmartSolar MPPT 100|20", "solar charger"),
        (INVERTER, 1, "Phoenix Inverter 12V 1200VA 120V", "inverter"),
    ],
)
def test_probe_names_what_a_capture_holds(capture: Path, code: int, found: str, kind: str) -> None:
    returncode, data = _probe(capture)
    assert returncode == code, data
    assert data["found"] == found
    assert data["kind"] == kind
    if code:
        assert found in str(data["problem"])
        assert data["voltage_v"] is None


def test_probe_spells_out_an_infinite_time_to_go() -> None:
    _, data = _probe(BMV712)
    assert data["time_to_go"] == "infinite (not discharging)"
    assert data["time_to_go_min"] is None
    assert data["soc_resolution_pct"] == pytest.approx(0.1)


def test_probe_shows_a_chargers_values_and_the_partial_block() -> None:
    _, data = _probe(MPPT_MID_STREAM)
    assert data["rejected_partial"] == 1
    assert "rejected_checksum" not in data
    assert data["charge_state"] == "off"
    assert data["battery_voltage_v"] == pytest.approx(12.81)

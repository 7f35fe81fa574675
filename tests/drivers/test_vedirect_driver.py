"""The VE.Direct driver reading real bytes from a pseudo-terminal, through every fault of the fake."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from drivers.base import DeviceState
from drivers.fakes.vedirect import VEDirectFake, constant, replay
from drivers.vedirect.codec import split_blocks
from drivers.vedirect.driver import VEDirectShunt
from tests.drivers.helpers import BMV700, SMARTSHUNT, fast_backoff
from tests.eventually import eventually


def _driver(port: str, by_id: Path, **kwargs: float) -> VEDirectShunt:
    options = {"poll_s": 0.02, "stale_after_s": 0.5, "reopen_after_s": 5.0, **kwargs}
    return VEDirectShunt(port, backoff=fast_backoff(), by_id_dir=by_id, **options)  # type: ignore[arg-type]


CAPTURES = {"bmv700": split_blocks(BMV700.read_bytes()), "smartshunt": split_blocks(SMARTSHUNT.read_bytes())}


@pytest.mark.parametrize("capture", sorted(CAPTURES))
async def test_every_block_of_a_capture_arrives_through_the_pty(capture: str, tmp_path: Path) -> None:
    blocks = CAPTURES[capture]
    fake = VEDirectFake(replay(blocks, per_tick=2, cycle=False), interval_s=0.002, link=tmp_path / "usb-Victron")
    driver = _driver(fake.port, tmp_path)
    await driver.start()
    await eventually(lambda: driver.stats.state is DeviceState.STARTING and driver._opened_once, what="port open")
    await fake.start()
    try:
        await eventually(lambda: driver.stats.counters.get("blocks", 0) == len(blocks), what="all blocks")
        assert driver.stats.corrupt == 0
        assert driver.stats.readings == len(blocks) // 2
        reading = driver.latest()
        assert reading is not None
        assert reading.voltage_v is not None
        assert reading.history  # the history block was merged in
    finally:
        await driver.close()
        await fake.close()


async def test_faults_are_counted_and_the_driver_keeps_reading(tmp_path: Path) -> None:
    fake = VEDirectFake(constant(13.2, -4.0, 87.5), interval_s=0.01, link=tmp_path / "usb-Victron", seed=5)
    driver = _driver(fake.port, tmp_path)
    await fake.start()
    await driver.start()
    try:
        await eventually(lambda: driver.stats.readings >= 3, what="first readings")
        before_skipped = driver.stats.counters.get("skipped_bytes", 0)
        fake.inject_garbage(b"\x00\x17noise without a line end\xfe")
        await eventually(lambda: driver.stats.counters.get("skipped_bytes", 0) > before_skipped, what="noise skipped")
        faults: list[Callable[[], object]] = [
            lambda: fake.inject_garbage(b"\r\nV\t1\xff2\r\n"),
            fake.corrupt_checksums,
            fake.flip_bits,
            fake.cut,
        ]
        for fault in faults:
            before_corrupt, before_readings = driver.stats.corrupt, driver.stats.readings
            fault()
            # each probe is awaited before the loop moves on, so it sees this iteration's values
            await eventually(lambda: driver.stats.corrupt > before_corrupt, what=f"{fault} counted")  # noqa: B023
            await eventually(lambda: driver.stats.readings > before_readings + 2, what="readings resume")  # noqa: B023
            assert driver.stats.state is DeviceState.OK
        reading = driver.latest()
        assert reading is not None
        assert reading.voltage_v == pytest.approx(13.2)
        assert reading.current_a == pytest.approx(-4.0)
        assert reading.soc_pct == pytest.approx(87.5)
        assert sum(v for k, v in driver.stats.counters.items() if k.startswith("rejected_")) == driver.stats.corrupt
    finally:
        await driver.close()
        await fake.close()


async def test_unplug_and_replug_as_a_new_tty_is_found_again_by_its_stable_name(tmp_path: Path) -> None:
    link = tmp_path / "usb-VictronEnergy_BV_VE_Direct_cable_VE1234-if00-port0"
    fake = VEDirectFake(constant(), interval_s=0.01, link=link)
    driver = _driver(str(link), tmp_path)
    await fake.start()
    await driver.start()
    try:
        await eventually(lambda: driver.stats.readings >= 2, what="first readings")
        first_tty = fake.line.slave_path
        fake.unplug()
        await eventually(lambda: driver.stats.state is DeviceState.UNAVAILABLE, what="unavailable")
        assert driver.latest() is not None  # the last good reading is kept, with its old timestamp
        fake.replug()
        assert fake.line.slave_path != first_tty
        readings = driver.stats.readings
        await eventually(lambda: driver.stats.readings > readings + 2, what="readings after replug")
        assert driver.stats.state is DeviceState.OK
        assert driver.stats.reconnects >= 1
    finally:
        await driver.close()
        await fake.close()


async def test_a_glob_pattern_finds_the_adapter_under_its_new_number(tmp_path: Path) -> None:
    fake = VEDirectFake(constant(), interval_s=0.01, link=tmp_path / "usb-VictronEnergy_VE1234-if00-port0")
    driver = _driver("usb-VictronEnergy*", tmp_path)
    await fake.start()
    await driver.start()
    try:
        await eventually(lambda: driver.stats.readings >= 1, what="reading via pattern")
        fake.unplug()
        await eventually(lambda: driver.stats.state is DeviceState.UNAVAILABLE, what="unavailable")
        fake.replug()
        readings = driver.stats.readings
        await eventually(lambda: driver.stats.readings > readings, what="reading after replug")
    finally:
        await driver.close()
        await fake.close()


async def test_silence_marks_the_data_stale_and_counts_a_timeout(tmp_path: Path) -> None:
    fake = VEDirectFake(constant(), interval_s=0.01, link=tmp_path / "usb-Victron")
    driver = _driver(fake.port, tmp_path, stale_after_s=0.2, reopen_after_s=0.6)
    await fake.start()
    await driver.start()
    try:
        await eventually(lambda: driver.stats.readings >= 1, what="first reading")
        fake.silent = True
        await eventually(lambda: driver.stats.state is DeviceState.STALE, what="stale")
        await eventually(lambda: driver.stats.timeouts >= 1, what="timeout counted")
        await eventually(lambda: driver.stats.reconnects >= 1, what="port reopened after long silence")
        fake.silent = False
        await eventually(lambda: driver.stats.state is DeviceState.OK, what="fresh again")
    finally:
        await driver.close()
        await fake.close()


async def test_a_missing_port_is_unavailable_with_a_hint_and_never_raises(tmp_path: Path) -> None:
    driver = _driver(str(tmp_path / "usb-nothing-here"), tmp_path)
    await driver.start()
    try:
        await eventually(lambda: driver.stats.errors >= 3, what="retries")
        assert driver.stats.state is DeviceState.UNAVAILABLE
        assert "check that the adapter is plugged in" in (driver.stats.last_error or "")
        assert driver.latest() is None
        errors = driver.stats.errors
        await eventually(lambda: driver.stats.errors > errors, what="the reader keeps retrying (its task lives)")
    finally:
        await driver.close()


async def test_wrong_baud_rate_noise_gives_no_reading_and_counts_rejections(tmp_path: Path) -> None:
    # At a wrong baud rate the UART delivers byte soup: model it as random bytes with CR/LF sprinkled in.
    fake = VEDirectFake(lambda: [], interval_s=0.005, link=tmp_path / "usb-Victron", seed=9)
    driver = _driver(fake.port, tmp_path)
    await fake.start()
    await driver.start()
    try:
        for _ in range(40):
            fake.inject_garbage(size=60)
            fake.inject_garbage(b"\r\nV\t12\x85\r\n")
            await asyncio.sleep(0.005)
        await eventually(lambda: driver.stats.corrupt >= 5, what="rejections")
        assert driver.latest() is None
        assert driver.bytes_received > 0
    finally:
        await driver.close()
        await fake.close()

"""VE.Direct blocks classified by product id, on other projects' real captures: battery monitors become
shunt readings, solar chargers charger readings, inverters and unknown products are refused by name."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest

from drivers.base import ChargerReading, ShuntReading, WrongProduct
from drivers.vedirect.decoder import ReadingAssembler
from drivers.vedirect.encoder import battery_monitor_blocks, encode_block
from drivers.vedirect.framer import Block, BlockParser, VEDirectError, parse_block
from drivers.vedirect.products import BATTERY_MONITORS, Kind, product
from tests.drivers.helpers import BMV700, BMV712, FIXTURES, INVERTER, MPPT_75_15, MPPT_CHARGING, MPPT_MID_STREAM

EXPECTED_KIND = {
    "vedirect-bmv700.dump": Kind.BATTERY_MONITOR,
    "vedirect-smartshunt.dump": Kind.BATTERY_MONITOR,
    "vedirect-bmv712-smart.dump": Kind.BATTERY_MONITOR,
    "vedirect-bluesolar-mppt-75-15.dump": Kind.SOLAR_CHARGER,
    "vedirect-bluesolar-mppt-75-15-charging.dump": Kind.SOLAR_CHARGER,
    "vedirect-smartsolar-mppt-100-20.dump": Kind.SOLAR_CHARGER,
    "vedirect-phoenix-inverter-12-1200.dump": Kind.INVERTER,
}


def _classify(path: Path) -> tuple[Counter[str], ReadingAssembler]:
    counts: Counter[str] = Counter()
    assembler = ReadingAssembler()
    for item in BlockParser().feed(path.read_bytes()):
        if isinstance(item, VEDirectError):
            counts[item.kind] += 1
            continue
        assert isinstance(item, Block)
        try:
            reading = assembler.accept(item, 1.0)
        except WrongProduct:
            counts["refused"] += 1
        else:
            counts[type(reading).__name__] += 1
    return counts, assembler


def test_every_capture_in_the_fixtures_is_listed_here() -> None:
    assert {p.name for p in FIXTURES.glob("*.dump")} == set(EXPECTED_KIND)


@pytest.mark.parametrize("name", sorted(EXPECTED_KIND))
def test_every_block_of_every_capture_decodes_and_is_classified(name: str) -> None:
    counts, assembler = _classify(FIXTURES / name)
    assert counts["checksum"] == 0
    assert counts["grammar"] == 0
    assert counts["value"] == 0
    assert assembler.found is not None
    assert assembler.found.kind is EXPECTED_KIND[name]
    if EXPECTED_KIND[name] is Kind.BATTERY_MONITOR:
        assert counts["ShuntReading"] > 0
        assert counts["ChargerReading"] == counts["refused"] == 0
    elif EXPECTED_KIND[name] is Kind.SOLAR_CHARGER:
        assert counts["ChargerReading"] > 0
        assert counts["ShuntReading"] == counts["refused"] == 0
    else:
        assert counts["refused"] > 0
        assert counts["ShuntReading"] == counts["ChargerReading"] == 0


def test_joining_a_stream_mid_block_counts_a_partial_block_not_a_checksum_error() -> None:
    data = MPPT_MID_STREAM.read_bytes()
    assert data.startswith(b"ID\t0xA05F")
    counts, _ = _classify(MPPT_MID_STREAM)
    assert counts["partial"] == 1
    assert counts["checksum"] == 0
    assert counts["ChargerReading"] == 40 - 1


def test_a_damaged_block_after_a_whole_one_is_still_a_checksum_error() -> None:
    main, history = battery_monitor_blocks(voltage_v=13.0, current_a=-1.0, soc_pct=90.0, consumed_ah=-1.0)
    damaged = main[:-1] + bytes([(main[-1] + 1) & 0xFF])
    kinds = [r.kind if isinstance(r, VEDirectError) else "block" for r in BlockParser().feed(history + damaged)]
    assert kinds == ["block", "checksum"]


def test_a_solar_charger_becomes_a_charger_reading() -> None:
    first = next(r for r in BlockParser().feed(MPPT_CHARGING.read_bytes()) if isinstance(r, Block))
    reading = ReadingAssembler().accept(first, 7.0)
    assert isinstance(reading, ChargerReading)
    assert reading.product == "BlueSolar MPPT 75|15"
    assert reading.firmware == "150"
    assert reading.battery_voltage_v == pytest.approx(13.37)
    assert reading.battery_current_a == pytest.approx(5.42)
    assert reading.panel_voltage_v == pytest.approx(16.16)
    assert reading.panel_power_w == 74
    assert (reading.charge_state, reading.tracker, reading.error) == ("bulk", "tracking", "no error")
    assert reading.yield_total_wh == pytest.approx(6140)
    assert reading.yield_today_wh == pytest.approx(160)
    assert reading.max_power_today_w == 74
    assert reading.yield_yesterday_wh == pytest.approx(240)
    assert reading.max_power_yesterday_w == 84
    assert reading.load_current_a == 0


def test_an_inverter_is_refused_with_its_name() -> None:
    first = next(r for r in BlockParser().feed(INVERTER.read_bytes()) if isinstance(r, Block))
    with pytest.raises(WrongProduct) as caught:
        ReadingAssembler().accept(first, 0.0)
    assert caught.value.product == "Phoenix Inverter 12V 1200VA 120V"
    assert "PID 0xA279, an inverter" in str(caught.value)
    assert "not counted into the battery's charge" in str(caught.value)


def test_an_unknown_product_is_refused_by_its_id() -> None:
    block = parse_block(encode_block([("PID", "0xBEEF"), ("V", "12000"), ("I", "-500"), ("SOC", "900")]))
    with pytest.raises(WrongProduct, match="unknown Victron product 0xbeef"):
        ReadingAssembler().accept(block, 0.0)


def test_the_product_table_has_the_current_monitors() -> None:
    names = {pid: product(pid).name for pid in (0x0205, 0xA380, 0xA382, 0xA383, 0xA38C)}
    assert names == {
        0x0205: "BMV-700H",
        0xA380: "BMV-710 Smart",
        0xA382: "BMV-710H Smart",
        0xA383: "BMV-712 Smart Rev2",
        0xA38C: "SmartShunt IP67 500A/50mV",
    }
    assert all(product(pid).kind is Kind.BATTERY_MONITOR for pid in BATTERY_MONITORS)
    assert product(0xA05F).kind is Kind.SOLAR_CHARGER
    assert product(0xA10E).kind is Kind.SOLAR_CHARGER
    assert product(0xA3F0).kind is Kind.DC_DC
    assert product(0xA346).kind is Kind.AC_CHARGER


def test_infinite_and_unknown_time_to_go_stay_distinct() -> None:
    first = [r for r in BlockParser().feed(BMV712.read_bytes()) if isinstance(r, Block)]
    assembler = ReadingAssembler()
    readings = [r for r in (assembler.accept(b, 0.0) for b in first) if isinstance(r, ShuntReading)]
    assert readings[0].time_to_go_min == math.inf  # TTG -1 in the capture: charging
    assert readings[0].temperature_c == 23
    assert readings[0].soc_resolution_pct == pytest.approx(0.1)
    main, _ = battery_monitor_blocks(
        voltage_v=13.0, current_a=-2.0, soc_pct=50.0, consumed_ah=-50.0, time_to_go_min=None, pid=0xA383
    )
    unknown = ReadingAssembler().accept(parse_block(main), 0.0)
    assert isinstance(unknown, ShuntReading)
    assert unknown.time_to_go_min is None
    assert unknown.product == "BMV-712 Smart Rev2"
    bmv700 = next(r for r in BlockParser().feed(BMV700.read_bytes()) if isinstance(r, Block))
    finite = ReadingAssembler().accept(bmv700, 0.0)
    assert isinstance(finite, ShuntReading)
    assert finite.time_to_go_min == 942


def test_an_mppt_capture_is_all_charger_readings() -> None:
    counts, assembler = _classify(MPPT_75_15)
    assert counts == Counter({"ChargerReading": 40})
    assert assembler.found is not None
    assert assembler.found.describe() == "BlueSolar MPPT 75|15 (PID 0xA042, a solar charger)"

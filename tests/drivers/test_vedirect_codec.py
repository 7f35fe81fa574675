"""VE.Direct codec: every block of the real captures, damaged streams, field conversions, fuzzing."""

from __future__ import annotations

import contextlib
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.base import ShuntReading
from drivers.vedirect.decoder import ReadingAssembler, decode_block
from drivers.vedirect.encoder import battery_monitor_blocks, encode_block
from drivers.vedirect.framer import Block, BlockParser, VEDirectError, parse_block, split_blocks
from tests.drivers.helpers import BMV700, SMARTSHUNT


def _blocks(data: bytes) -> tuple[list[Block], list[VEDirectError]]:
    results = BlockParser().feed(data)
    return [r for r in results if isinstance(r, Block)], [r for r in results if isinstance(r, VEDirectError)]


def _block_starts(data: bytes) -> list[int]:
    """Where each complete block of a clean capture begins (the capture's blocks are back to back)."""
    starts, offset = [], 0
    for raw in split_blocks(data):
        starts.append(offset)
        offset += len(raw)
    return starts


def test_every_block_of_the_bmv700_capture_is_decoded() -> None:
    data = BMV700.read_bytes()
    blocks, errors = _blocks(data)
    assert errors == []
    assert len(blocks) == 906
    joined = b"".join(b.raw for b in blocks)
    assert data.startswith(joined)  # the capture ends in the middle of a 907th block
    assert data[len(joined) :].startswith(b"\r\nPID")
    decoded = [decode_block(b) for b in blocks]
    main = [d for d in decoded if d.is_main]
    history = [d for d in decoded if not d.is_main]
    assert len(main) == 453
    assert len(history) == 453
    assert all(d.product == "BMV-700" and d.firmware == "0308" for d in main)
    assert all(-7.7 < (d.current_a or 0) < -2.6 for d in main)  # discharging throughout
    assert all(12.0 < (d.voltage_v or 0) < 12.2 for d in main)
    assert all(83.6 < (d.soc_pct or 0) < 84.0 for d in main)
    first = main[0]
    assert first.voltage_v == pytest.approx(12.065)
    assert first.current_a == pytest.approx(-7.625)
    assert first.power_w == -92
    assert first.consumed_ah == pytest.approx(-65.473)
    assert first.soc_pct == pytest.approx(83.9)
    assert first.time_to_go_min == 942
    assert first.alarm is False
    assert first.relay is False
    assert first.alarm_reasons == ()
    h = history[0].history
    assert h["deepest_discharge_ah"] == pytest.approx(-149.322)
    assert h["cumulative_drawn_ah"] == pytest.approx(-5526.294)
    assert h["min_voltage_v"] == pytest.approx(11.733)
    assert h["max_voltage_v"] == pytest.approx(16.161)
    assert h["since_full_charge_s"] == 368003
    assert h["automatic_syncs"] == 26
    assert h["discharged_energy_wh"] == pytest.approx(68430)
    assert h["charged_energy_wh"] == pytest.approx(85270)


def test_every_block_of_the_smartshunt_capture_is_decoded() -> None:
    blocks, errors = _blocks(SMARTSHUNT.read_bytes())
    assert errors == []
    assert len(blocks) == 2
    assembler = ReadingAssembler()
    assert assembler.accept(blocks[0], 1.0) is None
    reading = assembler.accept(blocks[1], 2.0)
    assert isinstance(reading, ShuntReading)
    assert reading.monotonic_s == 2.0
    assert reading.product == "SmartShunt 500A/50mV"
    assert reading.voltage_v == pytest.approx(12.865)
    assert reading.aux_voltage_v == pytest.approx(-0.014)
    assert reading.current_a == 0
    assert reading.soc_pct == 100
    assert reading.time_to_go_min == math.inf  # TTG -1: not discharging (unknown would be None)
    assert reading.relay is None  # the SmartShunt has no relay
    assert reading.history["deepest_discharge_ah"] == pytest.approx(-32.914)
    assert reading.history["min_aux_voltage_v"] == pytest.approx(-0.022)


@pytest.mark.parametrize("cut_at", [1, 7, 100, 2000, 50_000])
def test_a_capture_cut_anywhere_loses_at_most_the_cut_block(cut_at: int) -> None:
    data = BMV700.read_bytes()
    starts = _block_starts(data)
    whole_after = sum(1 for s in starts if s >= cut_at)
    blocks, errors = _blocks(data[cut_at:])
    assert len(blocks) == whole_after
    assert len(errors) <= 1


def test_garbage_between_and_inside_blocks_is_rejected_and_the_rest_decoded() -> None:
    rng = random.Random(7)
    clean = split_blocks(BMV700.read_bytes())[:200]
    stream = bytearray()
    damaged = set()
    for i, block in enumerate(clean):
        if i % 10 == 3:
            stream += rng.randbytes(30)  # noise between blocks
        if i % 10 == 6:
            cut = len(block) // 2
            stream += block[:cut] + rng.randbytes(5) + block[cut:]  # noise inside a block
            damaged.add(i)
        else:
            stream += block
    blocks, errors = _blocks(bytes(stream))
    good = [b for i, b in enumerate(clean) if i not in damaged]
    assert [b.raw for b in blocks] == good
    assert len(errors) >= len(damaged)


def test_a_flipped_bit_is_caught_by_the_checksum_or_the_grammar() -> None:
    rng = random.Random(3)
    clean = split_blocks(BMV700.read_bytes())[:100]
    stream = bytearray()
    flipped = set()
    for i, block in enumerate(clean):
        if i % 4 == 1:
            mutated = bytearray(block)
            mutated[rng.randrange(2, len(block) - 1)] ^= 1 << rng.randrange(8)
            stream += mutated
            flipped.add(i)
        else:
            stream += block
    blocks, errors = _blocks(bytes(stream))
    assert [b.raw for b in blocks] == [b for i, b in enumerate(clean) if i not in flipped]
    assert len(errors) >= len(flipped)


def test_hex_frames_are_skipped_even_inside_a_text_block() -> None:
    block = encode_block([("PID", "0xA389"), ("V", "13200"), ("I", "-1500")])
    ping_reply = b":51641F9\n"
    inside = block[:12] + b":A0102000543\n" + block[12:]
    blocks, errors = _blocks(ping_reply + inside + ping_reply)
    assert errors == []
    assert [b.raw for b in blocks] == [block]
    parser = BlockParser()
    parser.feed(ping_reply + inside)
    assert parser.hex_frames == 2


@pytest.mark.parametrize("checksum_byte", [0x0D, 0x0A, 0x09, 0x3A, 0x00, 0xFF])
def test_the_checksum_byte_may_be_any_value(checksum_byte: int) -> None:
    printable = [chr(c) for c in range(0x20, 0x7F) if c != 0x3A]  # a colon in a value starts a HEX frame
    candidates = (
        encode_block([("V", "12000"), ("BMV", a + b + c)]) for a in printable for b in printable for c in printable
    )
    block = next(c for c in candidates if c[-1] == checksum_byte)
    parsed = parse_block(block + b"\r\nV\t1")  # the next block's first bytes follow at once
    assert parsed.raw == block


def test_unknown_values_are_none_and_bad_values_are_rejected() -> None:
    decoded = decode_block([("V", "---"), ("T", "---"), ("I", "100"), ("Alarm", "ON"), ("AR", "5")])
    assert decoded.voltage_v is None
    assert decoded.temperature_c is None
    assert decoded.current_a == pytest.approx(0.1)
    assert decoded.alarm is True
    assert decoded.alarm_reasons == ("low_voltage", "low_soc")
    for fields in ([("V", "12a")], [("Alarm", "MAYBE")], [("PID", "A389")], [("AR", "-1")], [("SOC", "+5")]):
        with pytest.raises(VEDirectError):
            decode_block(fields)


def test_grammar_errors_reject_blocks_whose_checksum_happens_to_be_right() -> None:
    for fields in ([("V", "12\x01")], [("TOOLONGLABEL", "1")], [("V", "1"), ("V", "2")], [("", "1")]):
        raw = b"".join(b"\r\n" + k.encode() + b"\t" + v.encode() for k, v in fields) + b"\r\nChecksum\t"
        raw += bytes([(-sum(raw)) & 0xFF])
        with pytest.raises(VEDirectError):
            parse_block(raw)


def test_encoded_battery_monitor_blocks_decode_to_the_same_values() -> None:
    main, history = battery_monitor_blocks(
        voltage_v=13.21, current_a=-4.5, soc_pct=87.5, consumed_ah=-12.5, time_to_go_min=600, temperature_c=21
    )
    assembler = ReadingAssembler()
    assert assembler.accept(parse_block(history), 0.0) is None
    reading = assembler.accept(parse_block(main), 5.0)
    assert isinstance(reading, ShuntReading)
    assert (reading.voltage_v, reading.current_a, reading.soc_pct) == pytest.approx((13.21, -4.5, 87.5))
    assert reading.power_w == round(13.21 * -4.5)
    assert reading.consumed_ah == pytest.approx(-12.5)
    assert reading.time_to_go_min == 600
    assert reading.temperature_c == 21
    assert "deepest_discharge_ah" in reading.history


_CAPTURE = BMV700.read_bytes()[:2500]


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600))
def test_fuzz_random_bytes_never_raise_from_the_stream_parser(data: bytes) -> None:
    parser = BlockParser()
    for item in parser.feed(data):
        assert isinstance(item, Block | VEDirectError)
        if isinstance(item, Block):
            with contextlib.suppress(VEDirectError):
                decode_block(item)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(_CAPTURE) - 1), st.integers(0, 255), st.sampled_from(["flip", "insert", "drop"])),
        max_size=8,
    )
)
def test_fuzz_mutated_capture_only_raises_vedirect_errors(mutations: list[tuple[int, int, str]]) -> None:
    data = bytearray(_CAPTURE)
    for position, value, how in mutations:
        position = min(position, len(data) - 1)
        if how == "flip":
            data[position] ^= value or 1
        elif how == "insert":
            data.insert(position, value)
        else:
            del data[position]
    parser = BlockParser()
    good = 0
    for item in parser.feed(bytes(data)):
        if isinstance(item, Block):
            try:
                decode_block(item)
                good += 1
            except VEDirectError:
                pass
    # each mutation can spoil at most the block it lands in (and a neighbour when it merges two)
    assert good >= len(split_blocks(_CAPTURE)) - 2 * len(mutations) - 1


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_parse_block_raises_only_vedirect_errors(data: bytes) -> None:
    try:
        block = parse_block(b"\r\n" + data)
        decode_block(block)
    except VEDirectError:
        pass


_LABELS = st.sampled_from(["V", "VS", "VM", "DM", "I", "P", "CE", "SOC", "TTG", "T", "Alarm", "Relay", "AR", "PID"])
_VALUES = st.one_of(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12),
                    st.integers(-(10**13), 10**13).map(str), st.just("---"))  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_LABELS | st.sampled_from([f"H{i}" for i in range(1, 19)]), _VALUES), max_size=20))
def test_fuzz_any_field_values_decode_or_raise_vedirect_errors(fields: list[tuple[str, str]]) -> None:
    try:
        decoded = decode_block(fields)
    except VEDirectError:
        return
    for value in (decoded.voltage_v, decoded.current_a, decoded.soc_pct, *decoded.history.values()):
        assert value is None or value == value

"""CPU time per parsed VE.Direct block and per Modbus poll (a Pi Zero 2 W reads one shunt block per
second and polls a few registers per second, so both must stay far below a millisecond or two).

VE.Direct baseline: summing the block's bytes (the checksum alone), in the same process. Modbus
baseline: decoding a map from words already in memory. The Modbus polls run the real pymodbus client
against the in-process pymodbus fake, so their CPU time includes the server's share.

Run: .venv/bin/python -m bench.drivers   (or .venv/bin/python bench/drivers.py; --quick for a smoke run)
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from drivers.fakes.modbus import ModbusFake
from drivers.modbus.devices import ModbusShunt
from drivers.modbus.link import ModbusSettings
from drivers.modbus.maps import ReadSpan, plan_reads, shunt_values
from drivers.modbus.presets import SHUNT_PRESETS
from drivers.modbus.registers import encode
from drivers.retry import Backoff
from drivers.vedirect.codec import Block, BlockParser, ReadingAssembler, split_blocks

CAPTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "vedirect" / "vedirect-bmv700.dump"


def cpu_per_item(fn: Callable[[], int], rounds: int) -> float:
    """Best CPU seconds per item over `rounds` runs of fn (which returns how many items it did)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        items = fn()
        best = min(best, (time.process_time() - start) / max(1, items))
    return best


def vedirect_rows(rounds: int) -> list[tuple[str, float]]:
    data = CAPTURE.read_bytes()
    blocks = split_blocks(data)

    def checksum_only() -> int:
        for block in blocks:
            _ = sum(block) & 0xFF
        return len(blocks)

    def parse() -> int:
        return sum(1 for r in BlockParser().feed(data) if isinstance(r, Block))

    def parse_and_decode() -> int:
        assembler = ReadingAssembler()
        count = 0
        for item in BlockParser().feed(data):
            if isinstance(item, Block):
                assembler.accept(item, 0.0)
                count += 1
        return count

    return [
        ("VE.Direct: checksum only (baseline)", cpu_per_item(checksum_only, rounds)),
        ("VE.Direct: frame + checksum + grammar", cpu_per_item(parse, rounds)),
        ("VE.Direct: frame + decode to SI", cpu_per_item(parse_and_decode, rounds)),
    ]


async def modbus_rows(polls: int) -> list[tuple[str, float]]:
    shunt_map, _ = SHUNT_PRESETS["pzem-017"]()
    spans = plan_reads(list(shunt_map.registers.values()))
    words = {span: [0] * span.count for span in spans}
    first: ReadSpan = spans[0]
    for name, reg in shunt_map.registers.items():
        encoded = encode(reg, {"voltage_v": 13.2, "current_a": 4.0, "power_w": 52.8, "energy_wh": 10}[name])
        words[first][reg.address - first.address : reg.address - first.address + reg.count] = encoded

    def decode_only() -> int:
        for _ in range(2000):
            shunt_values(shunt_map, words)
        return 2000

    rows = [("Modbus: map decode only (baseline)", cpu_per_item(decode_only, 3))]
    for transport in ("tcp", "rtu"):
        fake = ModbusFake(transport=transport)
        fake.set_shunt(shunt_map, {"voltage_v": 13.2, "current_a": 4.0, "power_w": 52.8})
        await fake.start()
        if transport == "tcp":
            settings = ModbusSettings(transport="tcp", host=fake.host, tcp_port=fake.tcp_port)
        else:
            settings = ModbusSettings(transport="rtu", port=fake.port, baudrate=115200)
        shunt = ModbusShunt(settings, shunt_map, retries=0, backoff=Backoff(0.01, 0.05))
        await shunt.poll_once()
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            for _ in range(polls):
                await shunt.poll_once()
            best = min(best, (time.process_time() - start) / polls)
        assert shunt.stats.errors == 0, shunt.stats.last_error
        rows.append((f"Modbus {transport.upper()}: one poll, client + fake server", best))
        await shunt.close()
        await fake.close()
    return rows


def main() -> None:
    quick = "--quick" in sys.argv
    rows_v = vedirect_rows(1 if quick else 5)
    rows_m = asyncio.run(modbus_rows(5 if quick else 200))
    for title, rows in (("per parsed block", rows_v), ("per poll", rows_m)):
        baseline = rows[0][1]
        print(f"\n{'case (' + title + ')':48} {'CPU time':>12} {'vs baseline':>12}")
        for name, seconds in rows:
            print(f"{name:48} {seconds * 1e6:9.1f} µs {seconds / baseline:11.1f}x")


if __name__ == "__main__":
    main()

"""History benchmark: disk writes per simulated hour, and insert/query cost for a month of data.

    .venv/bin/python -m bench.history [--hours 2] [--days 30] [--db URL]

1. Bytes written per simulated hour, counted by the kernel (/proc/self/io write_bytes of a child process
   that runs the real recorder over snapshots at 1 s ticks into a fresh SQLite file), for the default
   settings (5 min batches, a full-rate row every 10 s) against a baseline that commits every snapshot.
2. Inserting a month of history (full-rate rows every 5 s plus one-minute aggregates) in 30 s batches,
   against committing each row on its own (measured over a shorter span and compared per row).
3. Querying that month through HistoryReader (raw or aggregates, at most 500 points) against reading
   the full-rate rows of the same range.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from controller.clock import SimulatedClock
from controller.command_bus import CommandBus
from controller.history.config import HistorySection
from controller.history.database import Batch, HistoryStore, create_history_engine
from controller.history.reader import HistoryReader
from controller.history.recorder import build_recorder
from controller.history.rows import MinuteAggregator, metric_values, sample_row
from controller.history.schema import samples
from controller.hub import SnapshotHub
from controller.sim.snapshots import DISCHARGE_START_UTC as START
from controller.sim.snapshots import discharging_snapshot as snapshot

T = TypeVar("T")


def _write_bytes() -> int:
    with open("/proc/self/io") as handle:
        for line in handle:
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    raise RuntimeError("no write_bytes in /proc/self/io")


async def _record(url: str, section: HistorySection, hours: float) -> dict[str, float]:
    clock = SimulatedClock(START)
    recorder = build_recorder(url, "bench", section, clock, "/nonexistent")
    await asyncio.to_thread(recorder.store.prepare)
    before = _write_bytes()
    hub = SnapshotHub()
    task = asyncio.create_task(recorder.run(hub, CommandBus()))
    for second in range(int(hours * 3600)):
        hub.publish(snapshot("bench", float(second)))
        await asyncio.sleep(0)
        await recorder.drained()  # as in real time, each batch is written before the next one is due
    hub.close()
    await task
    return {
        "write_bytes": _write_bytes() - before,
        "batches": recorder.stats.batches_written,
        "samples": recorder.stats.samples_written,
    }


def child(args: argparse.Namespace) -> None:
    """Runs in a separate process so that the kernel's counters see only the recorder."""
    section = replace(HistorySection(), batch_interval_s=args.batch, sample_interval_s=args.sample)
    result = asyncio.run(_record(args.url, section, args.hours))
    print(json.dumps(result))


def disk_per_hour(hours: float) -> None:
    print(f"== bytes written to disk per simulated hour (kernel write_bytes, {hours:g} h at 1 s ticks, SQLite WAL)")
    configs = [
        ("baseline: commit every snapshot, row every 1 s", 0.0, 1.0),
        ("batches of 30 s, row every 1 s", 30.0, 1.0),
        ("batches of 30 s, row every 5 s (the old default)", 30.0, 5.0),
        ("batches of 5 min, row every 5 s", 300.0, 5.0),
        ("default: batches of 5 min, row every 10 s", 300.0, 10.0),
    ]
    baseline = None
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR", "/var/tmp")) as directory:
        for index, (label, batch, sample) in enumerate(configs):
            url = f"sqlite:///{directory}/io-{index}.sqlite3"
            command = [
                sys.executable, "-m", "bench.history", "--child", "--url", url,
                "--batch", str(batch), "--sample", str(sample), "--hours", str(hours),
            ]  # fmt: skip
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            result = json.loads(output.strip().splitlines()[-1])
            per_hour = result["write_bytes"] / hours
            baseline = baseline or per_hour
            print(
                f"  {label:<48} {per_hour / 1024:10.0f} KiB/h  ({result['batches'] / hours:6.0f} commits/h)"
                f"  x{per_hour / baseline:.3f} of baseline"
            )


def month_rows(days: float, sample_s: float = 5.0) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """A month of full-rate rows and one-minute aggregates, as the recorder would produce them."""
    raw: list[dict[str, object]] = []
    minutes: list[dict[str, object]] = []
    aggregator = MinuteAggregator("bench")
    tick = 5.0
    for index in range(int(days * 86400 / tick)):
        mono = index * tick
        snap = snapshot("bench", mono)
        finished = aggregator.add(snap.timestamp_utc, snap.mode.value, metric_values(snap))
        if finished is not None:
            minutes.append(finished)
        if index % int(sample_s / tick) == 0:
            raw.append(sample_row("bench", snap.timestamp_utc, snap))
    last = aggregator.flush()
    if last is not None:
        minutes.append(last)
    return raw, minutes


def batches_of(raw: list[dict[str, object]], minutes: list[dict[str, object]], seconds: float) -> list[Batch]:
    """Rows grouped as the recorder commits them, one batch per `seconds`."""
    out: dict[int, Batch] = {}
    for row in raw:
        stamp = row["timestamp_utc"]
        assert isinstance(stamp, datetime)
        out.setdefault(int((stamp - START).total_seconds() // seconds), Batch()).samples.append(row)
    for row in minutes:
        stamp = row["timestamp_utc"]
        assert isinstance(stamp, datetime)
        out.setdefault(int((stamp - START).total_seconds() // seconds), Batch()).minutes.append(row)
    return [out[key] for key in sorted(out)]


def insert_and_query(url: str | None, days: float, baseline_rows: int = 2000) -> None:
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR", "/var/tmp")) as directory:
        target = url or f"sqlite:///{directory}/month.sqlite3"
        section = replace(HistorySection(), raw_retention_s=max(days, 7) * 86400)
        store = HistoryStore(create_history_engine(target), "bench", section)
        store.prepare()
        with store.engine.begin() as connection:
            connection.execute(samples.delete().where(samples.c.controller_id == "bench"))
        _insert(store, days, baseline_rows)
        _query(store, days)
        if url:
            with store.engine.begin() as connection:
                for table in ("samples", "samples_1m"):
                    connection.exec_driver_sql(f"DELETE FROM {table} WHERE controller_id = 'bench'")
        store.close()


def _write_all(store: HistoryStore, batches: list[Batch]) -> float:
    """Seconds to write the batches, one commit each."""
    started = time.perf_counter()
    for batch in batches:
        store.write(batch)
    return time.perf_counter() - started


def _insert(store: HistoryStore, days: float, baseline_rows: int) -> None:
    """A day in 30 s batches, the rest in hourly batches, and a baseline of one commit per row."""
    raw, minutes = month_rows(days)
    engine = store.engine.dialect.name
    print(f"== insert: {days:g} days = {len(raw)} full-rate rows + {len(minutes)} one-minute rows ({engine})")
    batches = batches_of(raw, minutes, 30.0)
    day_batches = batches[: min(len(batches), int(86400 / 30))]
    day_rows = sum(len(b) for b in day_batches)
    batched_s = _write_all(store, day_batches)
    per_row_batched = batched_s / day_rows
    month_s = batched_s / (len(day_batches) * 30.0) * 30 * 86400
    print(
        f"  {len(day_batches) * 30 / 3600:g} h in 30 s batches ({len(day_batches)} commits, {day_rows} rows):"
        f" {batched_s:7.2f} s, {per_row_batched * 1e6:7.1f} µs/row; a month: {month_s:.0f} s of database time"
    )
    rest = batches_of(
        [r for b in batches[len(day_batches) :] for r in b.samples],
        [r for b in batches[len(day_batches) :] for r in b.minutes],
        3600.0,
    )
    rest_s = _write_all(store, rest)
    print(f"  the rest of the month in hourly batches ({len(rest)} commits): {rest_s:7.2f} s")

    single = [Batch(samples=[replace_time(row, days)]) for row in raw[:baseline_rows]]
    single_s = _write_all(store, single)
    per_row_single = single_s / len(single)
    print(
        f"  baseline, one commit per row ({len(single)} rows): {single_s:7.2f} s,"
        f" {per_row_single * 1e6:7.1f} µs/row"
        f" -> 30 s batches are x{per_row_single / per_row_batched:.1f} cheaper per row"
    )


def _query(store: HistoryStore, days: float) -> None:
    """Reader queries over growing ranges against reading the full-rate rows of the same range."""
    reader = HistoryReader(store.engine)
    end = START + timedelta(days=days)
    print("== query through HistoryReader (max 500 points) against reading the full-rate rows of the range")
    for label, span in (("1 h", timedelta(hours=1)), ("24 h", timedelta(days=1)), ("7 days", timedelta(days=7)),
                        (f"{days:g} days", timedelta(days=days))):  # fmt: skip
        start = end - span
        reader_s, points = _best(partial(reader.samples, "bench", start, end))
        raw_s, rows = _best(partial(_raw_rows, store, start, end))
        print(
            f"  {label:>8}: reader {reader_s * 1e3:8.1f} ms ({len(points):4d} points)"
            f"   full-rate {raw_s * 1e3:8.1f} ms ({rows:6d} rows)   x{raw_s / reader_s:.1f}"
        )


def replace_time(row: dict[str, object], days: float) -> dict[str, object]:
    """A copy of a row moved after the month (so the baseline rows do not touch the queried range)."""
    stamp = row["timestamp_utc"]
    assert isinstance(stamp, datetime)
    return {**row, "timestamp_utc": stamp + timedelta(days=days + 1)}


def _raw_rows(store: HistoryStore, start: datetime, end: datetime) -> int:
    with store.engine.connect() as connection:
        rows = connection.execute(
            samples.select().where(
                samples.c.controller_id == "bench", samples.c.timestamp_utc >= start, samples.c.timestamp_utc <= end
            )
        ).all()
    return len(rows)


def _best(work: Callable[[], T], repeat: int = 3) -> tuple[float, T]:
    """The fastest of `repeat` runs, and the last run's result."""
    timings: list[float] = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        timings.append(time.perf_counter() - started)
    return min(timings), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=2.0, help="simulated hours per disk-write run")
    parser.add_argument("--days", type=float, default=30.0, help="days of history for insert and query")
    parser.add_argument("--baseline-rows", type=int, default=2000, help="rows committed one by one for the baseline")
    parser.add_argument("--db", default=None, help="database URL for insert/query (default: a temporary SQLite)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=float, default=30.0, help=argparse.SUPPRESS)
    parser.add_argument("--sample", type=float, default=5.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    disk_per_hour(args.hours)
    insert_and_query(args.db, args.days, args.baseline_rows)


if __name__ == "__main__":
    main()

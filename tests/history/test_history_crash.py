"""kill -9 mid-run: the SQLite file passes its integrity check and lost at most the unflushed batch."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.history.crash_feeder import SECTION

ROOT = Path(__file__).resolve().parents[2]


def test_sigkill_loses_at_most_the_unflushed_batch(tmp_path: Path) -> None:
    database = tmp_path / "history.sqlite3"
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tests/history/crash_feeder.py"), f"sqlite:///{database}", "crashed-room"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None
    last = {"published": 0, "written": 0}
    deadline = time.monotonic() + 120
    try:
        for line in process.stdout:
            last = {k: int(v) for k, v in (part.split("=") for part in line.split())}
            if last["written"] >= 300 or time.monotonic() > deadline:
                break
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert last["written"] >= 300, f"the feeder did not get far enough: {last}"

    connection = sqlite3.connect(database)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        (count,) = connection.execute("SELECT count(*) FROM samples WHERE controller_id = 'crashed-room'").fetchone()
        times = [row[0] for row in connection.execute("SELECT timestamp_utc FROM samples ORDER BY id")]
    finally:
        connection.close()
    batch = int(SECTION.batch_interval_s / SECTION.sample_interval_s) + 1
    assert count >= last["written"], "a committed batch was lost"
    # lost: at most the batch that was being gathered (or committed) when the process died
    assert last["published"] - count <= batch
    assert times == sorted(times)


BATCH_LINE = re.compile(r"history batch written: (\d+) rows, (\d+) samples, newest (\S+)")


def test_sigkill_of_cleanroom_sim_keeps_a_sound_database(tmp_path: Path) -> None:
    """The real daemon (`cleanroom sim --speed`), killed right after a batch was committed."""
    database = tmp_path / "sim.sqlite3"
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("cleanroom")),
            "--log-level",
            "DEBUG",
            "sim",
            "--speed",
            "300",
            "--duration",
            "2 days",
            "--id",
            "sim-room",
            "--db",
            f"sqlite:///{database}",
            "--mqtt",
            "none",
            "--http",
            "none",
            "--state-dir",
            str(tmp_path),
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
    )
    assert process.stderr is not None
    committed: list[tuple[int, str]] = []
    deadline = time.monotonic() + 120
    try:
        for line in process.stderr:
            match = BATCH_LINE.search(line)
            if match:
                committed.append((int(match.group(2)), match.group(3)))
            if len(committed) >= 8 or time.monotonic() > deadline:
                break
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert len(committed) >= 8, "the simulator did not commit eight batches"

    connection = sqlite3.connect(database)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        count, newest = connection.execute(
            "SELECT count(*), max(timestamp_utc) FROM samples WHERE controller_id = 'sim-room'"
        ).fetchone()
        (events,) = connection.execute("SELECT count(*) FROM events WHERE kind = 'started'").fetchone()
    finally:
        connection.close()
    assert count >= sum(samples for samples, _ in committed), "a committed batch was lost"
    last_committed = datetime.fromisoformat(committed[-1][1])
    assert datetime.fromisoformat(newest).replace(tzinfo=UTC) >= last_committed
    assert events == 1

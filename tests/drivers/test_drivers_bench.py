"""bench/drivers.py runs (quick mode) and prints its figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "drivers.py"


def test_driver_bench_runs_quickly_and_reports_every_case() -> None:
    result = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, check=True)
    for case in ("VE.Direct: frame + decode to SI", "Modbus TCP: one poll", "Modbus RTU: one poll"):
        line = next(line for line in result.stdout.splitlines() if line.startswith(case))
        assert "µs" in line
        assert line.rstrip().endswith("x")

"""The history benchmark runs end to end on a tiny workload (figures are not asserted, only produced)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_history_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.history", "--hours", "0.01", "--days", "0.1", "--baseline-rows", "100"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={**os.environ, "BENCH_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)},
        timeout=240,
    )
    out = result.stdout
    assert re.search(r"baseline: commit every snapshot.*KiB/h", out)
    assert re.search(r"default: batches of 5 min.*x\d+\.\d+ of baseline", out)
    assert "cheaper per row" in out
    assert re.search(r"24 h: reader .* points\)", out)

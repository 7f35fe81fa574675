"""A quick run of bench/sim_plant.py, so the benchmark keeps working."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "sim_plant.py"


def test_bench_runs_and_prints_every_case(capsys: pytest.CaptureFixture[str]) -> None:
    namespace = runpy.run_path(str(BENCH), run_name="bench_sim_plant")
    namespace["main"](0.002, 50)
    out = capsys.readouterr().out
    for case in ("baseline: replace(state)", "step dt=60 s", "tick 1 s, plant + 3 device reads", "tick 10 s"):
        assert case in out
    assert out.count(" us ") == 8

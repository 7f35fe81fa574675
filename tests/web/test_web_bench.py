"""bench/web.py runs end to end (briefly) against `cleanroom sim` and reports every figure."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "web.py"


@pytest.mark.slow
def test_bench_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_web", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    figures = module.main(["--duration", "0.3", "--clients", "2", "--speed", "60"])
    assert figures["state"]["requests"] > 0
    assert figures["state"]["errors"] == 0
    assert figures["healthz"]["requests"] > 0
    assert 0 < figures["dashboard_bytes"] < 50_000
    assert "dashboard total" in capsys.readouterr().out

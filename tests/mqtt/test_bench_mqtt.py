"""bench/mqtt.py runs (tiny sizes) and reports sane figures."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "mqtt.py"


async def test_bench_mqtt_smoke(capsys: object) -> None:
    spec = importlib.util.spec_from_file_location("bench_mqtt", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    figures = await module.main(ticks=5, alerts=3)
    assert figures["tick"]["messages_per_tick"] >= 2
    assert 0 < figures["latency"]["median_s"] < 10
    assert "End-to-end alert latency" in capsys.readouterr().out  # type: ignore[attr-defined]

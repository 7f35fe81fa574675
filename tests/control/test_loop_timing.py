"""The loop's punctuality record: percentiles from the sparse histogram match the periods fed to it."""

from __future__ import annotations

from controller.loop_timing import LoopTiming


def test_percentiles_and_summary() -> None:
    timing = LoopTiming(0.2)
    assert timing.percentile_s(0.5) is None
    assert "fewer than two ticks" in timing.summary()
    t = 0.0
    periods = [0.2] * 98 + [0.25, 0.9]
    timing.started(t)
    for period in periods:
        t += period
        timing.started(t)
    assert timing.periods == 100
    assert timing.percentile_s(0.5) == 0.2
    assert timing.percentile_s(0.99) == 0.25
    assert timing.percentile_s(1.0) == 0.9
    assert abs(timing.longest_s - 0.9) < 1e-9
    assert timing.summary() == "loop timing: 100 periods, p50 200 ms, p99 250 ms, longest 900 ms (tick 200 ms)"

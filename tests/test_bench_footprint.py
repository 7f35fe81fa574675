"""bench.footprint's arithmetic and its /proc reading (the bench itself runs the daemon for minutes)."""

from __future__ import annotations

import os

import pytest

from bench.footprint import Sample, Window, sample


def test_a_window_is_the_rates_between_two_samples_and_the_memory_at_the_end() -> None:
    start = Sample(at_s=100.0, cpu_s=2.0, switches=1000, write_bytes=5_000_000, rss_kb=60_000, pss_kb=50_000)
    end = Sample(at_s=400.0, cpu_s=2.6, switches=1900, write_bytes=5_250_000, rss_kb=61_440, pss_kb=51_200)
    window = Window.between(start, end)
    assert window.rss_mb == 60.0
    assert window.pss_mb == 50.0
    assert window.cpu_pct == pytest.approx(0.2)
    assert window.wakeups_per_min == pytest.approx(180.0)
    assert window.write_mb_per_h == pytest.approx(3.0)


def test_this_process_can_be_sampled() -> None:
    now = sample(os.getpid())
    assert now.rss_kb > 1000
    assert 0 < now.pss_kb <= now.rss_kb
    assert now.switches > 0
    assert now.cpu_s > 0.0

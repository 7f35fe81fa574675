"""bench/room.py on short runs: the figures come out, and they say what the issue asks of them."""

from __future__ import annotations

import asyncio

from bench.room import CASES, render, run_case

HOURS_S = 3 * 3600.0


def figures(label: str) -> dict[str, object]:
    case = next(c for c in CASES if c.label == label)
    return asyncio.run(run_case(case, HOURS_S))


def test_a_fan_stall_is_reported_within_the_alarm_delays() -> None:
    row = figures("fan-stall")
    latencies = row["latency_s"]
    assert isinstance(latencies, dict)
    (stalled,) = latencies["stall -> fan_stalled"]
    (low,) = latencies["stall -> pressure_low"]
    assert stalled is not None
    assert stalled <= 60.0
    assert low is not None
    assert low <= 150.0
    assert "latency stall -> fan_stalled" in render(row)


def test_short_door_openings_raise_no_pressure_alarm_and_are_counted_below_the_floor() -> None:
    row = figures("door")
    latencies = row["latency_s"]
    assert isinstance(latencies, dict)
    assert all(t is not None and t <= 20.0 for t in latencies["door -> door_open"])
    assert row["pressure_low_raised"] == 0
    assert isinstance(row["below_floor_reported_pct"], float)
    assert isinstance(row["below_floor_true_filtered_pct"], float)
    assert row["below_floor_reported_pct"] >= 0.5 * row["below_floor_true_filtered_pct"]


def test_every_case_stays_within_the_bound_and_reports_below_floor_time_honestly() -> None:
    for case in CASES:
        row = figures(case.label)
        ratio, reported, true = (
            row["ratio_to_bound"],
            row["below_floor_reported_pct"],
            row["below_floor_true_filtered_pct"],
        )
        assert isinstance(ratio, float)
        assert 0.5 < ratio <= 1.0, case.label
        assert isinstance(reported, float)
        assert isinstance(true, float)
        assert abs(reported - true) <= max(0.5, 0.25 * true), case.label
    assert figures("fan-stall")["stall_evidence"] == ["tachometer"]


def test_a_door_left_open_raises_pressure_low_when_the_door_hold_ends() -> None:
    row = figures("door left open")
    latencies = row["latency_s"]
    assert isinstance(latencies, dict)
    (low,) = latencies["door -> pressure_low"]
    assert low is not None
    assert 120.0 <= low <= 120.0 + 3 * 10.0

"""The battery belief: shunt SoC, own coulomb counter with sync at full, manual set, persistence."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from controller.battery import BatteryState, FullDetection, SocSource, from_record, set_soc, to_record, update_battery
from controller.state_store import load_battery, save_battery

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
FULL = FullDetection(capacity_ah=100.0, charged_v=14.0, tail_current_a=4.0, charged_time_s=180.0)


def step(state: BatteryState, second: float, **reading: float | None) -> BatteryState:
    values: dict[str, float | None] = {
        "shunt_soc_pct": None,
        "shunt_synced_age_s": None,
        "voltage_v": 13.1,
        "current_a": -1.0,
    }
    values.update(reading)
    return update_battery(
        state,
        now_s=second,
        now_utc=T0 + timedelta(seconds=second),
        dt_s=1.0,
        fresh=True,
        full=FULL,
        **values,
    )


def test_shunt_soc_is_trusted_and_synced_with_its_age() -> None:
    state = step(BatteryState(), 0.0, shunt_soc_pct=83.9, shunt_synced_age_s=3600.0)
    assert state.source is SocSource.SHUNT
    assert state.synced
    assert state.sync_age_s(T0) == pytest.approx(3600.0)


def test_counter_integrates_current_from_a_manual_soc() -> None:
    state = set_soc(BatteryState(), 80.0, T0)
    for second in range(1, 3601):
        state = step(state, float(second), current_a=-10.0)
    assert state.soc_pct == pytest.approx(70.0)
    assert state.source is SocSource.MANUAL


def test_counter_synchronises_at_full_after_the_detection_time() -> None:
    state = BatteryState(50.0, SocSource.RESTORED, False)
    for second in range(0, 179):
        state = step(state, float(second), voltage_v=14.1, current_a=2.0)
    assert not state.synced
    state = step(state, 180.0, voltage_v=14.1, current_a=2.0)
    assert state.synced
    assert state.soc_pct == 100.0
    assert state.source is SocSource.COUNTER


def test_full_detection_restarts_when_the_tail_current_is_exceeded() -> None:
    state = BatteryState(90.0, SocSource.COUNTER, False)
    for second in range(0, 100):
        state = step(state, float(second), voltage_v=14.1, current_a=2.0)
    state = step(state, 100.0, voltage_v=14.1, current_a=10.0)
    for second in range(101, 200):
        state = step(state, float(second), voltage_v=14.1, current_a=2.0)
    assert not state.synced


def test_unknown_stays_unknown_until_synced_or_set() -> None:
    state = step(BatteryState(), 0.0)
    assert state.soc_pct is None
    assert state.source is SocSource.UNKNOWN


def test_stale_readings_change_nothing() -> None:
    state = set_soc(BatteryState(), 55.0, T0)
    stale = update_battery(
        state,
        now_s=10.0,
        now_utc=T0,
        dt_s=10.0,
        fresh=False,
        shunt_soc_pct=None,
        shunt_synced_age_s=None,
        voltage_v=None,
        current_a=None,
        full=FULL,
    )
    assert stale == state


def test_restored_state_is_unsynchronised_with_its_age(tmp_path: Path) -> None:
    path = tmp_path / "battery.json"
    state = step(BatteryState(), 0.0, shunt_soc_pct=64.0)
    assert save_battery(path, state, T0)
    restored = load_battery(path)
    assert restored is not None
    assert restored.soc_pct == 64.0
    assert not restored.synced
    assert restored.source is SocSource.RESTORED
    assert restored.sync_age_s(T0 + timedelta(hours=2)) == pytest.approx(7200.0)
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_refusing_disk_is_reported_and_the_old_file_kept(tmp_path: Path) -> None:
    path = tmp_path / "battery.json"
    assert save_battery(path, set_soc(BatteryState(), 50.0, T0), T0)
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where a directory should be")
    assert not save_battery(blocked / "battery.json", set_soc(BatteryState(), 40.0, T0), T0)
    assert json.loads(path.read_text())["soc_pct"] == 50.0


def test_corrupt_or_foreign_state_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "battery.json"
    path.write_text("{not json")
    assert load_battery(path) is None
    path.write_text(json.dumps({"version": 9}))
    assert load_battery(path) is None
    path.write_text(json.dumps({"version": 1, "soc_pct": 250}))
    assert load_battery(path) is None
    assert load_battery(tmp_path / "missing.json") is None


def test_record_round_trip() -> None:
    state = set_soc(BatteryState(), 42.0, T0)
    assert from_record(to_record(state, T0)).soc_pct == 42.0

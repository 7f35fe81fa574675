"""The backlog file: rows round-trip with their times, an unreadable file is set aside (never deleted)."""

from __future__ import annotations

from pathlib import Path

from controller.history.backlog import load_backlog, save_backlog
from controller.history.database import Batch
from tests.history.history_helpers import START


def test_rows_round_trip_with_their_times(tmp_path: Path) -> None:
    path = tmp_path / "backlog.json"
    batch = Batch(
        samples=[{"controller_id": "a", "timestamp_utc": START, "soc_pct": 55.5, "mode": "auto"}],
        events=[{"controller_id": "a", "timestamp_utc": START, "values": {"delta_s": 3.0, "note": "x"}}],
    )
    assert save_backlog(path, [batch, Batch(changes=[{"timestamp_utc": START, "value": None}])]) == 3
    loaded = load_backlog(path)
    assert loaded is not None
    assert loaded.samples == batch.samples
    assert loaded.events == batch.events
    assert loaded.changes == [{"timestamp_utc": START, "value": None}]
    assert save_backlog(path, [Batch()]) == 0
    assert not path.exists()


def test_an_unreadable_file_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "backlog.json"
    path.write_bytes(b"\xff\x00 not json")
    assert load_backlog(path) is None
    assert not path.exists()
    assert (tmp_path / "backlog.json.unreadable").read_bytes() == b"\xff\x00 not json"

"""End to end: `cleanroom sim --accelerated --db URL` records into SQLite and into the real PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select

from controller.history.reader import HistoryReader
from controller.history.schema import config_changes, events, samples, samples_1m


def test_sim_records_history(db_url: str, controller_id: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("cleanroom")),
            "sim",
            "--accelerated",
            "--duration",
            "2 h",
            "--tick",
            "10 s",
            "--id",
            controller_id,
            "--db",
            db_url,
            "--json",
            "--quiet",
            "--state-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["hours"] == 2.0

    engine = create_engine(db_url)
    with engine.connect() as connection:
        count, oldest, newest = connection.execute(
            select(func.count(), func.min(samples.c.timestamp_utc), func.max(samples.c.timestamp_utc)).where(
                samples.c.controller_id == controller_id
            )
        ).one()
        minutes = connection.execute(
            select(func.count()).select_from(samples_1m).where(samples_1m.c.controller_id == controller_id)
        ).scalar()
        kinds = set(connection.execute(select(events.c.kind).where(events.c.controller_id == controller_id)).scalars())
        settings = connection.execute(
            select(func.count()).select_from(config_changes).where(config_changes.c.controller_id == controller_id)
        ).scalar()
    assert count == 2 * 360 + 1
    assert newest - oldest == timedelta(hours=2)
    assert minutes == 121
    assert {"started", "stopping"} <= kinds
    assert settings is not None
    assert settings >= 1

    day = HistoryReader(engine).samples(controller_id, newest - timedelta(hours=24), newest)
    # the 24 h chart: one-minute aggregates merged into 3-minute points; two hours of them
    assert {p["resolution_s"] for p in day} == {180}
    assert 40 <= len(day) <= 42
    assert all(isinstance(datetime.fromisoformat(str(p["timestamp_utc"])), datetime) for p in day)
    assert all(p["soc_pct"] is not None for p in day)
    engine.dispose()

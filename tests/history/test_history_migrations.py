"""Migrations: from empty to head, from an older revision with data in it, and in step with the models."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from controller.history.database import alembic_config, create_history_engine, migrate
from controller.history.schema import RECORDED_KEYS, metadata, samples
from controller.metrics import METRICS


def test_sample_columns_are_the_recorded_metrics() -> None:
    assert tuple(m.key for m in METRICS if m.recorded) == RECORDED_KEYS
    assert [c.name for c in samples.columns][4:] == list(RECORDED_KEYS)


def test_upgrade_from_empty_matches_the_models(fresh_db_url: str) -> None:
    engine = create_history_engine(fresh_db_url)
    migrate(engine)
    with engine.connect() as connection:
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert MigrationContext.configure(connection).get_current_revision() == head
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    assert diff == [], f"the models changed without a migration: {diff}"
    assert set(inspect(engine).get_table_names()) >= {"samples", "samples_1m", "events", "config_changes"}
    migrate(engine)  # a second start is a no-op
    engine.dispose()


def test_upgrade_from_first_revision_keeps_history(fresh_db_url: str) -> None:
    engine = create_history_engine(fresh_db_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "r0001")
    assert "samples_1m" not in inspect(engine).get_table_names()
    stamp = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO samples (controller_id, timestamp_utc, mode, soc_pct, power_w) "
                "VALUES ('old-room', :ts, 'auto', 77.5, 12.0)"
            ),
            {"ts": stamp.replace(tzinfo=None) if engine.dialect.name == "sqlite" else stamp},
        )
        connection.execute(
            text(
                'INSERT INTO events (controller_id, timestamp_utc, kind, severity, message, "values") '
                "VALUES ('old-room', :ts, 'started', 'info', 'started', '{}')"
            ),
            {"ts": stamp.replace(tzinfo=None) if engine.dialect.name == "sqlite" else stamp},
        )
    migrate(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
        assert diff == []
        row = connection.execute(samples.select().where(samples.c.controller_id == "old-room")).mappings().one()
        assert row["soc_pct"] == 77.5
        assert row["timestamp_utc"] == stamp
        assert connection.execute(text("SELECT count(*) FROM events")).scalar() == 1
    engine.dispose()


def test_alembic_cli_config_points_at_the_shipped_migrations(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/cli.sqlite3"
    config = alembic_config()
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "head")
    engine = create_engine(url)
    assert "config_changes" in inspect(engine).get_table_names()
    engine.dispose()

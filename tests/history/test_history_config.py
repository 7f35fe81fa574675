"""The [history] section."""

from __future__ import annotations

import pytest

from controller.config.reader import Table
from controller.errors import ConfigError
from controller.history.config import HistorySection, parse_history


def test_defaults() -> None:
    section = parse_history(Table({}, "config.toml", "history."))
    assert section == HistorySection()
    assert section.batch_interval_s == 300.0
    assert section.sample_interval_s == 10.0
    assert section.raw_retention_s == 7 * 86400
    assert section.aggregate_retention_s == 365 * 86400
    assert section.url is None


def test_values_with_units() -> None:
    section = parse_history(
        Table(
            {
                "url": "postgresql+psycopg://cleanroom@db.lan/cleanroom",
                "batch_interval": "2 min",
                "sample_interval": "10 s",
                "retention_full_rate": "14 days",
                "retention_aggregates": "2 years",
                "buffer_rows": 5000,
                "retry_interval": "30 s",
                "clock_jump_threshold": "10 s",
                "clock_repair_window": "12 h",
            },
            "config.toml",
            "history.",
        )
    )
    assert section.url == "postgresql+psycopg://cleanroom@db.lan/cleanroom"
    assert section.batch_interval_s == 120.0
    assert section.raw_retention_s == 14 * 86400
    assert section.aggregate_retention_s == pytest.approx(2 * 365.25 * 86400, rel=0.01)
    assert (section.buffer_rows, section.clock_repair_window_s) == (5000, 12 * 3600)


@pytest.mark.parametrize(
    ("data", "key", "expected"),
    [
        ({"batch_interval": "5 V"}, "history.batch_interval", "duration"),
        ({"batch_interval": "2 h"}, "history.batch_interval", "between 0 s and 1 h"),
        ({"retention_full_rate": "30 min"}, "history.retention_full_rate", "between 1 h and 3,650 days"),
        (
            {"retention_full_rate": "30 days", "retention_aggregates": "7 days"},
            "history.retention_aggregates",
            "between 30 days and 36,500 days",
        ),
        ({"buffer_rows": 10}, "history.buffer_rows", "between 100"),
        ({"url": "not a url"}, "history.url", "SQLAlchemy database URL"),
        ({"batch_intervall": "30 s"}, "history.batch_intervall", "a known key"),
    ],
)
def test_bad_values_name_key_value_and_expectation(data: dict[str, object], key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_history(Table(data, "config.toml", "history."))
    assert caught.value.key == key
    assert expected in str(caught.value)
    assert "config.toml" in str(caught.value)

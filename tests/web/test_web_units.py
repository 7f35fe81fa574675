"""The [http] section, the token file and `cleanroom token`, the in-memory history, Prometheus names."""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from controller.cli import main
from controller.config.reader import Table
from controller.errors import ConfigError
from controller.metrics import METRICS
from controller.snapshot import Event, EventKind
from tests.web.web_rig import START_UTC, make_snapshot
from web.config import HttpSection, ReadAccess, parse_http, parse_listen
from web.memory_history import MemoryHistory
from web.prometheus import prometheus_name
from web.tokens import TokenStore, load_or_create_token, token_path


def test_http_defaults() -> None:
    section = parse_http(Table({}, "cleanroom.toml", "http."))
    assert section == HttpSection()
    assert (section.host, section.port, section.read_access, section.max_clients) == (
        "0.0.0.0",
        8080,
        ReadAccess.OPEN,
        8,
    )


def test_http_every_key() -> None:
    table = Table(
        {
            "listen": "[::1]:9000",
            "enabled": False,
            "read_access": "token",
            "max_clients": 3,
            "cors_origins": ["http://ha.local:8123/", "*"],
            "push_interval": "2 s",
            "memory_history": "12 h",
            "memory_resolution": "30 s",
            "command_timeout": "5 s",
        },
        "cleanroom.toml",
        "http.",
    )
    assert parse_http(table) == HttpSection(
        host="::1",
        port=9000,
        enabled=False,
        read_access=ReadAccess.TOKEN,
        max_clients=3,
        cors_origins=("http://ha.local:8123", "*"),
        push_interval_s=2.0,
        memory_history_s=43200.0,
        memory_resolution_s=30.0,
        command_timeout_s=5.0,
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"listen": "8080"}, "http.listen = '8080': expected HOST:PORT"),
        ({"listen": "host:99999"}, "http.listen = 'host:99999': expected HOST:PORT"),
        ({"read_access": "public"}, "http.read_access = 'public': expected one of open, token"),
        ({"max_clients": 0}, "http.max_clients = 0: expected a whole number between 1 and 1000"),
        ({"cors_origins": ["ha.local"]}, "http.cors_origins = 'ha.local': expected an origin such as"),
        ({"push_interval": "1 Pa"}, "http.push_interval = '1 Pa'"),
        ({"listn": "0.0.0.0:80"}, "http.listn = '0.0.0.0:80': expected a known key"),
    ],
)
def test_http_errors_name_key_value_and_expectation(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_http(Table(data, "cleanroom.toml", "http."))
    assert str(caught.value).startswith("cleanroom.toml: ")
    assert message in str(caught.value)


def test_parse_listen_forms() -> None:
    assert parse_listen("127.0.0.1:0", "--http", "--http") == ("127.0.0.1", 0)
    assert parse_listen("[::]:8080", "--http", "--http") == ("::", 8080)
    with pytest.raises(ConfigError, match="--http = '::1:80'"):
        parse_listen("::1:80", "--http", "--http")


def test_token_is_created_once_owner_only_and_stable(tmp_path: Path) -> None:
    token = load_or_create_token(tmp_path / "state")
    path = token_path(tmp_path / "state")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(token) >= 40
    assert load_or_create_token(tmp_path / "state") == token
    assert [p.name for p in path.parent.iterdir()] == ["api-token"]


def test_rotation_is_seen_by_the_running_store(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    old = load_or_create_token(tmp_path)
    assert store.check(old)
    assert not store.check(None)
    assert not store.check("")
    assert not store.check(old + "x")
    new = load_or_create_token(tmp_path, rotate=True)
    assert new != old
    assert store.check(new)
    assert not store.check(old)


def test_a_token_file_readable_by_others_is_restricted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    token = load_or_create_token(tmp_path)
    token_path(tmp_path).chmod(0o644)
    with caplog.at_level(logging.WARNING):
        assert load_or_create_token(tmp_path) == token
    assert stat.S_IMODE(token_path(tmp_path).stat().st_mode) == 0o600
    assert "readable by others" in caplog.text
    assert token not in caplog.text


def test_an_unwritable_state_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match="expected a writable state directory"):
        load_or_create_token(blocker / "state")


def test_cleanroom_token_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--state-dir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == load_or_create_token(tmp_path)
    assert str(token_path(tmp_path)) in printed[1]
    assert main(["token", "--state-dir", str(tmp_path), "--quiet"]) == 0
    assert capsys.readouterr().out == printed[0] + "\n"
    assert main(["token", "--state-dir", str(tmp_path), "--rotate", "--quiet"]) == 0
    rotated = capsys.readouterr().out.strip()
    assert rotated != printed[0]
    assert rotated == load_or_create_token(tmp_path)


def test_cleanroom_token_reads_state_dir_from_the_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "cleanroom.toml"
    config.write_text(f'[controller]\nstate_dir = "{tmp_path / "from-config"}"\n')
    assert main(["token", "--config", str(config), "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == load_or_create_token(tmp_path / "from-config")
    assert os.path.exists(token_path(tmp_path / "from-config"))


def test_memory_history_averages_per_bucket_and_stays_bounded() -> None:
    memory = MemoryHistory(window_s=3600.0, resolution_s=60.0)
    for tick in range(3 * 3600):  # three hours at one snapshot a second
        memory.add(make_snapshot(tick, step_s=1.0))
    rows = memory.samples(START_UTC, START_UTC + timedelta(hours=3), max_points=1000)
    assert 60 <= len(rows) <= 61  # only the last hour is kept
    assert str(rows[0]["timestamp_utc"]) >= (START_UTC + timedelta(hours=2, minutes=-1)).isoformat()
    assert set(rows[0]) == {"timestamp_utc"} | {m.key for m in METRICS if m.recorded}
    # Each point is the mean of its minute (fan power cycles over 7 ticks, so minutes differ).
    minute_start = START_UTC + timedelta(hours=2, minutes=30)
    row = next(r for r in rows if r["timestamp_utc"] == minute_start.isoformat())
    powers = [make_snapshot(t, step_s=1.0).fan_power_w for t in range(9000, 9060)]
    assert row["fan_power_w"] == pytest.approx(sum(p for p in powers if p is not None) / 60)


def test_memory_history_downsamples_to_max_points_and_keeps_none() -> None:
    memory = MemoryHistory(window_s=86400.0, resolution_s=60.0)
    for tick in range(1440):
        snapshot = make_snapshot(tick)
        memory.add(replace(snapshot, fan_rpm=None) if tick % 2 else snapshot)
    rows = memory.samples(START_UTC, START_UTC + timedelta(days=1), max_points=100)
    assert len(rows) == 100
    assert all(r["fan_rpm"] is not None for r in rows)
    only_unknown = MemoryHistory()
    only_unknown.add(replace(make_snapshot(0), fan_rpm=None))
    assert only_unknown.samples(START_UTC, START_UTC + timedelta(hours=1))[0]["fan_rpm"] is None


def test_memory_history_events_window_and_limit() -> None:
    memory = MemoryHistory(window_s=3600.0, resolution_s=60.0)
    for tick in range(180):
        event = Event(EventKind.DOOR_OPEN, f"door {tick}", START_UTC + timedelta(minutes=tick))
        memory.add(make_snapshot(tick), (event,))
    rows = memory.events(START_UTC, START_UTC + timedelta(hours=4), limit=5)
    assert [r["message"] for r in rows] == [f"door {t}" for t in range(175, 180)]
    everything = memory.events(START_UTC, START_UTC + timedelta(hours=4), limit=1000)
    assert len(everything) == 61  # the last hour only


def test_memory_history_restarts_when_time_goes_back() -> None:
    memory = MemoryHistory()
    memory.add(make_snapshot(100))
    memory.add(make_snapshot(5))
    rows = memory.samples(START_UTC, START_UTC + timedelta(days=1))
    assert len(rows) == 1
    assert rows[0]["timestamp_utc"] == (START_UTC + timedelta(minutes=5)).isoformat()


@pytest.mark.parametrize(
    ("key", "unit", "name"),
    [
        ("voltage_v", "V", "cleanroom_voltage_volts"),
        ("soc_pct", "%", "cleanroom_soc_ratio"),
        ("flow_cfm", "ft³/min", "cleanroom_flow_cubic_meters_per_second"),
        ("clean_air_ft3", "ft³", "cleanroom_clean_air_cubic_meters"),
        ("runtime_plan_s", "s", "cleanroom_runtime_plan_seconds"),
        ("fan_rpm", "rpm", "cleanroom_fan_rpm"),
    ],
)
def test_prometheus_names(key: str, unit: str, name: str) -> None:
    assert prometheus_name(key, unit) == name

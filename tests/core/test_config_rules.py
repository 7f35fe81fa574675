"""Values that contradict each other are refused by `check-config` (and by the loader `run` uses), one rule
per row of controller.config.rules; passwords in URLs are masked in what `check-config` prints, as in the
daemon's logs; an absolute deadline further ahead than the longest duration is refused in human units."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from controller.cli import main
from controller.config.rules import RULES
from controller.history.database import redacted
from controller.mqtt.config import parse_broker_url
from controller.redact import masked_url

BREAKING: dict[str, tuple[str, str]] = {
    "fan.min_duty": ('[fan]\nmin_duty = "60 %"\nsafe_speed = "40 %"\n', "at most safe_speed (40 %)"),
    "fan.kick_start": ('[fan]\nmin_duty = "30 %"\nkick_start = "20 %"\n', "0 % (no kick) or at least min_duty (30 %)"),
    "control.pressure_floor": ('[control]\npressure_floor = "30 Pa"\n', "below pressure_cap (25 Pa)"),
    "control.pressure_setpoint": (
        '[control]\npressure_floor = "10 Pa"\npressure_setpoint = "5 Pa"\n',
        "between pressure_floor (10 Pa) and pressure_cap (25 Pa)",
    ),
    "battery.cutoff_voltage": ('[battery]\ncutoff_voltage = "13 V"\n', "below nominal_voltage (12.8 V)"),
    "battery.charged_voltage": ('[battery]\ncharged_voltage = "12 V"\n', "above nominal_voltage (12.8 V)"),
    "control.shutdown_soc": (
        '[control]\nsoc_points = ["50 %", "20 %", "5 %"]\nshutdown_soc = "8 %"\n',
        "below the lowest of soc_points (5 %)",
    ),
}


def _check(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, str, str]:
    path = tmp_path / "cleanroom.toml"
    path.write_text(text)
    status = main(["check-config", *flags, str(path)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_every_rule_has_a_breaking_example() -> None:
    assert sorted(BREAKING) == sorted(rule.key for rule in RULES)


@pytest.mark.parametrize("key", sorted(BREAKING))
def test_each_contradiction_is_refused_naming_the_key_and_the_other_value(
    key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, expected = BREAKING[key]
    status, _out, err = _check(tmp_path, text, capsys)
    assert status == 2
    assert f"{key} = " in err
    assert f"expected {expected}" in err
    assert "Traceback" not in err
    assert err.count("\n") == 1


def test_the_defaults_break_no_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _check(tmp_path, "", capsys)[0] == 0


def test_passwords_in_urls_are_masked_in_the_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (
        '[history]\nurl = "postgresql+psycopg://cleanroom:hunter2@db.lan/cleanroom"\n'
        '[mqtt]\nurl = "mqtt://room:s3cr@t@broker.lan:1883"\n'
    )
    status, out, err = _check(tmp_path, text, capsys)
    assert status == 0
    assert "hunter2" not in out + err
    assert "s3cr" not in out + err
    assert "postgresql+psycopg://cleanroom:***@db.lan/cleanroom" in out
    status, out, _err = _check(tmp_path, text, capsys, "--json")
    resolved = json.loads(out)
    assert resolved["history"]["url"] == "postgresql+psycopg://cleanroom:***@db.lan/cleanroom"
    assert "s3cr" not in json.dumps(resolved)


def test_one_masking_for_logs_messages_and_check_config() -> None:
    url = "postgresql+psycopg://cleanroom:hunter2@db.lan:5432/cleanroom"
    assert redacted(url) == masked_url(url) == "postgresql+psycopg://cleanroom:***@db.lan:5432/cleanroom"
    broker = parse_broker_url("mqtts://room:pa:ss@broker.lan:8883")
    assert broker.redacted() == masked_url("mqtts://room:pa:ss@broker.lan:8883") == "mqtts://room:***@broker.lan:8883"
    assert masked_url("sqlite:////var/lib/cleanroom/history.sqlite3") == "sqlite:////var/lib/cleanroom/history.sqlite3"
    assert masked_url("mqtt://broker.lan") == "mqtt://broker.lan"


def test_a_bad_url_is_refused_without_showing_its_password(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _out, err = _check(tmp_path, '[mqtt]\nurl = "ftp://room:hunter2@broker.lan"\n', capsys)
    assert status == 2
    assert "hunter2" not in err
    assert "room:***@" in err


def test_an_absolute_deadline_beyond_a_year_is_refused_in_days(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    far = (datetime.now(UTC) + timedelta(days=800)).replace(microsecond=0)
    status, _out, err = _check(tmp_path, f'[control]\ndeadline = "{far.isoformat()}"\n', capsys)
    assert status == 2
    assert "control.deadline = " in err
    assert "expected a time at most 366 days ahead (it is 800 days ahead)" in err
    near = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    assert _check(tmp_path, f'[control]\ndeadline = "{near.isoformat()}"\n', capsys)[0] == 0

"""`check-config` against hostile files: every file is either valid or refused with a one-line error
(exit status 2) naming the key, the value and what was expected; never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.cli import main

QUANTITY_KEYS = [
    ("controller", "tick"),
    ("battery", "capacity"),
    ("battery", "nominal_voltage"),
    ("control", "pressure_setpoint"),
    ("control", "deadline"),
    ("fan", "safe_speed"),
]
HOSTILE_VALUES = [
    '"' + "5" * 100_000 + ' s"',
    '"1e999999999 s"',
    "1e999",
    "-1e400",
    "nan",
    "inf",
    "-inf",
    str(10**400),
    '"3 Pa * Pa / Pa ** 9999"',
    '"' + "((((1))))" * 300 + '"',
    '"1 Pa Pa Pa Pa Pa"',
    '"\u0665 s"',
    '"\\u202e5 s"',
    '"0001-01-01T00:00:00+14:00"',
    '"9999-12-31T23:59:59-14:00"',
    "1979-05-27T07:32:00-08:00",
    "true",
    "[1, [2, [3]]]",
    "{ a = 1 }",
]
CONTENTS: list[bytes] = [
    b"\xff\xfe\x00garbage",
    b'[controller]\ntick = "\xe9 s"\n',
    b"a = " + b"[" * 100_000 + b"]" * 100_000 + b"\n",
    b"a = " + b"{ b = " * 5000 + b"1" + b" }" * 5000 + b"\n",
    bytes(range(256)),
    b"",
]


def check(tmp_path: Path, content: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "hostile.toml"
    path.write_bytes(content)
    status = main(["check-config", str(path)])
    captured = capsys.readouterr()
    assert status in (0, 2)
    assert "Traceback" not in captured.err + captured.out
    if status == 2:
        error = captured.err.strip()
        assert error.startswith("cleanroom check-config: ")
        assert "\n" not in error
        assert len(error) < 1000


@pytest.mark.parametrize(("section", "key"), QUANTITY_KEYS)
@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=range(len(HOSTILE_VALUES)))
def test_hostile_values(tmp_path: Path, capsys: pytest.CaptureFixture[str], section: str, key: str, value: str) -> None:
    check(tmp_path, f"[{section}]\n{key} = {value}\n".encode(), capsys)


@pytest.mark.parametrize("content", CONTENTS, ids=range(len(CONTENTS)))
def test_hostile_files(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes) -> None:
    check(tmp_path, content, capsys)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(QUANTITY_KEYS), text=st.text(max_size=80))
def test_any_quoted_text(tmp_path: Path, capsys: pytest.CaptureFixture[str], key: tuple[str, str], text: str) -> None:
    quoted = text.replace("\\", "\\\\").replace('"', '\\"')
    quoted = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in quoted if ord(c) < 0x10000)
    check(tmp_path, f'[{key[0]}]\n{key[1]} = "{quoted}"\n'.encode(), capsys)

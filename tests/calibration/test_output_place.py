"""`cleanroom calibrate` writes its file where the README says: `--output`, else the state directory (the
configuration's, or the simulator's with `--sim` alone), never the working directory; a place it cannot
write is refused before the sweep starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controller.cli import main

QUICK = ["calibrate", "--sim", "--quiet", "--json", "--sim-standing-draw", "0.9 W"]


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory of its own, and the simulator's state under tmp_path."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    return work


def test_sim_alone_writes_into_the_simulators_state_directory(
    elsewhere: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(QUICK) == 0
    written = tmp_path / "xdg" / "cleanroom-sim" / "calibration.json"
    assert json.loads(capsys.readouterr().out)["file"] == str(written)
    assert written.is_file()
    assert list(elsewhere.iterdir()) == []


def test_a_configuration_writes_into_its_state_directory(
    elsewhere: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "etc" / "cleanroom.toml"
    config.parent.mkdir()
    config.write_text(f'[controller]\nstate_dir = "{tmp_path / "state"}"\n', encoding="utf-8")
    assert main([*QUICK, "--config", str(config)]) == 0
    written = tmp_path / "state" / "calibration.json"
    assert json.loads(capsys.readouterr().out)["file"] == str(written)
    assert written.is_file()
    assert list(elsewhere.iterdir()) == []
    assert not (config.parent / "calibration.json").exists()


def test_a_place_it_cannot_write_is_refused_before_the_sweep(
    elsewhere: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    assert main([*QUICK, "--output", str(blocker / "calibration.json")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("cleanroom calibrate: command line: --output = '/")
    assert captured.err.strip().endswith("expected a file in a directory this user can write (give --output FILE)")

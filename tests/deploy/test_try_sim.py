"""deploy/try-sim.sh, the README's "run it" command: shellcheck-clean, and it runs the simulator with the
arguments it is given (here a short accelerated run that prints its summary as JSON)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy/try-sim.sh"


def test_shellcheck_passes() -> None:
    result = subprocess.run(["shellcheck", str(SCRIPT)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_runs_the_simulator_with_its_arguments(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            "bash",
            str(SCRIPT),
            "--accelerated",
            "--duration",
            "1 h",
            "--json",
            "--quiet",
            "--state-dir",
            str(tmp_path / "state"),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["hours"] == 1.0
    assert summary["mode"] == "auto"
    assert summary["average_cfm"] > 0


def test_first_run_says_what_it_installs(tmp_path: Path) -> None:
    """In a fresh copy of the repository (no .venv yet) the first run says what it does while pip works,
    one line per library, on stderr; stdout stays the simulator's own."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    copy = tmp_path / "cleanroom"
    for name in filter(None, files):
        source = REPO / name.decode()
        if source.is_file():
            (copy / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name.decode())
    result = subprocess.run(
        ["bash", "deploy/try-sim.sh", "--accelerated", "--duration", "1 h", "--json", "--quiet"],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=570,
        check=False,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")},
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("try-sim.sh: first run: making the virtual environment .venv")
    assert any(line.startswith("try-sim.sh: installing cleanroom and the libraries") for line in lines)
    fetched = {line.split()[1].lower() for line in lines if line.startswith("  getting ")}
    assert {"pint", "aiomqtt", "fastapi", "sqlalchemy"} <= fetched, lines
    assert any(line.startswith("  installing: ") for line in lines)
    assert "try-sim.sh: installed; starting the simulator" in lines
    assert json.loads(result.stdout)["hours"] == 1.0

"""deploy/try-sim.sh, the README's "run it" command: shellcheck-clean, and it runs the simulator with the
arguments it is given (here a short accelerated run that prints its summary as JSON)."""

from __future__ import annotations

import json
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

"""`cleanroom sim` starts clean and explains itself: each plain run gets a new state directory (an earlier
run's history does not show in the next one's dashboard), it says where that directory is and which command
prints its API token, and that command works; `--state-dir` keeps one directory across runs. The dashboard
is told the same command (in /api/meta and in the 401 answer)."""

from __future__ import annotations

import json
import os
import pwd
import re
import shlex
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.web.web_rig import serve_in_thread
from web.tokens import token_path

CLEANROOM = Path(sys.executable).with_name("cleanroom")
RUN = ["sim", "--speed", "100000", "--duration", "2 h", "--http", "none", "--mqtt", "none", "--json"]


def _environment(state_home: Path) -> dict[str, str]:
    path = f"{CLEANROOM.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, "XDG_STATE_HOME": str(state_home), "PATH": path}


def _sim(state_home: Path, *extra: str) -> tuple[Path, str]:
    done = subprocess.run(
        [str(CLEANROOM), *RUN, *extra],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env=_environment(state_home),
    )
    assert json.loads(done.stdout)["hours"] == 2.0
    where = re.search(r"^simulator state \(history, API token\): (.+) \((.+)\)$", done.stderr, re.MULTILINE)
    how = re.search(r"^the API token that dashboard commands need: (.+)$", done.stderr, re.MULTILINE)
    assert where is not None, done.stderr
    assert how is not None, done.stderr
    return Path(where.group(1)), how.group(1)


def _run_token_command(command: str, state_home: Path) -> str:
    done = subprocess.run(
        shlex.split(command), capture_output=True, text=True, timeout=60, check=True, env=_environment(state_home)
    )
    return done.stdout.splitlines()[0]


def test_each_plain_run_has_its_own_state_and_says_how_to_get_its_token(tmp_path: Path) -> None:
    first, first_command = _sim(tmp_path)
    second, second_command = _sim(tmp_path)
    assert first != second
    for state_dir, command in ((first, first_command), (second, second_command)):
        assert state_dir.parent == tmp_path / "cleanroom-sim" / "runs"
        assert list(state_dir.glob("*.sqlite*")) or list(state_dir.glob("*.db")), "the run kept its history here"
        assert f"--state-dir {state_dir}" in command
        assert _run_token_command(command, tmp_path) == token_path(state_dir).read_text(encoding="ascii").strip()
    assert token_path(first).read_text() != token_path(second).read_text()


def test_state_dir_is_kept_across_runs(tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    first, first_command = _sim(tmp_path, "--state-dir", str(kept))
    token = _run_token_command(first_command, tmp_path)
    second, second_command = _sim(tmp_path, "--state-dir", str(kept))
    assert first == second == kept
    assert first_command == second_command
    assert not (tmp_path / "cleanroom-sim").exists()
    assert _run_token_command(second_command, tmp_path) == token == token_path(kept).read_text().strip()


def test_the_dashboard_is_told_the_command_for_this_process(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    with serve_in_thread(str(state_dir)) as served:
        meta = httpx.get(f"{served.url}/api/meta", timeout=10).json()
        refused = httpx.post(f"{served.url}/api/mode", json={"mode": "eco"}, timeout=10)
    command = meta["token_command"]
    assert command.endswith(f"token --state-dir {state_dir}")
    assert refused.status_code == 401
    assert command in refused.json()["message"]
    assert _run_token_command(command, tmp_path) == served.token


@pytest.mark.skipif(os.geteuid() != 0, reason="running a process as a system account needs root")
def test_a_daemon_of_a_system_account_names_it_through_sudo(tmp_path: Path) -> None:
    """The service runs as its own system account (uid under 1000) and owns the token: the command a person
    types goes through `sudo -u` that account."""
    account = pwd.getpwuid(1).pw_name
    done = subprocess.run(
        ["setpriv", "--reuid=1", "--regid=1", "--clear-groups", sys.executable, "-c",
         f"from web.tokens import token_command; print(token_command({str(tmp_path)!r}))"],
        capture_output=True, text=True, timeout=60, check=True, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert done.stdout.strip() == f"sudo -u {account} cleanroom token --state-dir {tmp_path}"

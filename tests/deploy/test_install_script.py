"""deploy/install.sh: shellcheck-clean, and run for real against a scratch root (`--root`): install twice
(the second run changes nothing), the unit it installs passes systemd-analyze verify, uninstall keeps the
configuration and state, --purge removes them.

The scratch root holds account files like a fresh Raspberry Pi OS (root and dialout only), so the script
creates the gpio and i2c groups and the user with the shadow tools' --prefix. pip builds this project
with build isolation, so the test fetches the build backend (setuptools) from the package index, as
tests/run.sh does; --no-deps keeps it to that.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "deploy/install.sh"

BOOT_CONFIG = """\
# Raspberry Pi OS boot configuration (abridged)
dtparam=audio=on
camera_auto_detect=1

[pi4]
arm_boost=1
"""

Verify = Callable[[Path, str], subprocess.CompletedProcess[str]]


def make_root(root: Path) -> Path:
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "etc/group").write_text("root:x:0:\ndialout:x:20:\n")
    (root / "etc/shadow").write_text("root:*:19000:0:99999:7:::\n")
    (root / "etc/gshadow").write_text("root:*::\ndialout:*::\n")
    (root / "boot/firmware").mkdir(parents=True)
    (root / "boot/firmware/config.txt").write_text(BOOT_CONFIG)
    return root


def make_source(target: Path) -> Path:
    """A copy of the project as a user's checkout has it (pip builds in the source tree)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    target.mkdir()
    for name in ("controller", "drivers", "web"):
        shutil.copytree(REPO / name, target / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "hardware.md"):
        shutil.copy2(REPO / name, target / name)
    return target


def run_install(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(INSTALL), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, **(env or {})},
    )


def tree_state(
    root: Path, skip: tuple[str, ...] = ("opt/cleanroom/venv", "usr")
) -> dict[str, tuple[int, int, int, str]]:
    """Every path under root (less the venv and the stock units) -> (mode, uid, gid, content hash)."""
    state = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if relative.startswith(skip):
            continue
        info = path.lstat()
        if path.is_symlink():
            digest = "-> " + os.readlink(path)
        elif path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            digest = "dir"
        state[relative] = (info.st_mode, info.st_uid, info.st_gid, digest)
    return state


def account(root: Path, database: str, name: str) -> list[str] | None:
    for line in (root / "etc" / database).read_text().splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return fields
    return None


def groups_of(root: Path, user: str) -> list[str]:
    groups = []
    for line in (root / "etc/group").read_text().splitlines():
        fields = line.split(":")
        if user in fields[3].split(","):
            groups.append(fields[0])
    return sorted(groups)


def host_accounts() -> dict[str, bytes]:
    return {name: Path("/etc", name).read_bytes() for name in ("passwd", "group")}


def test_shellcheck_passes() -> None:
    """With -x shellcheck follows the parts install.sh sources (deploy/lib), in the context they run in."""
    result = subprocess.run(["shellcheck", "-x", str(INSTALL)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    text = INSTALL.read_text()
    for part in sorted((REPO / "deploy/lib").glob("*.sh")):
        assert f'source "$DEPLOY_DIR/lib/{part.name}"' in text, f"{part.name} is never sourced"


def test_install_twice_verify_then_uninstall(tmp_path: Path, verify_unit: Verify) -> None:
    root = make_root(tmp_path / "root")
    source = make_source(tmp_path / "src")
    args = [
        "--root",
        str(root),
        "--source",
        str(source),
        "--python",
        sys.executable,
        "--no-lock",
        "--pip-arg=--no-deps",
    ]

    host_before = host_accounts()
    first = run_install(*args, "--enable-pwm", "--enable-i2c")
    assert first.returncode == 0, first.stdout + first.stderr

    uid, cleanroom_gid = _assert_account_and_program(root)
    _assert_files_and_service(root, uid, cleanroom_gid, verify_unit)

    # Nothing ran against this machine: the live-only commands were printed instead.
    assert "would run: systemctl daemon-reload" in first.stdout
    assert "would run: udevadm control --reload" in first.stdout
    assert "reboot" in first.stdout
    assert host_accounts() == host_before

    # The user edits the configuration and the service writes state; then the script runs again.
    example = (REPO / "deploy/config.example.toml").read_text()
    config = root / "etc/cleanroom/config.toml"
    state = root / "var/lib/cleanroom"
    config.write_text(example + "\n# my battery\n")
    (state / "history.sqlite").write_bytes(b"SQLite format 3\x00")
    before = tree_state(root)
    second = run_install(*args, "--enable-pwm", "--enable-i2c")
    assert second.returncode == 0, second.stdout + second.stderr
    assert tree_state(root) == before, "the second run changed files"
    assert "kept the existing /etc/cleanroom/config.toml" in second.stdout
    assert "created" not in second.stdout
    assert "updated /boot" not in second.stdout
    assert "would run: systemctl daemon-reload" not in second.stdout
    assert "would run: systemctl try-restart cleanroom.service" in second.stdout
    assert os.access(root / "opt/cleanroom/venv/bin/cleanroom", os.X_OK)

    _assert_uninstall_then_purge(root)


def _assert_account_and_program(root: Path) -> tuple[int, int]:
    """The service's user and its virtual environment; returns the user's uid and its group's gid."""
    # The account: a system user with no login, in exactly the device groups.
    user = account(root, "passwd", "cleanroom")
    assert user is not None
    assert user[5:] == ["/var/lib/cleanroom", "/usr/sbin/nologin"]
    assert int(user[2]) < 1000
    assert groups_of(root, "cleanroom") == ["bluetooth", "dialout", "gpio", "i2c"]
    uid, gid = int(user[2]), int(user[3])
    cleanroom_gid = int(account(root, "group", "cleanroom")[2])  # type: ignore[index]
    assert gid == cleanroom_gid

    # The program: a virtual environment with this project and its console script.
    venv = root / "opt/cleanroom/venv"
    assert os.access(venv / "bin/cleanroom", os.X_OK)
    version = subprocess.run(
        [str(venv / "bin/python"), "-c", "import importlib.metadata as m; print(m.version('cleanroom'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.strip() == "0.1.0"
    site = next(venv.glob("lib/python3*/site-packages"))
    assert (site / "controller/watchdog.py").read_bytes() == (REPO / "controller/watchdog.py").read_bytes()

    return uid, cleanroom_gid


def _assert_files_and_service(root: Path, uid: int, cleanroom_gid: int, verify_unit: Verify) -> None:
    # Configuration from the example, readable by the service's group only; state owned by the service.
    example = (REPO / "deploy/config.example.toml").read_text()
    config = root / "etc/cleanroom/config.toml"
    assert config.read_text() == example
    assert oct(config.stat().st_mode & 0o777) == "0o640"
    assert oct((root / "etc/cleanroom").stat().st_mode & 0o777) == "0o750"
    state = root / "var/lib/cleanroom"
    assert oct(state.stat().st_mode & 0o777) == "0o750"
    if os.geteuid() == 0:
        assert (config.stat().st_uid, config.stat().st_gid) == (0, cleanroom_gid)
        assert (state.stat().st_uid, state.stat().st_gid) == (uid, cleanroom_gid)

    # The service: installed, enabled in the scratch root, and accepted by systemd.
    unit = root / "etc/systemd/system/cleanroom.service"
    assert unit.read_text() == (REPO / "deploy/systemd/cleanroom.service").read_text()
    wants = root / "etc/systemd/system/multi-user.target.wants/cleanroom.service"
    assert os.readlink(wants) == "/etc/systemd/system/cleanroom.service"
    verified = verify_unit(root, "cleanroom.service")
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout + verified.stderr == ""

    # Device names, power-off permission, overlays.
    assert (root / "etc/udev/rules.d/99-cleanroom-serial.rules").read_text() == (
        REPO / "deploy/udev/99-cleanroom-serial.rules"
    ).read_text()
    assert (root / "etc/polkit-1/rules.d/50-cleanroom-poweroff.rules").exists()
    assert (root / "etc/modules-load.d/cleanroom-i2c.conf").read_text() == "i2c-dev\n"
    boot = (root / "boot/firmware/config.txt").read_text()
    assert boot.startswith(BOOT_CONFIG)
    assert boot[len(BOOT_CONFIG) :] == (
        "# BEGIN cleanroom (deploy/install.sh)\n[all]\ndtoverlay=pwm-2chan\ndtparam=i2c_arm=on\n# END cleanroom\n"
    )


def _assert_uninstall_then_purge(root: Path) -> None:
    """Uninstall keeps the (edited) configuration, the state and the user; --purge removes them."""
    example = (REPO / "deploy/config.example.toml").read_text()
    config = root / "etc/cleanroom/config.toml"
    state = root / "var/lib/cleanroom"
    unit = root / "etc/systemd/system/cleanroom.service"
    wants = root / "etc/systemd/system/multi-user.target.wants/cleanroom.service"
    removed = run_install("--root", str(root), "--uninstall")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert not (root / "opt/cleanroom").exists()
    assert not unit.exists()
    assert not wants.is_symlink()
    assert not (root / "etc/udev/rules.d/99-cleanroom-serial.rules").exists()
    assert not (root / "etc/polkit-1/rules.d/50-cleanroom-poweroff.rules").exists()
    assert not (root / "etc/modules-load.d/cleanroom-i2c.conf").exists()
    assert (root / "boot/firmware/config.txt").read_text() == BOOT_CONFIG
    assert config.read_text() == example + "\n# my battery\n"
    assert (state / "history.sqlite").read_bytes() == b"SQLite format 3\x00"
    assert account(root, "passwd", "cleanroom") is not None
    assert "would run: systemctl stop cleanroom.service" in removed.stdout

    purged = run_install("--uninstall", "--purge", env={"DESTDIR": str(root)})
    assert purged.returncode == 0, purged.stdout + purged.stderr
    assert not (root / "etc/cleanroom").exists()
    assert not state.exists()
    assert account(root, "passwd", "cleanroom") is None
    assert account(root, "group", "cleanroom") is None
    assert groups_of(root, "cleanroom") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--purge"], "--purge only goes with --uninstall"),
        (["--frobnicate"], "unknown option '--frobnicate'"),
        (["--root", "/nonexistent/scratch"], "--root '/nonexistent/scratch': expected an existing directory"),
        (["--pwm-overlay", "gpio=18=op"], "expected a line like 'dtoverlay=pwm-2chan'"),
    ],
)
def test_bad_arguments_are_named(args: list[str], message: str) -> None:
    result = run_install(*args)
    assert result.returncode == 1
    assert message in result.stderr


def test_scratch_root_without_accounts_is_refused(tmp_path: Path) -> None:
    result = run_install("--root", str(tmp_path))
    assert result.returncode == 1
    assert f"expected {tmp_path}/etc/passwd" in result.stderr


def test_overlays_need_a_boot_config(tmp_path: Path) -> None:
    """Without a config.txt the script stops before it changes anything (and names the fix)."""
    root = make_root(tmp_path / "root")
    shutil.rmtree(root / "boot")
    before = tree_state(root)
    result = run_install("--root", str(root), "--enable-i2c")
    assert result.returncode == 1
    assert "pass --boot-config FILE" in result.stderr
    assert tree_state(root) == before

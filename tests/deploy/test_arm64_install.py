"""The install path on a 64-bit Raspberry Pi OS: an arm64 Debian bookworm root file system booted under
qemu-user-static emulation (binfmt_misc), `deploy/install.sh` run inside it from the lock file (so pip
must find aarch64 wheels with matching hashes for every dependency), then `cleanroom plan` and
`cleanroom check-config` run there and agree with this machine.

Emulation runs about 8-10x slower than native and does not enforce seccomp or device policies, so the
sandbox assertions stay in test_container_service.py. The binfmt_misc registration is machine-wide: the
test enables qemu-aarch64 only for its duration (under a lock) and restores what it found.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy import nspawn
from tests.deploy.test_container_service import INSTALL, SOURCE_IN_MACHINE, working_tree_copy

REPO = Path(__file__).resolve().parents[2]
BINFMT = Path("/proc/sys/fs/binfmt_misc")
CLEANROOM = "/opt/cleanroom/venv/bin/cleanroom"
PLAN = ("plan", "--target", "7 days")
FAN_CSV = "fan-airfanta-3pro-12vdc.csv"

pytestmark = [pytest.mark.slow, pytest.mark.arm64, pytest.mark.timeout(2400)]


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root (debootstrap, binfmt_misc and systemd-nspawn); run tests/run.sh as root"
    missing = [*nspawn.missing_tools()]
    missing += [tool for tool in ("qemu-aarch64-static", "update-binfmts") if shutil.which(tool) is None]
    if missing:
        return f"{', '.join(missing)} not installed (tests/run.sh installs qemu-user-static and binfmt-support)"
    return None


@contextlib.contextmanager
def aarch64_binfmt() -> Iterator[None]:
    """qemu-aarch64 registered with binfmt_misc for the block; what was there before is put back."""
    mounted = False
    if not (BINFMT / "status").exists():
        result = subprocess.run(["mount", "binfmt_misc", "-t", "binfmt_misc", str(BINFMT)], capture_output=True)
        if result.returncode != 0:
            pytest.skip(f"binfmt_misc cannot be mounted here: {result.stderr.decode().strip()}")
        mounted = True
    entry = BINFMT / "qemu-aarch64"
    was_enabled = entry.exists() and entry.read_text().startswith("enabled")
    try:
        if not was_enabled:
            subprocess.run(["update-binfmts", "--enable", "qemu-aarch64"], check=True, capture_output=True)
        yield
    finally:
        if not was_enabled:
            subprocess.run(["update-binfmts", "--disable", "qemu-aarch64"], check=False, capture_output=True)
        if mounted:
            subprocess.run(["umount", str(BINFMT)], check=False, capture_output=True)


@pytest.fixture(scope="module")
def arm64_machine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[nspawn.Machine]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("arm64")
    with nspawn.locked(nspawn.CACHE / "binfmt-aarch64.lock"), aarch64_binfmt():
        base = nspawn.cached_rootfs("arm64", work / "debootstrap.log")
        root = work / "root"
        nspawn.copy_tree(base, root)
        working_tree_copy(root / SOURCE_IN_MACHINE.lstrip("/"))
        pip_cache = nspawn.CACHE / "pip-bookworm-arm64"
        pip_cache.mkdir(parents=True, exist_ok=True)
        machine = nspawn.Machine(
            root=root,
            name=f"cleanroom-arm64-{uuid.uuid4().hex[:8]}",
            log=work / "nspawn.log",
            binds=(f"{pip_cache}:/root/.cache/pip",),
        )
        machine.boot(timeout_s=600)
        try:
            yield machine
        finally:
            machine.poweroff()
            shutil.rmtree(root, ignore_errors=True)


def native(*args: str) -> str:
    """What the same command prints on this machine."""
    command = [sys.executable, "-m", "controller", *args]
    return subprocess.run(command, capture_output=True, text=True, check=True, cwd=REPO).stdout


def test_install_plan_and_check_config_on_arm64(arm64_machine: nspawn.Machine) -> None:
    assert arm64_machine.run("uname", "-m").stdout.strip() == "aarch64"
    installed = arm64_machine.run("bash", INSTALL, check=False, timeout=1800)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    machine_of_venv = arm64_machine.run(
        "/opt/cleanroom/venv/bin/python", "-c", "import platform, pydantic_core; print(platform.machine())"
    )
    assert machine_of_venv.stdout.strip() == "aarch64"

    plan = arm64_machine.run(CLEANROOM, *PLAN, timeout=600)
    assert "best schedule" in plan.stdout
    assert plan.stdout == native(*PLAN)

    # install.sh made the configuration from the example: it resolves as it does here.
    checked = arm64_machine.run(CLEANROOM, "check-config", "/etc/cleanroom/config.toml", timeout=600)
    lines = checked.stdout.splitlines()
    assert lines[0] == "/etc/cleanroom/config.toml: valid"
    # The default fan curve resolves to the installed package's data file, here and there.
    curve = [line for line in lines if "curve_source =" in line]
    assert curve == ["  curve_source = /opt/cleanroom/venv/lib/python3.11/site-packages/controller/data/" + FAN_CSV]
    here = native("check-config", "deploy/config.example.toml").splitlines()
    assert [line for line in lines[1:] if line not in curve] == [
        line for line in here[1:] if "curve_source =" not in line
    ]

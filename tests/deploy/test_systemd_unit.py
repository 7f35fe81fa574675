"""deploy/systemd/cleanroom.service: systemd itself parses it (systemd-analyze verify, in a scratch root with
the ExecStart program present) and it carries the watchdog, restart and sandbox settings the issue asks for."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from controller.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "deploy/systemd/cleanroom.service"
EXEC_START = "/opt/cleanroom/venv/bin/cleanroom"

Verify = Callable[[Path, str], subprocess.CompletedProcess[str]]


def unit_entries(text: str) -> list[tuple[str, str, str]]:
    """(section, key, value) for every assignment, in order (keys like DeviceAllow repeat)."""
    entries = []
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, value = line.split("=", 1)
        entries.append((section, key.strip(), value.strip()))
    return entries


def scratch_root(tmp_path: Path, unit_text: str) -> Path:
    root = tmp_path / "root"
    program = root / EXEC_START.lstrip("/")
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    unit_dir = root / "etc/systemd/system"
    unit_dir.mkdir(parents=True)
    (unit_dir / "cleanroom.service").write_text(unit_text)
    return root


def test_systemd_accepts_the_unit(tmp_path: Path, verify_unit: Verify) -> None:
    result = verify_unit(scratch_root(tmp_path, UNIT.read_text()), "cleanroom.service")
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == "", "systemd-analyze verify warned about the unit"


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (("Type=notify", "Type=notifyy"), "Failed to parse service type"),
        (("WatchdogSec=30s", "WatchdogSec=30s\nWatchdogSecs=30s"), "Unknown key"),
        (("DevicePolicy=closed", "DevicePolicy=shut"), "Failed to parse device policy"),
    ],
)
def test_verify_catches_a_broken_unit(
    tmp_path: Path, verify_unit: Verify, change: tuple[str, str], complaint: str
) -> None:
    """The check above is only worth something if verify complains about mistakes like these."""
    old, new = change
    text = UNIT.read_text()
    assert f"\n{old}\n" in text
    result = verify_unit(scratch_root(tmp_path, text.replace(f"\n{old}\n", f"\n{new}\n", 1)), "cleanroom.service")
    assert complaint in result.stdout + result.stderr


def test_verify_needs_the_program(tmp_path: Path, verify_unit: Verify) -> None:
    root = scratch_root(tmp_path, UNIT.read_text())
    (root / EXEC_START.lstrip("/")).unlink()
    result = verify_unit(root, "cleanroom.service")
    assert result.returncode != 0
    assert "is not executable" in result.stderr


def test_watchdog_restart_and_start_command() -> None:
    service = {key: value for section, key, value in unit_entries(UNIT.read_text()) if section == "Service"}
    assert service["Type"] == "notify"
    assert service["NotifyAccess"] == "main"
    assert service["WatchdogSec"] == "30s"
    assert service["Restart"] == "on-failure"
    assert service["ExecStart"] == f"{EXEC_START} run --config /etc/cleanroom/config.toml"
    assert service["User"] == "cleanroom"


def test_sandbox_limits_files_and_devices() -> None:
    entries = [(key, value) for section, key, value in unit_entries(UNIT.read_text()) if section == "Service"]
    single = dict(entries)
    for key, value in {
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "NoNewPrivileges": "yes",
        "DevicePolicy": "closed",
        "ProtectKernelTunables": "yes",
        "CapabilityBoundingSet": "",
    }.items():
        assert single[key] == value, key
    writable = " ".join(value for key, value in entries if key == "ReadWritePaths").split()
    assert writable == ["/var/lib/cleanroom", "-/sys/class/pwm", "-/sys/devices/platform"]
    devices = sorted(value for key, value in entries if key == "DeviceAllow")
    assert devices == sorted(f"char-{name} rw" for name in ("ttyUSB", "ttyACM", "ttyAMA", "ttyS", "i2c", "gpiochip"))
    assert "PrivateUsers" not in single, "PrivateUsers would unmap the dialout/gpio/i2c groups"


def test_the_cli_accepts_the_start_command() -> None:
    """ExecStart's arguments are what `cleanroom run` takes (the unit and the CLI cannot drift apart)."""
    service = {key: value for section, key, value in unit_entries(UNIT.read_text()) if section == "Service"}
    program, *arguments = service["ExecStart"].split()
    assert program == EXEC_START
    parsed = build_parser().parse_args(arguments)
    assert parsed.command == "run"
    assert parsed.config == "/etc/cleanroom/config.toml"

"""Fixtures for the deployment tests: plausible snapshots and a systemd-style notification socket."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from controller.snapshot import Mode, Snapshot

START_UTC = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def make_snapshot(monotonic_s: float, *, soc_pct: float | None = 83.2, pressure_pa: float | None = 7.4) -> Snapshot:
    """A snapshot like one tick of the loop on the reference fan at setting 2 (141 CFM, about 4 W)."""
    return Snapshot(
        controller_id="test-room",
        timestamp_utc=START_UTC + timedelta(seconds=monotonic_s),
        monotonic_s=monotonic_s,
        mode=Mode.AUTO,
        voltage_v=13.1,
        current_a=-0.38,
        power_w=4.98,
        soc_pct=soc_pct,
        consumed_ah=-16.8,
        soc_synced=True,
        soc_sync_age_s=3600.0,
        charging=False,
        energy_usable_wh=950.0,
        pressure_pa=pressure_pa,
        pressure_raw_pa=pressure_pa,
        pressure_floor_pa=2.5,
        pressure_setpoint_pa=None,
        fan_command_pct=45.0,
        fan_setting="2",
        fan_rpm=None,
        fan_power_w=4.12,
        flow_cfm=141.0,
        clean_air_ft3=141.0 * monotonic_s / 60,
        runtime_now_s=950.0 / 4.98 * 3600,
        runtime_plan_s=None,
        plan_power_w=None,
        deadline_utc=None,
        deadline_met=None,
        shunt_status="ok",
        pressure_status="ok",
        fan_status="ok",
    )


@pytest.fixture
def snapshot_factory() -> Callable[..., Snapshot]:
    """Builds plausible snapshots: `snapshot_factory(monotonic_s, soc_pct=..., pressure_pa=...)`."""
    return make_snapshot


class NotifyListener:
    """The receiving end of sd_notify: a unix datagram socket like the one systemd binds."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(address)
        self.socket.setblocking(False)

    @property
    def environ_value(self) -> str:
        """What NOTIFY_SOCKET holds for this address."""
        return "@" + self.address[1:] if self.address.startswith("\0") else self.address

    def pending(self) -> list[dict[str, str]]:
        """Every datagram already received, parsed into KEY=VALUE dicts."""
        messages: list[dict[str, str]] = []
        while True:
            try:
                data = self.socket.recv(4096)
            except BlockingIOError:
                return messages
            messages.append(parse_notification(data))

    async def receive(self, timeout_s: float) -> dict[str, str]:
        """The next datagram, or TimeoutError."""
        loop = asyncio.get_running_loop()
        data = await asyncio.wait_for(loop.sock_recv(self.socket, 4096), timeout_s)
        return parse_notification(data)


def parse_notification(data: bytes) -> dict[str, str]:
    """`READY=1\\nSTATUS=x` -> {"READY": "1", "STATUS": "x"}."""
    return dict(line.split("=", 1) for line in data.decode().split("\n") if line)


@pytest.fixture
def notify_listener(tmp_path: Path) -> Iterator[NotifyListener]:
    """A bound notification socket in tmp_path."""
    listener = NotifyListener(str(tmp_path / "notify.sock"))
    yield listener
    listener.socket.close()


@pytest.fixture
def abstract_notify_listener() -> Iterator[NotifyListener]:
    """A bound notification socket in the abstract namespace (NOTIFY_SOCKET=@name)."""
    listener = NotifyListener(f"\0cleanroom-test-{uuid.uuid4().hex}")
    yield listener
    listener.socket.close()


HOST_UNIT_DIR = Path("/lib/systemd/system")


def systemd_verify(root: Path, unit: str) -> subprocess.CompletedProcess[str]:
    """`systemd-analyze verify` of a unit installed in `root`, with the host's stock units (sysinit.target,
    basic.target, ...) copied into root/usr/lib/systemd/system so that the unit's dependencies resolve.

    verify exits 0 even for unknown keys and bad values (it only warns), so callers check the output too.
    """
    stock = root / "usr/lib/systemd/system"
    if not stock.exists():
        shutil.copytree(HOST_UNIT_DIR, stock, symlinks=True)
    return subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", "--man=no", "--generators=no", unit],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def verify_unit() -> Callable[[Path, str], subprocess.CompletedProcess[str]]:
    """`verify_unit(root, "cleanroom.service")`: systemd-analyze verify inside a scratch root."""
    return systemd_verify

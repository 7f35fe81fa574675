"""End to end: `cleanroom sim` as a subprocess under a systemd-style notification socket. It says READY and
keeps pinging the watchdog; frozen with SIGSTOP (a hung process) the pings stop, after SIGCONT they come
back, and SIGTERM ends it with STOPPING=1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CLEANROOM = Path(sys.executable).with_name("cleanroom")
WATCHDOG_USEC = 400_000
SINKS_OFF = ("--db", "none", "--mqtt", "none", "--http", "none")


def parse(data: bytes) -> dict[str, str]:
    return dict(line.split("=", 1) for line in data.decode().split("\n") if line)


def receive(listener: socket.socket, timeout_s: float) -> dict[str, str]:
    listener.settimeout(timeout_s)
    return parse(listener.recv(4096))


def drain(listener: socket.socket) -> None:
    listener.setblocking(False)
    try:
        while True:
            listener.recv(4096)
    except BlockingIOError:
        return
    finally:
        listener.setblocking(True)


def wait_until_stopped(pid: int, timeout_s: float = 10.0) -> None:
    """Wait until /proc shows the process stopped (state T): from then on it can send nothing."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T":
            return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} did not stop")


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify.sock"))
    yield sock
    sock.close()


def test_sim_pings_until_hung_and_resumes(tmp_path: Path, listener: socket.socket) -> None:
    env = {**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify.sock"), "WATCHDOG_USEC": str(WATCHDOG_USEC)}
    process = subprocess.Popen(
        [
            str(CLEANROOM),
            "sim",
            "--speed",
            "60",
            "--duration",
            "7 days",
            *SINKS_OFF,
            "--state-dir",
            str(tmp_path / "state"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ready = receive(listener, 120)
        assert ready["READY"] == "1"
        assert ready["STATUS"].startswith("mode auto, SoC 100.0 %")
        pings = [receive(listener, 10) for _ in range(3)]
        assert all(ping["WATCHDOG"] == "1" for ping in pings)

        process.send_signal(signal.SIGSTOP)
        wait_until_stopped(process.pid)
        drain(listener)
        # Hung: nothing for five watchdog periods; systemd would have killed it after one.
        with pytest.raises(TimeoutError):
            receive(listener, 5 * WATCHDOG_USEC / 1e6)

        process.send_signal(signal.SIGCONT)
        assert receive(listener, 10)["WATCHDOG"] == "1"

        process.send_signal(signal.SIGTERM)
        while "STOPPING" not in (message := receive(listener, 30)):
            assert message["WATCHDOG"] == "1"
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)
            process.kill()
            process.wait(10)

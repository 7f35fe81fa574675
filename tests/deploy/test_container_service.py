"""cleanroom.service under a real systemd, installed the way a Pi owner installs it.

A Debian bookworm root file system (tests/deploy/nspawn.py: debootstrap, cached between runs) boots with
systemd as PID 1 under systemd-nspawn. The working tree (what is being tested, committed or not) is copied
in and `deploy/install.sh` installs it from the lock file. The hardware is the project's own wire-level
fakes (tests/deploy/container_rig.py: Modbus TCP battery monitor, pressure transmitter and 0-10 V fan
output) running as a unit of their own inside the container. One test walks a Pi's life in order: install,
configure, start, a hung and a killed daemon, stop, install again, reboot, uninstall.

Needs root and systemd-nspawn, debootstrap and nsenter (tests/run.sh installs them); about 2-4 minutes
with a warm cache, plus about 70 s for the root file system and the packages' download on a cold one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.deploy import nspawn

REPO = Path(__file__).resolve().parents[2]
SOURCE_IN_MACHINE = "/root/cleanroom-src"
INSTALL = f"{SOURCE_IN_MACHINE}/deploy/install.sh"
VENV_PYTHON = "/opt/cleanroom/venv/bin/python"
CONFIG = "/etc/cleanroom/config.toml"
STATE_DIR = "/var/lib/cleanroom"
FAN_FILE = "/run/cleanroom-rig/fan-output"
SEEDED_SOC_PCT = 64.0
MANUAL_RAW, SAFE_RAW = 8000, 5000  # 80 % and 50 % of the 0-10000 mV output

pytestmark = [pytest.mark.container, pytest.mark.timeout(1500)]


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root (debootstrap and systemd-nspawn); run tests/run.sh as root"
    missing = nspawn.missing_tools()
    if missing:
        return f"{', '.join(missing)} not installed (tests/run.sh installs debootstrap and systemd-container)"
    return None


def free_ports(count: int) -> list[int]:
    """Ports free on the host (the container shares the host's network)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def working_tree_copy(target: Path) -> None:
    """The files git tracks or would track (committed or not), as they are in the working tree."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def rig_config(ports: list[int]) -> str:
    """The example configuration with the [devices] tables pointed at the rig (as a user edits it)."""
    shunt, pressure, fan, http = ports
    example = (REPO / "deploy/config.example.toml").read_text()
    kept, skipping = [], False
    for line in example.splitlines():
        if line.startswith("["):
            skipping = line.startswith("[devices")
        if not skipping:
            kept.append(line)
    text = "\n".join(kept)
    text = re.sub(r'^mode = ".*?"', 'mode = "manual"', text, count=1, flags=re.MULTILINE)
    text = re.sub(r'^manual_speed = ".*?"', 'manual_speed = "80 %"', text, count=1, flags=re.MULTILINE)
    text = re.sub(r'^listen = ".*?"', f'listen = "127.0.0.1:{http}"', text, count=1, flags=re.MULTILINE)
    return f"""{text}

[devices.shunt]
driver = "modbus"
preset = "pzem-017"
transport = "tcp"
host = "127.0.0.1"
tcp_port = {shunt}

[devices.pressure]
driver = "modbus"
preset = "generic-rs485"
transport = "tcp"
host = "127.0.0.1"
tcp_port = {pressure}

[devices.fan]
driver = "modbus"
preset = "waveshare-ao8"
transport = "tcp"
host = "127.0.0.1"
tcp_port = {fan}
"""


RIG_UNIT = """[Unit]
Description=cleanroom test rig: the hardware as Modbus TCP fakes
Before=cleanroom.service

[Service]
ExecStart={python} /root/cleanroom-src/tests/deploy/container_rig.py {ports}

[Install]
WantedBy=multi-user.target
"""

PROBE_DROP_IN = """[Service]
ExecStartPre=-/usr/bin/python3 /usr/local/lib/cleanroom-sandbox-probe.py
"""


def show(machine: nspawn.Machine, unit: str = "cleanroom.service") -> dict[str, str]:
    """`systemctl show` of the unit's state properties."""
    output = machine.run(
        "systemctl", "show", unit, "-p", "ActiveState,SubState,StatusText,MainPID,NRestarts,Result"
    ).stdout
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def fan_raw(machine: nspawn.Machine) -> int | None:
    result = machine.run("cat", FAN_FILE, check=False)
    return int(result.stdout) if result.returncode == 0 and result.stdout.strip() else None


def journal(machine: nspawn.Machine, *args: str) -> str:
    return machine.run("journalctl", "--no-pager", "-o", "cat", "-u", "cleanroom.service", *args).stdout


def installed_state(machine: nspawn.Machine) -> str:
    """What an install writes: file hashes, modes and owners outside the venv, and the venv's packages."""
    files = machine.run(
        "sh",
        "-c",
        "find /etc/cleanroom /etc/systemd/system /etc/udev/rules.d /etc/polkit-1 /opt/cleanroom /var/lib/cleanroom"
        " -path /opt/cleanroom/venv -prune -o -type f -printf '%p %m %U %G %s\\n' | sort;"
        " find /etc/cleanroom /etc/systemd/system /opt/cleanroom -path /opt/cleanroom/venv -prune -o -type f"
        " -exec sha256sum {} + | sort",
    ).stdout
    packages = machine.run(VENV_PYTHON, "-m", "pip", "freeze", "--all").stdout
    return files + packages


@pytest.fixture(scope="module")
def machine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[nspawn.Machine]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("container")
    base = nspawn.cached_rootfs("amd64", work / "debootstrap.log")
    root = work / "root"
    nspawn.copy_tree(base, root)
    working_tree_copy(root / SOURCE_IN_MACHINE.lstrip("/"))
    shutil.copy2(REPO / "tests/deploy/sandbox_probe.py", root / "usr/local/lib/cleanroom-sandbox-probe.py")
    pip_cache = nspawn.CACHE / "pip-bookworm-amd64"
    pip_cache.mkdir(parents=True, exist_ok=True)
    booted = nspawn.Machine(
        root=root,
        name=f"cleanroom-{uuid.uuid4().hex[:8]}",
        log=work / "nspawn.log",
        binds=(f"{pip_cache}:/root/.cache/pip",),
    )
    booted.boot()
    try:
        yield booted
    finally:
        booted.poweroff()
        shutil.rmtree(root, ignore_errors=True)


def install(machine: nspawn.Machine, *args: str) -> subprocess.CompletedProcess[str]:
    result = machine.run("bash", INSTALL, *args, check=False, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def configure(machine: nspawn.Machine) -> None:
    """The owner's edits after the first install: the configuration, the rig, the sandbox probe."""
    ports = free_ports(4)
    machine.run("sh", "-c", f"cat > {CONFIG}", input=rig_config(ports))
    rig = RIG_UNIT.format(python=VENV_PYTHON, ports=" ".join(map(str, ports[:3])))
    machine.run("sh", "-c", "cat > /etc/systemd/system/cleanroom-rig.service", input=rig)
    machine.run("mkdir", "-p", "/etc/systemd/system/cleanroom.service.d")
    machine.run("sh", "-c", "cat > /etc/systemd/system/cleanroom.service.d/probe.conf", input=PROBE_DROP_IN)
    machine.run("systemctl", "daemon-reload")
    machine.run("systemctl", "enable", "--now", "cleanroom-rig.service")
    machine.run(VENV_PYTHON.replace("python", "cleanroom"), "check-config", CONFIG)
    # The belief an earlier run left (the rig's monitor reports no state of charge of its own).
    belief = {"version": 1, "soc_pct": SEEDED_SOC_PCT, "source": "restored", "synced_at_utc": None}
    machine.run("sh", "-c", f"cat > {STATE_DIR}/battery.json", input=json.dumps(belief))
    machine.run("chown", "cleanroom:cleanroom", f"{STATE_DIR}/battery.json")


def check_running(machine: nspawn.Machine) -> dict[str, str]:
    """active (running), reached through READY=1, with a status line that says what the daemon does."""
    state = show(machine)
    assert (state["ActiveState"], state["SubState"]) == ("active", "running"), state
    # READY=1 comes after the first tick, maybe before the first pressure reading; STATUS is refreshed
    # with every watchdog ping (every WatchdogSec/2).
    wait_for(lambda: "pressure 5.2 Pa" in show(machine)["StatusText"], "the rig's pressure in the status line", 60)
    state = show(machine)
    assert re.fullmatch(r"mode manual, SoC .+, pressure 5\.2 Pa, fan \d+ %, \d+ CFM.*", state["StatusText"]), state
    status = machine.run("systemctl", "status", "--no-pager", "cleanroom.service", check=False).stdout
    assert "Active: active (running)" in status
    assert 'Status: "mode manual' in status
    return state


def check_sandbox(machine: nspawn.Machine) -> None:
    report = json.loads(machine.run("cat", f"{STATE_DIR}/sandbox-probe.json").stdout)
    assert report["uid"] != 0
    assert set(report["writes_outside"].values()) <= {"EROFS", "EACCES"}, report["writes_outside"]
    assert report["write_state"] == "ok"
    assert report["read_config"] == "ok"
    assert report["write_config"] in ("EROFS", "EACCES")
    assert report["home"] in ("EACCES", "ENOENT"), "ProtectHome: /root is hidden"
    assert set(report["capabilities"].values()) == {"0000000000000000"}, report["capabilities"]
    assert report["no_new_privs"] == "1"
    assert report["seccomp"] == "2"
    devices = report["devices"]
    allowed = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"}
    assert all(devices[path] == "ok" for path in allowed & devices.keys()), devices
    refused = {path: result for path, result in devices.items() if path not in allowed | {"/dev/tty", "/dev/ptmx"}}
    assert refused, f"no other device node to try: {devices}"
    assert set(refused.values()) == {"EPERM"}, refused


def exposure(machine: nspawn.Machine) -> float:
    """`systemd-analyze security`'s overall exposure of the installed unit (0 = fully locked down, 10 = none)."""
    output = machine.run("systemd-analyze", "security", "--no-pager", "cleanroom.service").stdout
    found = re.search(r"Overall exposure level for cleanroom.service: (\d+\.\d)", output)
    assert found, output
    return float(found.group(1))


def check_hardware_watchdog(machine: nspawn.Machine) -> None:
    """--hardware-watchdog: the setting is written and systemd reads it (the container has no watchdog device)."""
    install(machine, "--hardware-watchdog")
    conf = machine.run("cat", "/etc/systemd/system.conf.d/cleanroom-watchdog.conf").stdout
    assert "RuntimeWatchdogSec=15s" in conf.splitlines()
    manager = machine.run("systemctl", "show", "-p", "RuntimeWatchdogUSec", "--value").stdout.strip()
    assert manager == "15s"


def restarted(machine: nspawn.Machine, before: dict[str, str]) -> Callable[[], bool]:
    def done() -> bool:
        now = show(machine)
        return (
            int(now["NRestarts"]) > int(before["NRestarts"])
            and now["MainPID"] not in ("0", before["MainPID"])
            and (now["ActiveState"], now["SubState"]) == ("active", "running")
        )

    return done


def test_the_service_under_systemd(machine: nspawn.Machine) -> None:
    first = install(machine)
    assert "warning: udevadm" in first.stderr, "no udevd in a container: a warning, not a failure"
    configure(machine)

    assert exposure(machine) <= 1.5, "each remaining exposure has its reason in the unit"
    machine.run("systemctl", "start", "cleanroom.service", timeout=180)
    started = check_running(machine)
    check_sandbox(machine)
    wait_for(lambda: fan_raw(machine) == MANUAL_RAW, "the fan at the manual 80 %")

    # A hung daemon: the watchdog pings stop, systemd kills it (SIGABRT) and starts it again.
    machine.run("systemctl", "kill", "--kill-whom=main", "--signal=SIGSTOP", "cleanroom.service")
    wait_for(restarted(machine, started), "the watchdog's restart of a stopped daemon", timeout_s=150)
    assert "Watchdog timeout" in journal(machine)
    after_watchdog = check_running(machine)

    machine.run("systemctl", "kill", "--kill-whom=main", "--signal=SIGKILL", "cleanroom.service")
    wait_for(restarted(machine, after_watchdog), "the restart after kill -9", timeout_s=90)
    check_running(machine)
    wait_for(lambda: fan_raw(machine) == MANUAL_RAW, "the fan at the manual 80 % again")

    # A clean stop leaves the fan at the safe speed, within TimeoutStopSec (a timeout would be its Result).
    machine.run("systemctl", "stop", "cleanroom.service", timeout=120)
    stopped = show(machine)
    assert (stopped["ActiveState"], stopped["Result"]) == ("inactive", "success"), stopped
    assert fan_raw(machine) == SAFE_RAW
    saved = json.loads(machine.run("cat", f"{STATE_DIR}/battery.json").stdout)
    assert saved["soc_pct"] is not None

    # The second install changes nothing and keeps the owner's configuration.
    config_before = machine.run("cat", CONFIG).stdout
    before = installed_state(machine)
    second = install(machine)
    assert "kept the existing /etc/cleanroom/config.toml" in second.stdout
    assert installed_state(machine) == before, "the second install changed files or packages"
    assert machine.run("cat", CONFIG).stdout == config_before
    check_hardware_watchdog(machine)

    # A reboot of a running service: the shutdown saves the belief, the boot starts the (enabled) service,
    # which restores it. The rig's 0.4 A charge moves the state of charge by about 0.01 % a minute.
    machine.run("systemctl", "start", "cleanroom.service", timeout=180)
    machine.run("systemctl", "reboot", "--no-block")
    assert machine.wait_exit(120) == 133, "systemd-nspawn reports a reboot with 133"
    machine.boot()
    wait_for(lambda: show(machine)["SubState"] == "running", "cleanroom.service after the reboot")
    check_running(machine)
    assert machine.run("systemctl", "show", "-p", "RuntimeWatchdogUSec", "--value").stdout.strip() == "15s"
    restored = re.search(r"restored battery state from \S+battery.json: (\S+) %", journal(machine, "-b"))
    assert restored, "the battery belief saved at the stop was not restored"
    assert float(restored.group(1)) == pytest.approx(saved["soc_pct"], abs=0.5)

    # Uninstall removes the program and keeps the configuration and the data.
    removed = install(machine, "--uninstall")
    assert "kept /etc/cleanroom" in removed.stdout
    assert machine.run("test", "-e", "/etc/systemd/system.conf.d/cleanroom-watchdog.conf", check=False).returncode == 1
    assert machine.run("test", "-e", "/opt/cleanroom", check=False).returncode == 1
    assert machine.run("cat", CONFIG).stdout == config_before
    assert machine.run("test", "-s", f"{STATE_DIR}/history.sqlite3", check=False).returncode == 0

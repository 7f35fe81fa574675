"""A Debian bookworm machine for the deployment tests: a root file system made by debootstrap (cached
between runs, keyed on its inputs), booted with systemd as PID 1 under systemd-nspawn, entered with nsenter.

The cache lives outside the clone (/var/cache/cleanroom-tests, or $CLEANROOM_TEST_CACHE). A root file
system is built under a temporary name and renamed into place under a file lock, so two test processes
that start at once build it once and never see half of one. Each test boots its own copy.

What the machine takes from the host: the package sources apt uses (also debootstrap's mirror), the CA
certificates the host added, and pip's configuration (outgoing TLS may be intercepted here, so pip needs
both to reach the package index). Nothing else.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

CACHE = Path(os.environ.get("CLEANROOM_TEST_CACHE", "/var/cache/cleanroom-tests"))
SUITE = "bookworm"
PACKAGES = ("systemd", "systemd-sysv", "dbus", "python3", "python3-venv", "ca-certificates")
HOST_CA_DIR = Path("/usr/local/share/ca-certificates")
HOST_APT_SOURCES = Path("/etc/apt/sources.list.d")
HOST_PIP_CONFIGS = (Path("/etc/pip.conf"),)
DEFAULT_MIRROR = "http://deb.debian.org/debian"


def missing_tools() -> list[str]:
    """The host commands these tests need that are not installed."""
    return [tool for tool in ("debootstrap", "systemd-nspawn", "nsenter") if shutil.which(tool) is None]


def host_apt_source_files() -> list[Path]:
    """The host's enabled apt source files (what apt-get on the host reads)."""
    files = [Path("/etc/apt/sources.list")] if Path("/etc/apt/sources.list").is_file() else []
    files += sorted(HOST_APT_SOURCES.glob("*.sources")) + sorted(HOST_APT_SOURCES.glob("*.list"))
    return [path for path in files if path.stat().st_size > 0]


def host_mirror() -> str:
    """The Debian mirror the host's apt uses for bookworm (deb822 or one-line format)."""
    for path in host_apt_source_files():
        text = path.read_text()
        for stanza in text.split("\n\n"):
            fields = dict(line.split(":", 1) for line in stanza.splitlines() if ":" in line and line[0] != "#")
            suites = fields.get("Suites", "").split()
            if SUITE in suites and "URIs" in fields:
                return fields["URIs"].split()[0]
        for line in text.splitlines():
            words = line.split()
            if len(words) >= 3 and words[0] == "deb" and words[2] == SUITE:
                return words[-3] if words[1].startswith("[") else words[1]
    return DEFAULT_MIRROR


def debootstrap_command(arch: str, target: Path) -> list[str]:
    """The command that makes the root file system (its words are part of the cache key)."""
    return [
        "debootstrap",
        "--variant=minbase",
        f"--arch={arch}",
        "--include=" + ",".join(PACKAGES),
        SUITE,
        str(target),
        host_mirror(),
    ]


def _host_inputs() -> list[tuple[str, str]]:
    files = [*host_apt_source_files(), *sorted(HOST_CA_DIR.glob("**/*.crt")), *HOST_PIP_CONFIGS]
    return [(str(path), hashlib.sha256(path.read_bytes()).hexdigest()) for path in files if path.is_file()]


def rootfs_key(arch: str) -> str:
    """A hash of everything the root file system is made from."""
    inputs = {"command": debootstrap_command(arch, Path("ROOT")), "host": _host_inputs(), "layout": 1}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` (a lock file) for the duration of the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _copy_host_settings(root: Path) -> None:
    """Package sources, extra CA certificates and pip configuration from the host."""
    for path in host_apt_source_files():
        target = root / path.relative_to("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    if HOST_CA_DIR.is_dir():
        shutil.copytree(HOST_CA_DIR, root / HOST_CA_DIR.relative_to("/"), dirs_exist_ok=True)
    for path in HOST_PIP_CONFIGS:
        if path.is_file():
            shutil.copy2(path, root / path.relative_to("/"))
    # Under qemu emulation on a busy 2-core machine this one-off step took over 120 s.
    subprocess.run(["chroot", str(root), "update-ca-certificates"], check=True, capture_output=True, timeout=1200)
    # Empty: systemd makes up a machine id at each boot of each copy.
    (root / "etc/machine-id").write_text("")


def cached_rootfs(arch: str, log: Path) -> Path:
    """The bookworm root file system for `arch`, built on first use (about 70 s native)."""
    key = rootfs_key(arch)
    final = CACHE / f"rootfs-{SUITE}-{arch}-{key}"
    with locked(CACHE / f"rootfs-{SUITE}-{arch}-{key}.lock"):
        if final.is_dir():
            return final
        building = CACHE / f"{final.name}.building"
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir(parents=True)
        with log.open("ab") as out:
            subprocess.run(
                debootstrap_command(arch, building), check=True, stdout=out, stderr=subprocess.STDOUT, timeout=1800
            )
        _copy_host_settings(building)
        building.rename(final)
    return final


def copy_tree(source: Path, target: Path) -> None:
    """A copy that keeps owners, modes, links and device nodes (reflinked where the file system can)."""
    subprocess.run(["cp", "-a", "--reflink=auto", str(source), str(target)], check=True, timeout=600)


@dataclass
class Machine:
    """A booted container: `run` executes a command inside it (as root, in all its namespaces)."""

    root: Path
    name: str
    log: Path
    binds: Sequence[str] = ()
    process: subprocess.Popen[bytes] | None = None
    leader: int = 0
    boots: list[float] = field(default_factory=list)

    def boot(self, timeout_s: float = 120) -> None:
        """Start systemd-nspawn in the background and wait until systemd inside is up."""
        command = [
            "systemd-nspawn",
            f"--directory={self.root}",
            f"--machine={self.name}",
            "--boot",
            "--register=no",
            "--keep-unit",
            "--system-call-filter=bpf",
            *(f"--bind={bind}" for bind in self.binds),
        ]
        env = {**os.environ, "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY": "1", "SYSTEMD_LOG_COLOR": "0"}
        started = time.monotonic()
        self.leader = 0
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        try:
            self.leader = self._find_leader(timeout_s)
            self._wait_until_up(timeout_s)
        except BaseException:
            self.kill()
            raise
        self.boots.append(time.monotonic() - started)

    def _wait_until_up(self, timeout_s: float) -> None:
        state = ""
        deadline = time.monotonic() + timeout_s
        while state in ("", "offline") and time.monotonic() < deadline:  # until systemd listens on its bus
            state = self.run("systemctl", "is-system-running", "--wait", check=False, timeout=timeout_s).stdout.strip()
            time.sleep(0.2)
        if state not in ("running", "degraded"):
            raise AssertionError(f"the container did not boot: {state}\n{self.tail_log()}")

    def kill(self) -> None:
        """End the container at once: SIGKILL to nspawn and to the container's init."""
        if self.process is None:
            return
        for pid in (self.process.pid, self.leader):
            if pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def _find_leader(self, timeout_s: float) -> int:
        """The container's PID 1: the nspawn child whose innermost PID is 1."""
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"systemd-nspawn exited with {self.process.returncode}\n{self.tail_log()}")
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            for pid in children.read_text().split() if children.exists() else []:
                with contextlib.suppress(OSError):
                    status = Path(f"/proc/{pid}/status").read_text()
                    nspid = next(line for line in status.splitlines() if line.startswith("NSpid:"))
                    # nspawn's own child has PID 1 too until it executes systemd.
                    inner = nspid.split()[-1] == "1" and len(nspid.split()) > 2
                    if inner and Path(f"/proc/{pid}/comm").read_text().strip() == "systemd":
                        return int(pid)
            time.sleep(0.05)
        raise AssertionError(f"no container init after {timeout_s} s\n{self.tail_log()}")

    def run(
        self, *command: str, check: bool = True, timeout: float = 600, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside the container as root; raises with its output when `check` and it fails."""
        result = subprocess.run(
            [
                "nsenter",
                "-t",
                str(self.leader),
                "-a",
                "--",
                "/usr/bin/env",
                "-i",
                "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                "LANG=C.UTF-8",
                "HOME=/root",
                *command,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            input=input,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    def wait_exit(self, timeout_s: float = 60) -> int:
        """Wait for nspawn to end (after a poweroff or reboot inside); its exit code (133: reboot)."""
        assert self.process is not None
        code = self.process.wait(timeout=timeout_s)
        self.process = None
        return code

    def poweroff(self) -> None:
        """Shut the container down from inside; SIGKILL to nspawn if that does not end it."""
        if self.process is None:
            return
        with contextlib.suppress(Exception):
            self.run("systemctl", "poweroff", "--no-block", check=False, timeout=30)
        try:
            self.wait_exit(60)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail_log(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""

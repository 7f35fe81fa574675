"""What the service's sandbox lets a process do, seen from inside it: run by the container test as
`ExecStartPre=-` of cleanroom.service (so under the unit's user, namespaces, capabilities, seccomp filter
and device policy) with the system's python3, standard library only. Writes JSON to the state directory.

Each probe is a path and what happened: "ok", or the errno name of the refusal.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

STATE_DIR = Path("/var/lib/cleanroom")
OUTSIDE = ("/etc/cleanroom-probe", "/etc/cleanroom/probe", "/opt/cleanroom/probe", "/usr/local/probe", "/var/probe")
CONFIG = "/etc/cleanroom/config.toml"


def attempt(action) -> str:  # type: ignore[no-untyped-def]
    try:
        action()
    except OSError as exc:
        return errno.errorcode.get(exc.errno or 0, str(exc))
    return "ok"


def write(path: str) -> str:
    def create() -> None:
        with open(path, "a") as handle:
            handle.write("probe\n")

    return attempt(create)


def open_device(path: str) -> str:
    def opening() -> None:
        os.close(os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_NOCTTY))

    return attempt(opening)


def status_fields() -> dict[str, str]:
    lines = Path("/proc/self/status").read_text().splitlines()
    return {key: value.strip() for key, value in (line.split(":", 1) for line in lines)}


def char_devices() -> list[str]:
    found = []
    for directory, _, names in os.walk("/dev"):
        if directory.startswith("/dev/pts"):
            continue
        for name in names:
            path = os.path.join(directory, name)
            if stat.S_ISCHR(os.lstat(path).st_mode):
                found.append(path)
    return sorted(found)


def main() -> None:
    fields = status_fields()
    report = {
        "uid": os.getuid(),
        "writes_outside": {path: write(path) for path in OUTSIDE},
        "write_state": write(str(STATE_DIR / "probe-write")),
        "read_config": attempt(lambda: Path(CONFIG).read_bytes()),
        "write_config": write(CONFIG),
        "home": attempt(lambda: os.listdir("/root")),
        "capabilities": {key: fields[key] for key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")},
        "no_new_privs": fields["NoNewPrivs"],
        "seccomp": fields["Seccomp"],
        "devices": {path: open_device(path) for path in char_devices()},
    }
    (STATE_DIR / "sandbox-probe.json").write_text(json.dumps(report, indent=1))
    if report["write_state"] == "ok":
        os.remove(STATE_DIR / "probe-write")


if __name__ == "__main__":
    main()

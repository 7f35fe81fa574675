"""The real daemon's footprint on a small Pi: `cleanroom sim --speed 1` with every sink on (HTTP with one
live dashboard client, MQTT to a Mosquitto this bench starts, SQLite history), measured from /proc over
windows after a warm-up, next to a bare `python3 -c` asyncio loop ticking at 1 Hz run beside it (the
floor); then the start-up time of `cleanroom --help`, `plan` and `check-config` next to `python3 -c pass`,
and what each library the daemon loads costs in memory and import time on its own.

Figures per window: RSS and PSS (MB), CPU (% of one core), wakeups per minute (context switches of all
threads), disk writes (kernel write_bytes, MB/h). Start-up: median wall time and median CPU time (user +
system) of five runs; CPU time is the fairer figure on a loaded machine. The history is committed every
`batch_interval` (5 min by default, or at once on an alert, a mode change or a stop), so a disk figure means
something only over windows longer than that: `--warmup 10 --window 600 --windows 1`.

Per library: a fresh interpreter imports it alone (after what it always needs: asyncio); the RSS it adds
and the CPU time the import takes. Libraries share dependencies, so the column does not add up to the
daemon's RSS; each row is what dropping that library alone would save at most.

Run: .venv/bin/python -m bench.footprint [--warmup S] [--window S] [--windows N] [--quick] [--only-static]
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
FLOOR_LOOP = "import asyncio\nasync def main():\n    while True:\n        await asyncio.sleep(1)\nasyncio.run(main())\n"


@dataclass(frozen=True, slots=True)
class Sample:
    """Counters of one process at one moment."""

    at_s: float
    cpu_s: float
    switches: int
    write_bytes: int
    rss_kb: int
    pss_kb: int


def _field(path: Path, name: str) -> int:
    for line in path.read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return 0


def sample(pid: int) -> Sample:
    """Read /proc for a process and all its threads."""
    proc = Path(f"/proc/{pid}")
    stat = proc.joinpath("stat").read_text().rsplit(")", 1)[1].split()
    cpu_s = (int(stat[11]) + int(stat[12])) / CLK_TCK
    switches = 0
    for task in proc.joinpath("task").iterdir():
        try:
            status = task / "status"
            switches += _field(status, "voluntary_ctxt_switches") + _field(status, "nonvoluntary_ctxt_switches")
        except (FileNotFoundError, ProcessLookupError):
            continue
    return Sample(
        time.monotonic(),
        cpu_s,
        switches,
        _field(proc / "io", "write_bytes"),
        _field(proc / "status", "VmRSS"),
        _field(proc / "smaps_rollup", "Pss"),
    )


@dataclass(frozen=True, slots=True)
class Window:
    """One measured window of one process."""

    rss_mb: float
    pss_mb: float
    cpu_pct: float
    wakeups_per_min: float
    write_mb_per_h: float

    @staticmethod
    def between(a: Sample, b: Sample) -> Window:
        """The rates between two samples; memory as at the end."""
        span = b.at_s - a.at_s
        return Window(
            b.rss_kb / 1024,
            b.pss_kb / 1024,
            100.0 * (b.cpu_s - a.cpu_s) / span,
            (b.switches - a.switches) * 60.0 / span,
            (b.write_bytes - a.write_bytes) / 1e6 * 3600.0 / span,
        )

    def row(self, name: str) -> str:
        """One line of the table."""
        return (
            f"{name:<26} {self.rss_mb:7.1f} {self.pss_mb:7.1f} {self.cpu_pct:8.3f} "
            f"{self.wakeups_per_min:9.0f} {self.write_mb_per_h:9.2f}"
        )


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout_s: float = 60.0) -> None:
    """Until something accepts connections on localhost:port."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on port {port} after {timeout_s:.0f} s")


def start_broker(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A Mosquitto of the bench's own on a free port."""
    if shutil.which("mosquitto") is None:
        raise SystemExit("bench.footprint needs mosquitto (apt-get install mosquitto)")
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    broker = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port)
    return broker, port


def existing_history(path: Path) -> str:
    """A history database at the code's schema, as a daemon restarted on its state directory finds it (a first
    start or an upgrade also imports alembic to migrate, which stays in memory until the next start)."""
    from controller.history.database import create_history_engine, migrate

    url = f"sqlite:///{path}"
    engine = create_history_engine(url)
    migrate(engine)
    engine.dispose()
    return url


def start_daemon(workdir: Path, broker_port: int, fresh_db: bool) -> tuple[subprocess.Popen[bytes], int]:
    """`cleanroom sim --speed 1` with HTTP, MQTT and SQLite on."""
    http_port = free_port()
    db_url = f"sqlite:///{workdir / 'history.db'}" if fresh_db else existing_history(workdir / "history.db")
    cleanroom = Path(sys.executable).with_name("cleanroom")
    command = [
        str(cleanroom), "sim", "--speed", "1", "--state-dir", str(workdir / "state"),
        "--http", f"127.0.0.1:{http_port}", "--mqtt", f"mqtt://127.0.0.1:{broker_port}",
        "--db", db_url,
    ]  # fmt: skip
    log = (workdir / "daemon.log").open("wb")
    daemon = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    wait_for_port(http_port)
    return daemon, http_port


def live_client(http_port: int, stop: threading.Event) -> threading.Thread:
    """One dashboard client reading the live stream until `stop`."""

    def read() -> None:
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/api/live", timeout=30) as stream:
            while not stop.is_set() and stream.readline():
                pass

    thread = threading.Thread(target=read, name="live-client", daemon=True)
    thread.start()
    return thread


def measure(pids: dict[str, int], warmup_s: float, window_s: float, windows: int) -> dict[str, list[Window]]:
    """Windows of every process, taken at the same moments."""
    print(f"warming up for {warmup_s:.0f} s, then {windows} windows of {window_s:.0f} s", file=sys.stderr)
    time.sleep(warmup_s)
    out: dict[str, list[Window]] = {name: [] for name in pids}
    before = {name: sample(pid) for name, pid in pids.items()}
    for n in range(windows):
        time.sleep(window_s)
        after = {name: sample(pid) for name, pid in pids.items()}
        for name in pids:
            out[name].append(Window.between(before[name], after[name]))
        before = after
        print(f"  window {n + 1}/{windows} done", file=sys.stderr)
    return out


def timed(command: list[str], runs: int = 5) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of a command, in seconds."""
    walls, cpus = [], []
    for _ in range(runs):
        before = os.times()
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        walls.append(time.perf_counter() - start)
        after = os.times()
        cpus.append(after.children_user - before.children_user + after.children_system - before.children_system)
    return statistics.median(walls), statistics.median(cpus)


def startup_table(workdir: Path) -> None:
    """Start-up of the commands a user types, next to the interpreter's own start."""
    cleanroom = str(Path(sys.executable).with_name("cleanroom"))
    config = workdir / "empty.toml"
    config.write_text("")
    rows = {
        "python3 -c pass": [sys.executable, "-c", "pass"],
        "cleanroom --help": [cleanroom, "--help"],
        "cleanroom plan": [cleanroom, "plan"],
        "cleanroom check-config": [cleanroom, "check-config", str(config)],
    }
    floor_wall, floor_cpu = timed(rows["python3 -c pass"])
    print(f"\n{'start-up':<26} {'wall s':>8} {'cpu s':>8} {'cpu / python':>13}")
    for name, command in rows.items():
        wall, cpu = (floor_wall, floor_cpu) if name.startswith("python3") else timed(command)
        print(f"{name:<26} {wall:8.3f} {cpu:8.3f} {cpu / floor_cpu if floor_cpu else float('nan'):13.1f}")


LIBRARIES = (
    "pint", "sqlalchemy", "alembic", "fastapi", "starlette.applications", "pydantic", "opentelemetry.trace",
    "uvicorn", "aiomqtt", "pymodbus", "serial", "controller.daemon", "controller.history.recorder",
    "controller.mqtt.sink", "web.sink",
)  # fmt: skip
DAEMON_ORDER = (
    "sqlalchemy", "sqlalchemy.dialects.sqlite", "aiomqtt", "uvicorn", "fastapi", "controller.daemon",
    "controller.sim.run", "web.sink", "controller.mqtt.sink", "controller.history.recorder",
)  # fmt: skip
"""What `cleanroom sim` with every sink imports, libraries first: the RSS each adds to what came before."""
IMPORT_COST = (
    "import asyncio, importlib, os, time\n"
    "def rss_kb():\n"
    "    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS:'))\n"
    "before, start = rss_kb(), time.process_time()\n"
    "importlib.import_module({name!r})\n"
    "print(rss_kb() - before, time.process_time() - start)\n"
)
IMPORT_SEQUENCE = (
    "import importlib, sys\n"
    "def rss_kb():\n"
    "    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS:'))\n"
    "print('python', rss_kb())\n"
    "import asyncio\n"
    "print('asyncio', rss_kb())\n"
    "for name in sys.argv[1:]:\n"
    "    importlib.import_module(name)\n"
    "    print(name, rss_kb())\n"
)


def library_table() -> None:
    """The memory and import CPU each library costs on its own, then what each adds in the daemon's order."""
    print(f"\n{'library (imported alone)':<30} {'RSS MB':>7} {'cpu s':>8}")
    for name in LIBRARIES:
        done = subprocess.run(
            [sys.executable, "-c", IMPORT_COST.format(name=name)], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            print(f"{name:<30} {'not installed':>16}")
            continue
        rss_kb, cpu_s = done.stdout.split()
        print(f"{name:<30} {int(rss_kb) / 1024:7.1f} {float(cpu_s):8.3f}")
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_SEQUENCE, *DAEMON_ORDER], capture_output=True, text=True, check=True
    )
    print(f"\n{'imported in the daemon order':<30} {'+RSS MB':>7} {'RSS MB':>7}")
    before = 0
    for line in done.stdout.splitlines():
        name, rss_kb = line.split()
        print(f"{name:<30} {(int(rss_kb) - before) / 1024:7.1f} {int(rss_kb) / 1024:7.1f}")
        before = int(rss_kb)


def compile_project() -> None:
    """Bytecode for the project's own packages, as `pip install` writes it for an installed package (an
    editable checkout, or one run with PYTHONDONTWRITEBYTECODE, would compile every module at every start)."""
    root = Path(__file__).resolve().parent.parent
    for package in ("controller", "drivers", "web"):
        compileall.compile_dir(root / package, quiet=1)


def main(argv: list[str] | None = None) -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds before the first window (30)")
    parser.add_argument("--window", type=float, default=60.0, help="seconds per window (60)")
    parser.add_argument("--windows", type=int, default=3, help="how many windows (3)")
    parser.add_argument("--quick", action="store_true", help="10 s warm-up, 3 windows of 15 s")
    parser.add_argument("--only-static", action="store_true", help="only the start-up and library tables")
    parser.add_argument("--fresh-db", action="store_true", help="start on an empty database (migrated at start)")
    args = parser.parse_args(argv)
    if args.quick:
        args.warmup, args.window, args.windows = 10.0, 15.0, 3
    compile_project()
    with tempfile.TemporaryDirectory(prefix="cleanroom-footprint-") as tmp:
        workdir = Path(tmp)
        if args.only_static:
            startup_table(workdir)
            library_table()
            return
        broker, broker_port = start_broker(workdir)
        daemon, http_port = start_daemon(workdir, broker_port, args.fresh_db)
        floor = subprocess.Popen([sys.executable, "-c", FLOOR_LOOP])
        stop = threading.Event()
        try:
            live_client(http_port, stop)
            result = measure({"cleanroom sim --speed 1": daemon.pid, "asyncio loop at 1 Hz": floor.pid}, args.warmup,
                             args.window, args.windows)  # fmt: skip
        finally:
            stop.set()
            for process in (daemon, floor, broker):
                process.terminate()
                process.wait(timeout=15)
        print(f"\n{'process, window':<26} {'RSS MB':>7} {'PSS MB':>7} {'CPU %':>8} {'wakeup/m':>9} {'disk MB/h':>9}")
        for name, windows in result.items():
            for n, window in enumerate(windows, 1):
                print(window.row(f"{name[:22]} #{n}"))
        daemon_cpu = statistics.mean(w.cpu_pct for w in result["cleanroom sim --speed 1"])
        floor_cpu = statistics.mean(w.cpu_pct for w in result["asyncio loop at 1 Hz"])
        print(f"mean CPU: daemon {daemon_cpu:.3f} % vs floor {floor_cpu:.3f} % of a core")
        startup_table(workdir)
        library_table()


if __name__ == "__main__":
    main()

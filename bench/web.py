"""Benchmark of the HTTP API while the control loop runs: requests per second and latency percentiles of
`GET /api/state` under concurrent clients, against `/healthz` (the baseline: same server, no snapshot
encoding) in the same run; plus the dashboard's total transfer size (gzip, as a phone gets it) and the
size of one live update.

The server is `cleanroom sim --http 127.0.0.1:0` in its own process (the real loop publishing snapshots
at --speed times real time); the clients are one asyncio process with keep-alive connections.

    .venv/bin/python bench/web.py [--clients 16] [--duration 5] [--speed 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

DASHBOARD = ("/", "/app.js", "/style.css", "/manifest.json", "/icon.svg")


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process so far (Linux /proc), 0 when unknown."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def simulator(speed: float) -> Iterator[tuple[str, int]]:
    """`cleanroom sim` serving on a free port; yields its base URL and process id."""
    with tempfile.TemporaryDirectory() as state_dir:
        command = [
            str(Path(sys.executable).parent / "cleanroom"),
            "sim",
            "--http",
            "127.0.0.1:0",
            "--speed",
            f"{speed:g}",
            "--state-dir",
            state_dir,
            "--mqtt",
            "none",
            "--db",
            "none",
            "--id",
            "bench",
        ]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert process.stderr is not None
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            found = re.search(r"dashboard and API at (http://[^ ]+?)/ ", line)
            url = found.group(1) if found else None
        if url is None:
            process.kill()
            raise SystemExit("cleanroom sim did not start its dashboard")
        threading.Thread(target=process.stderr.read, daemon=True).start()
        try:
            yield url, process.pid
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)


async def idle_cpu_rate(pid: int | None, duration_s: float) -> float:
    """The server's CPU seconds per second with no requests (the loop alone)."""
    before, began = cpu_seconds(pid), time.perf_counter()
    await asyncio.sleep(duration_s)
    return (cpu_seconds(pid) - before) / (time.perf_counter() - began)


async def load(
    url: str, path: str, clients: int, duration_s: float, pid: int | None = None, idle_rate: float = 0.0
) -> dict[str, float]:
    """`clients` concurrent loops of GET `path` for `duration_s`; throughput, latency and server CPU figures."""
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:
        await client.get(path)
        stop = time.perf_counter() + duration_s

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                began = time.perf_counter()
                response = await client.get(path)
                latencies.append(time.perf_counter() - began)
                if response.status_code != 200:
                    errors += 1

        cpu_before, began = cpu_seconds(pid), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - began
        cpu_used = cpu_seconds(pid) - cpu_before - idle_rate * elapsed
    latencies.sort()
    return {
        "server_cpu_ms_per_request": 1000 * cpu_used / len(latencies) if pid is not None else float("nan"),
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
    }


async def transfer_sizes(url: str) -> dict[str, int]:
    """Bytes on the wire for the dashboard's files (gzip where it pays) and one `/api/state` / live update."""
    sizes: dict[str, int] = {}
    async with httpx.AsyncClient(base_url=url, headers={"Accept-Encoding": "gzip"}) as client:
        for path in DASHBOARD:
            response = await client.get(path)
            response.raise_for_status()
            sizes[path] = response.num_bytes_downloaded
        state = await client.get("/api/state")
        sizes["/api/state"] = state.num_bytes_downloaded
        history = await client.get("/api/history", params={"metrics": ["soc_pct", "pressure_pa", "flow_cfm"]})
        sizes["/api/history (3 series)"] = history.num_bytes_downloaded
        async with client.stream("GET", "/api/live", params={"max_messages": 1}) as live:
            body = b"".join([chunk async for chunk in live.aiter_raw()])
        sizes["one live update"] = len(body)
    return sizes


async def run(url: str, clients: int, duration_s: float, pid: int | None = None) -> dict[str, object]:
    """Every figure, baseline first."""
    idle = await idle_cpu_rate(pid, min(duration_s, 2.0))
    baseline = await load(url, "/healthz", clients, duration_s, pid, idle)
    state = await load(url, "/api/state", clients, duration_s, pid, idle)
    sizes = await transfer_sizes(url)
    dashboard_bytes = sum(sizes[p] for p in DASHBOARD)
    return {
        "clients": clients,
        "duration_s": duration_s,
        "healthz": baseline,
        "state": state,
        "state_vs_healthz_rps": state["rps"] / baseline["rps"],
        "state_vs_healthz_p99": state["p99_ms"] / baseline["p99_ms"],
        "loop_cpu_share": idle,
        "load_average": os.getloadavg()[0],
        "sizes_bytes": sizes,
        "dashboard_bytes": dashboard_bytes,
    }


def report(figures: dict[str, object]) -> None:
    """Print the figures as a small table."""
    loop_cpu_share = figures["loop_cpu_share"]
    assert isinstance(loop_cpu_share, float)
    print(
        f"{figures['clients']} concurrent clients, {figures['duration_s']:g} s per endpoint, loop running "
        f"(it uses {100 * loop_cpu_share:.0f} % of a core alone; "
        f"machine load average {figures['load_average']:.1f})"
    )
    for name in ("healthz", "state"):
        row = figures[name]
        assert isinstance(row, dict)
        print(
            f"  GET /{'healthz' if name == 'healthz' else 'api/state':10s} {row['rps']:8.0f} req/s   "
            f"p50 {row['p50_ms']:6.2f} ms   p99 {row['p99_ms']:6.2f} ms   "
            f"server CPU {row['server_cpu_ms_per_request']:.2f} ms/req   errors {row['errors']:.0f}"
        )
    print(
        f"  /api/state vs /healthz: {figures['state_vs_healthz_rps']:.2f}x the throughput, "
        f"{figures['state_vs_healthz_p99']:.2f}x the p99 latency"
    )
    state, baseline = figures["state"], figures["healthz"]
    assert isinstance(state, dict)
    assert isinstance(baseline, dict)
    ratio = state["server_cpu_ms_per_request"] / baseline["server_cpu_ms_per_request"]
    print(f"  server CPU per request: /api/state {ratio:.2f}x /healthz")
    sizes = figures["sizes_bytes"]
    assert isinstance(sizes, dict)
    print("transfer sizes (gzip):")
    for path, size in sizes.items():
        print(f"  {path:26s} {size:7d} B")
    print(f"  dashboard total            {figures['dashboard_bytes']:7d} B (page, script, style, manifest, icon)")


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the benchmark (against `cleanroom sim`, or an already running server with --url)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per endpoint")
    parser.add_argument("--speed", type=float, default=10.0, help="simulated time factor of the loop")
    parser.add_argument("--url", help="benchmark this running server instead of starting cleanroom sim")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.url:
        figures = asyncio.run(run(args.url.rstrip("/"), args.clients, args.duration))
    else:
        with simulator(args.speed) as (url, pid):
            figures = asyncio.run(run(url, args.clients, args.duration, pid))
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        report(figures)
    return figures


if __name__ == "__main__":
    main()

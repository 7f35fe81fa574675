"""MQTT sink benchmark: publish cost per control tick, and end-to-end alert latency.

Starts its own Mosquitto on a free port of 127.0.0.1 and runs, in one process:
- per tick: the sink publishing every tick's state (JSON), changed per-value topics and alert list,
  against a baseline of one bare aiomqtt QoS 0 publish, and against building the payloads alone;
- alert latency: from `hub.publish(snapshot with an alert event)` to a subscriber receiving it on
  `<base>/alert`, against a baseline of a bare QoS 1 publish -> receive through the same broker.

    .venv/bin/python bench/mqtt.py [--ticks 2000] [--alerts 200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path

import aiomqtt

from controller.clock import SimulatedClock
from controller.command_bus import CommandBus
from controller.hub import SnapshotHub
from controller.mqtt.config import MqttSection
from controller.mqtt.payloads import alerts_payload, metric_payloads, state_payload
from controller.mqtt.sink import MqttSink, build_mqtt_sink
from controller.sim.snapshots import SAMPLE_TIME_UTC, sample_snapshot
from controller.snapshot import Alert, AlertKind, Event, EventKind, Severity, Snapshot
from drivers.runtime import cancel_and_wait

T0 = SAMPLE_TIME_UTC


def snapshot(i: int, events: tuple[Event, ...] = (), alerts: tuple[Alert, ...] = ()) -> Snapshot:
    """A plausible tick whose values change every tick (the worst case for per-value topics)."""
    return sample_snapshot(
        controller_id="bench",
        timestamp_utc=T0 + timedelta(seconds=i),
        monotonic_s=float(i),
        voltage_v=13.1 + (i % 7) * 0.01,
        current_a=-0.6 - (i % 5) * 0.01,
        power_w=-8.0 - (i % 9) * 0.1,
        soc_pct=83.0 - i * 0.001,
        consumed_ah=-16.8 - i * 0.0002,
        soc_sync_age_s=float(i),
        energy_usable_wh=937.0 - i * 0.002,
        pressure_pa=7.0 + (i % 11) * 0.1,
        pressure_raw_pa=7.0 + (i % 13) * 0.1,
        clean_air_ft3=11400.0 + i * 3.2,
        runtime_now_s=400000.0 - i,
        runtime_plan_s=600000.0 - i,
        alerts=alerts,
        events=events,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def mosquitto() -> Iterator[int]:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        conf = Path(tmp) / "mosquitto.conf"
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        process = subprocess.Popen(["mosquitto", "-c", str(conf)], stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
            yield port
        finally:
            process.terminate()
            process.wait(10)


async def wait_until(predicate: Callable[[], object], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark condition not reached")
        await asyncio.sleep(0)


@contextlib.asynccontextmanager
async def running_sink(port: int) -> AsyncIterator[tuple[SnapshotHub, MqttSink]]:
    hub, commands = SnapshotHub(), CommandBus()
    section = MqttSection(publish_interval_s=0.0, discovery=False)
    sink = build_mqtt_sink(f"mqtt://127.0.0.1:{port}", "bench", section, SimulatedClock(T0))
    task = asyncio.create_task(sink.run(hub, commands))
    await wait_until(lambda: sink.stats.connected)
    try:
        yield hub, sink
    finally:
        hub.close()
        await task


async def per_tick(port: int, ticks: int) -> dict[str, float]:
    snapshots = [snapshot(i) for i in range(ticks)]
    start = time.perf_counter()
    for s in snapshots:
        state_payload(s, None)
        metric_payloads(s)
        alerts_payload(s.alerts)
    codec_s = (time.perf_counter() - start) / ticks

    async with aiomqtt.Client("127.0.0.1", port) as client:
        body = state_payload(snapshots[0], None)
        start = time.perf_counter()
        for _ in range(ticks):
            await client.publish("bench/raw", body, qos=0)
        raw_s = (time.perf_counter() - start) / ticks

    async with running_sink(port) as (hub, sink):
        stats = sink.stats
        base = stats.state_published
        wall, cpu = time.perf_counter(), time.process_time()
        published = stats.published
        for i, s in enumerate(snapshots):
            hub.publish(s)
            await wait_until(lambda: stats.state_published >= base + i + 1)  # noqa: B023 (awaited here)
        wall_s = (time.perf_counter() - wall) / ticks
        cpu_s = (time.process_time() - cpu) / ticks
        messages = (stats.published - published) / ticks
    return {
        "codec_s": codec_s,
        "raw_publish_s": raw_s,
        "tick_wall_s": wall_s,
        "tick_cpu_s": cpu_s,
        "messages_per_tick": messages,
    }


async def alert_latency(port: int, count: int) -> dict[str, float]:
    received: dict[str, float] = {}

    async def listen(topic: str, ready: asyncio.Event) -> None:
        async with aiomqtt.Client("127.0.0.1", port) as sub:
            await sub.subscribe(topic, qos=1)
            ready.set()
            async for message in sub.messages:
                payload = message.payload if isinstance(message.payload, bytes) else b""
                key = payload.split(b'"message":"', 1)[-1].split(b'"', 1)[0].decode()
                received[key] = time.perf_counter()

    async def measure(topic: str, send: Callable[[int, str], Awaitable[None]]) -> list[float]:
        ready = asyncio.Event()
        listener = asyncio.create_task(listen(topic, ready))
        await ready.wait()
        latencies = []
        for i in range(count):
            key = f"alert {topic} {i}"
            start = time.perf_counter()
            await send(i, key)
            await wait_until(lambda: key in received)  # noqa: B023 (awaited here)
            latencies.append(received[key] - start)
            await asyncio.sleep(0.02)  # let the sink finish the tick (state, lists) so alerts do not queue
        await cancel_and_wait(listener)
        return latencies

    async with aiomqtt.Client("127.0.0.1", port) as client:

        async def raw(i: int, key: str) -> None:
            await client.publish("bench/raw-alert", f'{{"message":"{key}"}}'.encode(), qos=1)

        baseline = await measure("bench/raw-alert", raw)

    async with running_sink(port) as (hub, _sink):

        async def via_sink(i: int, key: str) -> None:
            event = Event(
                EventKind.ALERT_RAISED,
                key,
                T0,
                Severity.WARNING,
                AlertKind.BATTERY_LOW_SOC,
                {"value": 29.0, "threshold": 30.0},
            )
            alert = Alert(AlertKind.BATTERY_LOW_SOC, Severity.WARNING, key, T0, {"value": 29.0})
            hub.publish(snapshot(i, events=(event,), alerts=(alert,)))

        sink_latencies = await measure("cleanroom/bench/alert", via_sink)
    return {
        "baseline_median_s": statistics.median(baseline),
        "median_s": statistics.median(sink_latencies),
        "p95_s": sorted(sink_latencies)[int(0.95 * (len(sink_latencies) - 1))],
        "max_s": max(sink_latencies),
    }


async def main(ticks: int, alerts: int) -> dict[str, dict[str, float]]:
    with mosquitto() as port:
        tick = await per_tick(port, ticks)
        latency = await alert_latency(port, alerts)
    us = 1e6
    print(
        f"MQTT publish cost per tick ({ticks} ticks, every value changing, {tick['messages_per_tick']:.1f} "
        "messages per tick):"
    )
    print(f"  sink, wall time       {tick['tick_wall_s'] * us:9.1f} us/tick")
    print(f"  sink, CPU time        {tick['tick_cpu_s'] * us:9.1f} us/tick")
    print(
        f"  payload codecs alone  {tick['codec_s'] * us:9.1f} us/tick  "
        f"({tick['codec_s'] / tick['tick_cpu_s']:.0%} of the sink's CPU)"
    )
    print(
        f"  baseline: one bare QoS 0 publish {tick['raw_publish_s'] * us:9.1f} us "
        f"-> a tick costs {tick['tick_wall_s'] / tick['raw_publish_s']:.1f} bare publishes"
    )
    print(f"End-to-end alert latency ({alerts} alerts, hub.publish -> subscriber on <base>/alert, QoS 1):")
    print(
        f"  median {latency['median_s'] * 1e3:.2f} ms, p95 {latency['p95_s'] * 1e3:.2f} ms, "
        f"max {latency['max_s'] * 1e3:.2f} ms"
    )
    print(
        f"  baseline: bare QoS 1 publish -> receive median {latency['baseline_median_s'] * 1e3:.2f} ms "
        f"(sink/baseline {latency['median_s'] / latency['baseline_median_s']:.2f}x)"
    )
    return {"tick": tick, "latency": latency}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ticks", type=int, default=2000)
    parser.add_argument("--alerts", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.ticks, args.alerts))
    sys.exit(0)

"""End to end: `cleanroom sim --mqtt` (the real control loop, alert engine and MQTT sink) against a real
Mosquitto: alerts over a simulated battery drain, commands through the loop, and the last will when the
process is killed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.mqtt.mqtt_rig import Mosquitto, Watcher, get_retained

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    mosquitto = Mosquitto(tmp_path)
    mosquitto.start()
    yield mosquitto
    mosquitto.stop()


@contextlib.asynccontextmanager
async def sim(tmp_path: Path, *args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "controller",
        "sim",
        "--db",
        "none",
        "--http",
        "none",
        "--state-dir",
        str(tmp_path / "state"),
        "--quiet",
        *args,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_sim_drain_raises_each_battery_alert_once(broker: Mosquitto, tmp_path: Path) -> None:
    async with (
        Watcher(broker.port, ["cleanroom/drain/alert"]) as watcher,
        sim(
            tmp_path,
            "--accelerated",
            "--battery",
            "30 Wh",
            "--duration",
            "10 h",
            "--tick",
            "5 s",
            "--mqtt",
            broker.url,
            "--id",
            "drain",
        ) as process,
    ):
        _, stderr = await asyncio.wait_for(process.communicate(), 240)
        assert process.returncode == 0, stderr.decode()[-2000:]
        await watcher.wait_for(
            lambda: any(
                json.loads(m.payload)["kind"] == "battery_low_soc" and json.loads(m.payload)["severity"] == "critical"
                for m in watcher.messages
            )
        )
    alerts = [json.loads(m.payload) for m in watcher.messages]
    raised = [(a["kind"], a["severity"]) for a in alerts if a["event"] == "raised"]
    assert len(raised) == len(set(raised)), f"an alert was raised twice: {raised}"
    assert {
        ("battery_low_soc", "warning"),
        ("battery_low_soc", "critical"),
        ("battery_low_runtime", "critical"),
    } <= set(raised)
    for alert in alerts:
        assert alert["values"]["threshold"] is not None
        assert alert["timestamp"]
    soc_warning = next(a for a in alerts if (a["kind"], a["severity"]) == ("battery_low_soc", "warning"))
    assert soc_warning["values"]["value"] <= 30.0
    assert "30.0 %" in soc_warning["message"]
    # a clean end says offline; the last list of active alerts stays retained
    assert await get_retained(broker.port, "cleanroom/drain/availability") == b"offline"
    active = json.loads(await get_retained(broker.port, "cleanroom/drain/alerts") or b"[]")
    assert "battery_low_soc" in {a["kind"] for a in active}


async def test_sim_commands_and_last_will_on_kill(broker: Mosquitto, tmp_path: Path) -> None:
    import aiomqtt

    base = "cleanroom/killed"
    async with (
        Watcher(broker.port, [f"{base}/#"]) as watcher,
        sim(tmp_path, "--speed", "20", "--duration", "7 days", "--mqtt", broker.url, "--id", "killed") as process,
    ):

        def state() -> dict[str, Any]:
            messages = watcher.on(f"{base}/state")
            return json.loads(messages[-1].payload) if messages else {}

        await watcher.wait_for(lambda: state(), timeout_s=60)
        assert watcher.on(f"{base}/availability")[-1].payload == b"online"
        assert state()["mode"] == "auto"

        async with aiomqtt.Client("127.0.0.1", broker.port) as client:
            await client.publish(f"{base}/set/mode", b"eco", qos=1)
            await watcher.wait_for(lambda: state().get("mode") == "eco", timeout_s=30)
            await client.publish(f"{base}/set/speed", b"ludicrous", qos=1)
            errors = await watcher.wait_for(lambda: watcher.on(f"{base}/error"), timeout_s=30)
        error = json.loads(errors[0].payload)
        assert "'ludicrous'" in error["message"]
        assert "percentage from 0 to 100" in error["message"]
        await watcher.wait_for(lambda: (state().get("last_command") or {}).get("command") == "speed", timeout_s=30)

        os.kill(process.pid, signal.SIGKILL)
        await process.wait()
        await watcher.wait_for(lambda: watcher.on(f"{base}/availability")[-1].payload == b"offline", timeout_s=30)
    assert await get_retained(broker.port, f"{base}/availability") == b"offline"

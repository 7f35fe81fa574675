"""A fast simulation does not flood the broker: `cleanroom sim --speed 20000` against a real Mosquitto
publishes its state once per `publish_interval` of real time, not of simulated time."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from tests.mqtt.mqtt_rig import Mosquitto, Watcher

CLEANROOM = Path(sys.executable).with_name("cleanroom")
PUBLISH_INTERVAL_S = 1.0
SIMULATED_S = 4 * 3600.0


async def test_a_fast_simulation_publishes_state_at_the_real_interval(broker: Mosquitto, tmp_path: Path) -> None:
    config = tmp_path / "cleanroom.toml"
    config.write_text(f'[mqtt]\npublish_interval = "{PUBLISH_INTERVAL_S:g} s"\n', encoding="utf-8")
    async with Watcher(broker.port, ["cleanroom/pace/state"]) as watcher:
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            str(CLEANROOM),
            "sim",
            "--config",
            str(config),
            "--id",
            "pace",
            "--speed",
            "20000",
            "--duration",
            "4 h",
            "--mqtt",
            broker.url,
            "--http",
            "none",
            "--db",
            "none",
            "--state-dir",
            str(tmp_path / "state"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(process.communicate(), 240)
        real_s = time.monotonic() - started
        assert process.returncode == 0, stderr.decode()
        await watcher.wait_for(lambda: watcher.on("cleanroom/pace/state"))
        await asyncio.sleep(0.5)
    states = [json.loads(m.payload) for m in watcher.on("cleanroom/pace/state")]
    simulated = states[-1]["monotonic_s"] - states[0]["monotonic_s"]
    assert simulated > SIMULATED_S / 2, "the run's state was published from its start to its end"
    # on simulated time this run would publish SIMULATED_S / PUBLISH_INTERVAL_S = 14,400 states; on real
    # time one per interval of the run's real duration, one at the start and the last one at the stop
    assert len(states) <= real_s / PUBLISH_INTERVAL_S + 2, (len(states), real_s)

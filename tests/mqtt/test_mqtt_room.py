"""Issue 15's regression over a real Mosquitto: the fan switched off through MQTT; `pressure_low` is
published within its delay (plus the filter's settling), and the filtered pressure falls with the raw one
instead of being held at its old level by a door that repeats forever."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import aiomqtt

from tests.mqtt.mqtt_rig import Mosquitto, Watcher
from tests.mqtt.test_mqtt_sim import broker, sim

__all__ = ["broker"]

BASE = "cleanroom/room15"
FLOOR_PA = 2.5
DELAY_S = 60.0
FILTER_S = 15.0


def at(payload: dict[str, object], key: str = "timestamp_utc") -> datetime:
    return datetime.fromisoformat(str(payload[key]))


async def test_the_fan_switched_off_through_mqtt_raises_pressure_low_and_the_pressure_falls(
    broker: Mosquitto, tmp_path: Path
) -> None:
    config = tmp_path / "cleanroom.toml"  # the state every 5 simulated seconds (publish_interval is real time)
    config.write_text('[mqtt]\npublish_interval = "0.25 s"\n', encoding="utf-8")
    async with (
        Watcher(broker.port, [f"{BASE}/state", f"{BASE}/alert", f"{BASE}/event"]) as watcher,
        sim(tmp_path, "--speed", "20", "--duration", "1 day", "--tick", "1 s", "--mode", "eco", "--config", str(config),
            "--min-pressure", f"{FLOOR_PA:g} Pa", "--mqtt", broker.url, "--id", "room15"),
    ):  # fmt: skip

        def states() -> list[dict[str, object]]:
            return [json.loads(m.payload) for m in watcher.on(f"{BASE}/state")]

        def running() -> bool:
            recent = states()[-1:] or [{}]
            pressure = recent[0].get("pressure_pa")
            return isinstance(pressure, float) and pressure > FLOOR_PA + 2.0

        await watcher.wait_for(running, timeout_s=90)
        async with aiomqtt.Client("127.0.0.1", broker.port) as client:
            await client.publish(f"{BASE}/set/speed", b"0", qos=1)

        def raised() -> list[dict[str, object]]:
            alerts = [json.loads(m.payload) for m in watcher.on(f"{BASE}/alert")]
            return [a for a in alerts if a["kind"] == "pressure_low" and a["event"] == "raised"]

        await watcher.wait_for(raised, timeout_s=90)

    off = next(s for s in states() if s["fan_command_pct"] == 0.0)
    alarm = raised()[0]
    latency_s = (at(alarm, "timestamp") - at(off)).total_seconds()
    assert 0.0 < latency_s <= DELAY_S + 3 * FILTER_S + 5.0
    after = [s for s in states() if at(s) >= at(off)]
    settled = [s for s in after if (at(s) - at(off)).total_seconds() >= 3 * FILTER_S]
    assert settled
    for state in settled:
        assert isinstance(state["pressure_pa"], float)
        assert isinstance(state["pressure_raw_pa"], float)
        assert abs(state["pressure_pa"] - state["pressure_raw_pa"]) < 2.5
        assert state["pressure_pa"] < FLOOR_PA
        assert state["pressure_hold"] is None
        assert state["room_condition"] == "fan_off"
    doors = [json.loads(m.payload) for m in watcher.on(f"{BASE}/event")]
    assert not [e for e in doors if e.get("kind") == "door_open"]

"""`cleanroom run` as a user starts it, on the real drivers, against devices that speak their wire protocols
(VE.Direct bytes on a pseudo-terminal, a Modbus TCP pressure transmitter and a Modbus TCP fan, pymodbus
servers), with the sinks a test asks for; the daemon's own log gives the loop's timing at the stop."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from drivers.fakes.modbus import ModbusFake
from drivers.fakes.vedirect import VEDirectFake, constant
from tests.control.test_run_real_drivers import get_json
from tests.eventually import eventually
from tests.mqtt.mqtt_rig import free_port

CLEANROOM = Path(sys.executable).with_name("cleanroom")
REPO = Path(__file__).resolve().parents[2]
TICK_S = 0.2
SAFE_SPEED_REGISTER = 6600
"""The Waveshare AO8 preset writes per-mille-of-10 V steps: 66 % is 6600 in holding register 0."""
EXIT_FORCED = 70
_TIMING = re.compile(r"loop timing: (\d+) periods, p50 (\d+) ms, p99 (\d+) ms, longest (\d+) ms \(tick (\d+) ms\)")

CONFIG = """
[controller]
id = "room-1"
tick = "{tick} s"
[fan]
safe_speed = "66 %"
[control]
mode = "auto"
[alerts]
sensor_stale_delay = "2 s"
[history]
sample_interval = "1 s"
batch_interval = "2 s"
timeout = "2 s"
retry_interval = "1 s"
[devices.shunt]
driver = "vedirect"
port = "{shunt_port}"
stale_after = "1 s"
[devices.pressure]
driver = "modbus"
preset = "generic-rs485"
transport = "tcp"
host = "127.0.0.1"
tcp_port = {pressure_port}
[devices.fan]
driver = "modbus"
preset = "waveshare-ao8"
transport = "tcp"
host = "127.0.0.1"
tcp_port = {fan_port}
timeout = "0.5 s"
"""


@dataclass(frozen=True, slots=True)
class Timing:
    """The loop's timing, as the daemon logged it when it stopped."""

    periods: int
    p50_ms: int
    p99_ms: int
    longest_ms: int
    tick_ms: int

    @property
    def p99_late_ms(self) -> int:
        """How much later than its tick the 99th-percentile period was."""
        return self.p99_ms - self.tick_ms


@dataclass
class Run:
    """A running daemon and its devices."""

    process: asyncio.subprocess.Process
    http_port: int
    state_dir: Path
    shunt: VEDirectFake
    pressure: ModbusFake
    fan: ModbusFake
    metronome: asyncio.subprocess.Process
    stderr: str = ""
    code: int | None = None

    def get(self, path: str) -> dict[str, object] | None:
        return get_json(self.http_port, path)

    async def alert_kinds(self) -> set[str]:
        alerts = await asyncio.to_thread(self.get, "/api/alerts")
        return {str(a["kind"]) for a in alerts["alerts"]} if alerts and isinstance(alerts["alerts"], list) else set()

    async def monotonic_s(self) -> float:
        state = await asyncio.to_thread(self.get, "/api/state")
        return float(str(state["monotonic_s"])) if state else -1.0

    async def ticks_for(self, seconds: float) -> None:
        """Wait until the loop's own clock has moved on by `seconds` (the loop is alive and ticking)."""
        first = await eventually(self.monotonic_s, timeout_s=60, what="a state")
        await eventually(
            lambda: self._beyond(first + seconds), timeout_s=60 + seconds, what=f"the loop ticking {seconds:g} s"
        )

    async def _beyond(self, target: float) -> bool:
        return await self.monotonic_s() >= target

    async def stop(self) -> tuple[Timing, Timing]:
        """SIGTERM to the daemon and the metronome; the daemon's exit status and log, and both loops' timing
        (the daemon's from its log)."""
        self.process.send_signal(signal.SIGTERM)
        self.metronome.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(self.process.communicate(), 60)
        beside, _ = await asyncio.wait_for(self.metronome.communicate(), 60)
        self.stderr, self.code = stderr.decode(), self.process.returncode
        return _timing(self.stderr), _timing(beside.decode())


def _timing(log: str) -> Timing:
    found = _TIMING.search(log)
    assert found is not None, log[-3000:]
    return Timing(*(int(group) for group in found.groups()))


@asynccontextmanager
async def running_daemon(tmp_path: Path, *args: str) -> AsyncIterator[Run]:
    """The daemon on the three fakes with the web API on a free port and `args` (e.g. --db, --mqtt)."""
    shunt = VEDirectFake(constant(voltage_v=13.1, current_a=-0.8, soc_pct=72.0), interval_s=0.2)
    pressure = ModbusFake(transport="tcp", holding={2: 2, 3: 1, 4: 85})
    fan = ModbusFake(transport="tcp")
    for fake in (shunt, pressure, fan):
        await fake.start()
    config = tmp_path / "cleanroom.toml"
    config.write_text(
        CONFIG.format(tick=TICK_S, shunt_port=shunt.port, pressure_port=pressure.tcp_port, fan_port=fan.tcp_port),
        encoding="utf-8",
    )
    http_port = free_port()
    state_dir = tmp_path / "state"
    process = await asyncio.create_subprocess_exec(
        str(CLEANROOM), "run", "--config", str(config), "--http", f"127.0.0.1:{http_port}",
        "--state-dir", str(state_dir), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    metronome = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.faults.metronome", str(TICK_S), cwd=REPO, stdout=asyncio.subprocess.PIPE
    )
    run = Run(process, http_port, state_dir, shunt, pressure, fan, metronome)
    try:
        await eventually(lambda: fan.writes, timeout_s=90, what="the first fan command")
        yield run
    finally:
        for child in (process, metronome):
            if child.returncode is None:
                child.kill()
                await child.wait()
        for fake in (shunt, pressure, fan):
            await fake.close()

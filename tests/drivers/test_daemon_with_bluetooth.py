"""`cleanroom run --config` with a `solix` battery: the power station is played from its replay file at
the bleak seam (SolixBLE negotiates and decrypts for real); the API shows its state of charge."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import httpx
import pytest

from drivers.fakes.modbus import ModbusFake
from drivers.fakes.sysfs_pwm import PwmSysfsFake
from tests.drivers.helpers import example_config_without_devices
from tests.drivers.test_daemon_with_real_drivers import _free_port
from tests.eventually import eventually

STATION = Path(__file__).resolve().parents[1] / "fixtures" / "ble" / "solix-c1000.json"
RECORDED_SOC = {79.0, 23.0, 26.0}


def _config(tmp_path: Path, pressure: ModbusFake, sysfs: PwmSysfsFake) -> Path:
    text = example_config_without_devices(tmp_path / "state")
    text += f"""

[devices.shunt]
driver = "solix"
replay = "{STATION}"

[devices.pressure]
driver = "modbus"
preset = "generic-rs485"
transport = "tcp"
host = "{pressure.host}"
tcp_port = {pressure.tcp_port}

[devices.fan]
driver = "pwm"
chip = "1f00098000.pwm"
channel = 0
sysfs_root = "{sysfs.root}"
"""
    path = tmp_path / "cleanroom.toml"
    path.write_text(text)
    return path


async def test_the_daemon_runs_on_a_solix_power_station(tmp_path: Path) -> None:
    pressure = ModbusFake(transport="tcp", holding={2: 2, 3: 1, 4: 52})
    sysfs = PwmSysfsFake(tmp_path / "sys" / "class" / "pwm")
    for fake in (pressure, sysfs):
        await fake.start()
    port = _free_port()
    command = ["-m", "controller", "run", "--config", str(_config(tmp_path, pressure, sysfs)), "--db", "none"]
    process = await asyncio.create_subprocess_exec(
        sys.executable, *command, "--mqtt", "none", "--http", f"127.0.0.1:{port}",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    state: dict[str, object] = {}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

            async def station_read_or_exit() -> bool:
                if process.returncode is not None:
                    return True
                try:
                    response = await client.get("/api/state")
                except httpx.HTTPError:
                    return False
                if response.status_code == 200:
                    state.update(response.json())
                return state.get("soc_pct") in RECORDED_SOC

            await eventually(station_read_or_exit, timeout_s=90, interval_s=0.3, what=lambda: f"state: {state}")
        assert process.returncode is None, "the daemon exited"
        assert state["soc_pct"] in RECORDED_SOC
        assert state["voltage_v"] is None
        assert state["pressure_pa"] == pytest.approx(5.2)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), timeout=60)
        for fake in (pressure, sysfs):
            await fake.close()
    assert "Traceback" not in err.decode(), err.decode()[-3000:]

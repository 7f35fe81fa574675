"""`cleanroom run` with the real drivers talking to the fakes over their wire protocols: VE.Direct bytes
on a pty, a pymodbus TCP pressure transmitter and a sysfs PWM folder; the API shows what they say."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest

from drivers.fakes.modbus import ModbusFake
from drivers.fakes.sysfs_pwm import PwmSysfsFake
from drivers.fakes.vedirect import VEDirectFake, constant
from tests.drivers.helpers import example_config_without_devices
from tests.eventually import eventually


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(tmp_path: Path, shunt_port: str, pressure: ModbusFake, sysfs: PwmSysfsFake) -> Path:
    text = example_config_without_devices(tmp_path / "state")
    text += f"""

[devices.shunt]
driver = "vedirect"
port = "{shunt_port}"

[devices.pressure]
driver = "modbus"
preset = "generic-rs485"
transport = "tcp"
host = "{pressure.host}"
tcp_port = {pressure.tcp_port}
poll_interval = "0.2 s"

[devices.fan]
driver = "pwm"
chip = "1f00098000.pwm"
channel = 0
sysfs_root = "{sysfs.root}"
tach = "{sysfs.tach_path}"
"""
    path = tmp_path / "cleanroom.toml"
    path.write_text(text)
    return path


async def test_the_daemon_runs_on_the_real_drivers(tmp_path: Path) -> None:
    shunt = VEDirectFake(constant(13.2, -4.0, 87.5), interval_s=0.1, link=tmp_path / "usb-VictronEnergy-if00")
    pressure = ModbusFake(transport="tcp", holding={2: 2, 3: 1, 4: 52})  # Pa, one decimal: 5.2 Pa
    sysfs = PwmSysfsFake(tmp_path / "sys" / "class" / "pwm")
    for fake in (shunt, pressure, sysfs):
        await fake.start()
    config = _config(tmp_path, shunt.port, pressure, sysfs)
    port = _free_port()
    command = ["-m", "controller", "run", "--config", str(config), "--db", "none", "--mqtt", "none"]
    process = await asyncio.create_subprocess_exec(
        sys.executable, *command, "--http", f"127.0.0.1:{port}", stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    state: dict[str, object] = {}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

            async def fetch() -> None:
                try:
                    response = await client.get("/api/state")
                except httpx.HTTPError:
                    return
                if response.status_code == 200:
                    state.update(response.json())

            async def first_readings_or_exit() -> bool:
                if process.returncode is None:
                    await fetch()
                return process.returncode is not None or (
                    state.get("voltage_v") == pytest.approx(13.2) and bool(state.get("pressure_pa"))
                )

            await eventually(
                first_readings_or_exit,
                timeout_s=90,
                interval_s=0.2,
                what=lambda: f"the daemon's first readings over HTTP (state: {state})",
            )
        assert process.returncode is None, "the daemon exited"
        assert state["voltage_v"] == pytest.approx(13.2)
        assert state["current_a"] == pytest.approx(-4.0)
        assert state["soc_pct"] is not None
        assert state["pressure_pa"] == pytest.approx(5.2)
        await eventually(lambda: sysfs.channel(0).exists() and sysfs.read(0, "enable") == "1", what="fan enabled")
        assert sysfs.read(0, "period") == "40000"
        assert sysfs.violations == []
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), timeout=60)
        for fake in (shunt, pressure, sysfs):
            await fake.close()
    assert "Traceback" not in err.decode(), err.decode()[-3000:]

"""`cleanroom run` as a user starts it, on the real drivers, against devices that speak the real wire
protocols: VE.Direct bytes on a pseudo-terminal, a Modbus TCP pressure transmitter (pymodbus server),
and a sysfs-shaped PWM folder. SIGTERM must leave the fan at the safe speed."""

from __future__ import annotations

import asyncio
import json
import math
import signal
import socket
import sys
import urllib.request
from pathlib import Path

from drivers.fakes.modbus import ModbusFake
from drivers.fakes.sysfs_pwm import PwmSysfsFake
from drivers.fakes.vedirect import VEDirectFake, constant
from drivers.vedirect.encoder import battery_monitor_blocks

CLEANROOM = Path(sys.executable).with_name("cleanroom")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get_json(port: int, path: str) -> dict[str, object] | None:
    """A JSON object from the daemon's API, or None while it does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
            data = json.loads(response.read())
    except OSError:
        return None
    return data if isinstance(data, dict) else None


def get_state(port: int) -> dict[str, object] | None:
    return get_json(port, "/api/state")


def _write_config(tmp_path: Path, shunt: VEDirectFake, pressure: ModbusFake, pwm: PwmSysfsFake) -> Path:
    """A configuration whose [devices] are the three fakes."""
    config = tmp_path / "cleanroom.toml"
    config.write_text(
        f"""
[controller]
id = "room-1"
[fan]
safe_speed = "66 %"
[control]
mode = "auto"
deadline = "3 days"
[devices.shunt]
driver = "vedirect"
port = "{shunt.port}"
[devices.pressure]
driver = "modbus"
preset = "generic-rs485"
transport = "tcp"
host = "127.0.0.1"
tcp_port = {pressure.tcp_port}
[devices.fan]
driver = "pwm"
channel = 0
sysfs_root = "{pwm.root}"
""",
        encoding="utf-8",
    )
    return config


async def _start_daemon(config: Path, http_port: int, state_dir: Path) -> asyncio.subprocess.Process:
    """`cleanroom run` with the web API on `http_port`, no database and no MQTT."""
    return await asyncio.create_subprocess_exec(
        str(CLEANROOM),
        "run",
        "--config",
        str(config),
        "--http",
        f"127.0.0.1:{http_port}",
        "--db",
        "none",
        "--mqtt",
        "none",
        "--state-dir",
        str(state_dir),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_run_drives_real_drivers_and_stops_at_the_safe_speed(tmp_path: Path) -> None:
    shunt = VEDirectFake(constant(voltage_v=13.1, current_a=-0.8, soc_pct=72.0), interval_s=0.2)
    pressure = ModbusFake(transport="tcp", holding={2: 2, 3: 1, 4: 85})
    pwm = PwmSysfsFake(tmp_path / "sys" / "class" / "pwm")
    await shunt.start()
    await pressure.start()
    await pwm.start()
    http_port = free_port()
    config = _write_config(tmp_path, shunt, pressure, pwm)
    process = await _start_daemon(config, http_port, tmp_path / "state")
    try:
        state = None
        for _ in range(300):
            state = await asyncio.to_thread(get_state, http_port)
            if state and state.get("soc_pct") is not None and state.get("pressure_raw_pa") is not None:
                break
            await asyncio.sleep(0.1)
        assert state is not None, "the daemon never answered on /api/state"
        assert state["controller_id"] == "room-1"
        assert state["soc_pct"] == 72.0
        assert state["voltage_v"] == 13.1
        assert state["pressure_raw_pa"] == 8.5
        assert state["shunt_status"] == "ok"
        assert state["mode"] == "auto"
        duty = int(pwm.read(0, "duty_cycle"))
        period = int(pwm.read(0, "period"))
        assert period == 40_000
        assert pwm.read(0, "enable") == "1"
        assert 0 < duty <= period
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, stderr.decode()
        assert "stopping: fan to the safe speed 66 %" in stderr.decode()
        assert int(pwm.read(0, "duty_cycle")) == round(0.66 * 40_000)
        saved = json.loads((tmp_path / "state" / "battery.json").read_text())
        assert saved["soc_pct"] == 72.0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await shunt.close()
        await pressure.close()
        await pwm.close()


async def test_the_monitors_infinite_and_unknown_time_to_go_stay_distinct_in_the_api(tmp_path: Path) -> None:
    """TTG -1 (infinite: not discharging) and `---` (unknown) through the real VE.Direct driver and daemon."""
    said: list[float | None] = [math.inf]
    shunt = VEDirectFake(
        lambda: battery_monitor_blocks(
            voltage_v=13.1, current_a=-0.8, soc_pct=72.0, consumed_ah=-12.5, time_to_go_min=said[0]
        ),
        interval_s=0.2,
    )
    pressure = ModbusFake(transport="tcp", holding={2: 2, 3: 1, 4: 85})
    pwm = PwmSysfsFake(tmp_path / "sys" / "class" / "pwm")
    for fake in (shunt, pressure, pwm):
        await fake.start()
    http_port = free_port()
    process = await _start_daemon(_write_config(tmp_path, shunt, pressure, pwm), http_port, tmp_path / "state")

    async def shown(kind: str) -> dict[str, object]:
        state: dict[str, object] | None = None
        for _ in range(300):
            state = await asyncio.to_thread(get_state, http_port)
            if state and state.get("shunt_time_to_go") == kind:
                return state
            await asyncio.sleep(0.1)
        raise AssertionError(f"the API never said {kind}: {state and state.get('shunt_time_to_go')}")

    try:
        assert (await shown("infinite"))["shunt_time_to_go_s"] is None
        said[0] = None
        assert (await shown("unknown"))["shunt_time_to_go_s"] is None
        said[0] = 600.0
        assert (await shown("finite"))["shunt_time_to_go_s"] == 36000.0
    finally:
        process.kill()
        await process.wait()
        for fake in (shunt, pressure, pwm):
            await fake.close()

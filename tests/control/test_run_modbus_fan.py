"""`cleanroom run` with a Modbus TCP fan (a pymodbus server): SIGTERM leaves the fan at the safe speed; a
fan that stops answering neither holds up the loop nor keeps the process from stopping cleanly."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from drivers.fakes.modbus import ModbusFake
from drivers.fakes.vedirect import VEDirectFake, constant
from tests.control.test_run_real_drivers import _start_daemon, free_port, get_state
from tests.eventually import eventually

FORCED_EXIT = 70
"""controller.service.EXIT_FORCED: the last-resort exit, which a clean stop never reaches."""


def _write_config(tmp_path: Path, shunt: VEDirectFake, pressure: ModbusFake, fan: ModbusFake) -> Path:
    config = tmp_path / "cleanroom.toml"
    config.write_text(
        f"""
[controller]
id = "room-1"
tick = "0.2 s"
[fan]
safe_speed = "66 %"
[control]
mode = "auto"
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
driver = "modbus"
preset = "waveshare-ao8"
transport = "tcp"
host = "127.0.0.1"
tcp_port = {fan.tcp_port}
timeout = "0.5 s"
""",
        encoding="utf-8",
    )
    return config


async def _run_until_answering(tmp_path: Path, hang_fan: bool) -> tuple[int | None, str, ModbusFake]:
    shunt = VEDirectFake(constant(voltage_v=13.1, current_a=-0.8, soc_pct=72.0), interval_s=0.2)
    pressure = ModbusFake(transport="tcp", holding={2: 2, 3: 1, 4: 85})
    fan = ModbusFake(transport="tcp")
    for fake in (shunt, pressure, fan):
        await fake.start()
    http_port = free_port()
    process = await _start_daemon(_write_config(tmp_path, shunt, pressure, fan), http_port, tmp_path / "state")
    try:
        await eventually(lambda: fan.writes, timeout_s=90, what="the first fan command")
        if hang_fan:
            fan.no_answer = 10**9
        first = await asyncio.to_thread(get_state, http_port)
        assert first is not None
        ticked = {"state": first}

        async def ticks_go_on() -> bool:
            state = await asyncio.to_thread(get_state, http_port)
            ticked["state"] = state or ticked["state"]
            return state is not None and float(str(state["monotonic_s"])) >= float(str(first["monotonic_s"])) + 3.0

        await eventually(ticks_go_on, timeout_s=60, what="the loop ticking while the fan hangs")
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
        return process.returncode, stderr.decode(), fan
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        for fake in (shunt, pressure, fan):
            await fake.close()


async def test_sigterm_sets_the_modbus_fan_to_the_safe_speed(tmp_path: Path) -> None:
    code, stderr, fan = await _run_until_answering(tmp_path, hang_fan=False)
    assert code == 0, stderr
    assert fan.registers["holding"][0] == 6600
    assert "Traceback" not in stderr


async def test_a_hung_modbus_fan_neither_stalls_the_loop_nor_blocks_the_stop(tmp_path: Path) -> None:
    code, stderr, _fan = await _run_until_answering(tmp_path, hang_fan=True)
    assert code == 0, stderr
    assert code != FORCED_EXIT
    assert "stopping: fan to the safe speed 66 %" in stderr
    assert "Traceback" not in stderr

"""`cleanroom calibrate` on the real drivers, against devices that speak the real wire protocols: a
SmartShunt's VE.Direct bytes on a pseudo-terminal, a Modbus TCP pressure transmitter (pymodbus server) and
a sysfs PWM fan with a tachometer. The test closes the loop with a little physics: the shunt reports the
battery current of the baseline plus the fan's draw at the duty the driver wrote, and the transmitter the
pressure that the fan's flow holds in a room with Q = C * dP^n."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from controller.models.fan import load_curve_csv
from drivers.fakes.modbus import ModbusFake
from drivers.fakes.sysfs_pwm import PwmSysfsFake
from drivers.fakes.vedirect import VEDirectFake
from drivers.runtime import cancel_and_wait
from drivers.vedirect.encoder import battery_monitor_blocks

CLEANROOM = Path(sys.executable).with_name("cleanroom")
FAN_CSV = "setting,watts,cfm\n20%,1.0,40\n50%,3.0,100\n80%,8.0,160\n100%,13.0,200\n"
BASELINE_W = 0.85
VOLTAGE_V = 13.0
ROOM_C, ROOM_N = 25.0, 0.62


@dataclass
class Bench:
    shunt: VEDirectFake
    pressure: ModbusFake
    pwm: PwmSysfsFake
    config: Path


def _write_config(tmp_path: Path, shunt: VEDirectFake, pressure: ModbusFake, pwm: PwmSysfsFake) -> Path:
    """The fan curve and a configuration whose [devices] are the three fakes."""
    (tmp_path / "fan.csv").write_text(FAN_CSV)
    config = tmp_path / "cleanroom.toml"
    config.write_text(
        f"""
[fan]
curve = "fan.csv"
safe_speed = "60 %"
[control]
stale_after = "1 s"
[devices.shunt]
driver = "vedirect"
port = "{shunt.port}"
[devices.pressure]
driver = "modbus"
preset = "generic-rs485"
transport = "tcp"
host = "127.0.0.1"
tcp_port = {pressure.tcp_port}
poll_interval = "0.1 s"
[devices.fan]
driver = "pwm"
channel = 0
sysfs_root = "{pwm.root}"
tach = "{pwm.tach_path}"
""",
        encoding="utf-8",
    )
    return config


@contextlib.asynccontextmanager
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    curve = load_curve_csv(FAN_CSV, "fan.csv")
    pwm = PwmSysfsFake(tmp_path / "sys" / "class" / "pwm")

    def fan_w() -> float:
        return curve.power_w(pwm.duty_pct(0))

    def blocks() -> list[bytes]:
        return battery_monitor_blocks(
            voltage_v=VOLTAGE_V, current_a=-(BASELINE_W + fan_w()) / VOLTAGE_V, soc_pct=80.0, consumed_ah=-20.0
        )

    shunt = VEDirectFake(blocks, interval_s=0.05)
    pressure = ModbusFake(transport="tcp", holding={2: 2, 3: 2, 4: 0})

    async def room() -> None:
        while True:
            flow = curve.flow_cfm(pwm.duty_pct(0))
            pa = (flow / ROOM_C) ** (1.0 / ROOM_N) if flow > 0 else 0.0
            pressure.set("holding", 4, [round(pa * 100)])
            await asyncio.sleep(0.02)

    await shunt.start()
    await pressure.start()
    await pwm.start()
    config = _write_config(tmp_path, shunt, pressure, pwm)
    physics = asyncio.create_task(room())
    try:
        yield Bench(shunt, pressure, pwm, config)
    finally:
        await cancel_and_wait(physics)
        await shunt.close()
        await pressure.close()
        await pwm.close()


FAST = [
    "--steps", "4", "--sample-interval", "0.1 s", "--settle-window", "1 s", "--settle-timeout", "10 s",
    "--measure-min", "2.5 s", "--measure-max", "3 s", "--min-fit-pressure", "1 Pa",
]  # fmt: skip


@pytest.mark.timeout(900)
async def test_calibrate_on_real_drivers(tmp_path: Path) -> None:
    async with bench(tmp_path) as b:
        output = tmp_path / "calibration.json"
        log = tmp_path / "calibrate.log"
        with log.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                str(CLEANROOM), "calibrate", "--config", str(b.config), *FAST, "--json", "--output", str(output),
                stdout=asyncio.subprocess.PIPE, stderr=stderr,
            )  # fmt: skip
            try:
                # about 20 s here; a hang guard, not a time limit (a loaded CI machine once took over 120 s)
                out, _ = await asyncio.wait_for(process.communicate(), 600)
            except TimeoutError:
                process.kill()
                await process.wait()
                pytest.fail(f"calibrate did not finish in 600 s; its log:\n{log.read_text()}")
        assert process.returncode == 0, log.read_text()
        result = json.loads(out)
        assert b.pwm.violations == []
        # Left at the safe speed for the service to take over.
        assert b.pwm.duty_pct(0) == pytest.approx(60.0, abs=0.1)
    curve = load_curve_csv(FAN_CSV, "fan.csv")
    assert result["baseline_w"] == pytest.approx(BASELINE_W, abs=0.02)
    assert [f["command"] for f in result["fan"]] == [20.0, 46.667, 73.333, 100.0]
    # 5 %: this rig recomputes the VE.Direct blocks from the PWM files on a polling loop, so on a loaded
    # machine a few readings of a step still carry the previous step's draw. The accuracy of the method
    # itself is shown against the simulator (tests/calibration/test_session_sim.py).
    for step in result["fan"]:
        assert step["power_w"] == pytest.approx(curve.power_w(step["command"]), rel=0.05, abs=0.02)
        # The driver reads the tachometer once a second, so every step has readings taken after its command.
        # (Not compared exactly: the sysfs fake, in this process, can publish 0 rpm when it reads the
        # `enable` file while the driver in the other process is rewriting it.)
        assert step["rpm"] is not None
        assert 0.0 <= step["rpm"] <= step["command"] / 100 * 3000 * 1.02
    assert result["room"]["c"] == pytest.approx(ROOM_C, rel=0.05)
    assert result["room"]["n"] == pytest.approx(ROOM_N, rel=0.05)


async def test_pressure_sensor_lost_mid_sweep_leaves_the_fan_safe(tmp_path: Path) -> None:
    async with bench(tmp_path) as b:
        output = tmp_path / "calibration.json"
        process = await asyncio.create_subprocess_exec(
            str(CLEANROOM), "calibrate", "--config", str(b.config), *FAST, "--output", str(output),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert process.stderr is not None
        seen = b""
        while b"step 2 of 4" not in seen:
            line = await asyncio.wait_for(process.stderr.readline(), 60)
            assert line, seen.decode()
            seen += line
        await b.pressure.close()
        _, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 3, (seen + err).decode()
        assert "calibration aborted: the pressure sensor" in err.decode()
        assert "the fan is at the safe speed (60 %)" in err.decode()
        assert b.pwm.duty_pct(0) == pytest.approx(60.0, abs=0.1)
        saved = json.loads((tmp_path / "calibration.partial.json").read_text())
        assert len(saved["steps"]) == 1
        assert not output.exists()

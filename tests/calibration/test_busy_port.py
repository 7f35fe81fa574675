"""`cleanroom calibrate` on a battery monitor whose port another program holds (the running service):
it ends after its first-reading wait (30 s) with exit 2, saying why each device gave nothing, and the
fan was never touched; the service, by contrast, keeps retrying."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import serial

from drivers.fakes.vedirect import VEDirectFake, constant


async def test_a_held_port_ends_calibrate_with_the_reason(tmp_path: Path) -> None:
    fake = VEDirectFake(constant(13.25, -3.5, 91.0), interval_s=0.05, link=tmp_path / "usb-Victron")
    await fake.start()
    holder = serial.serial_for_url(fake.port, baudrate=19200, timeout=0, exclusive=True)
    config = tmp_path / "cleanroom.toml"
    config.write_text(
        f'[controller]\nstate_dir = "{tmp_path / "state"}"\n'
        f'[devices.shunt]\ndriver = "vedirect"\nport = "{fake.port}"\n'
        f'[devices.pressure]\ndriver = "sdp"\nbus = 99\n'
        f'[devices.fan]\ndriver = "pwm"\nchip = "3f20c000.pwm"\nsysfs_root = "{tmp_path / "no-pwm"}"\n',
        encoding="utf-8",
    )
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "controller", "--log-level", "ERROR", "calibrate", "--config", str(config),
            "--quiet", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), 120)
    finally:
        holder.close()
        await fake.close()
    assert process.returncode == 2
    assert out == b""
    last = err.decode().strip().splitlines()[-1]
    assert last.startswith("cleanroom calibrate: calibration not started: no reading from the battery monitor")
    assert f"battery monitor: {fake.port} is in use by another program (the cleanroom service?" in last
    assert "pressure sensor: cannot open /dev/i2c-99" in last
    assert not (tmp_path / "state" / "calibration.json").exists()

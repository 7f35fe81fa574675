"""`cleanroom probe` end to end: the real CLI process against the fakes, and its wiring hints."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from drivers.fakes.modbus import ModbusFake
from drivers.fakes.sysfs_pwm import PwmSysfsFake
from drivers.fakes.vedirect import VEDirectFake, constant
from drivers.modbus.presets import SHUNT_PRESETS
from tests.drivers.helpers import BMV700, SMARTSHUNT

SHUNT_KEYS = {"voltage_v", "current_a", "power_w", "soc_pct", "consumed_ah", "time_to_go_min"}


async def _probe(*args: str) -> tuple[int, dict[str, object], str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "controller",
        "probe",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    text = out.decode()
    return process.returncode, json.loads(text) if "--json" in args and text.strip() else {}, err.decode() + text


@pytest.mark.parametrize(
    ("capture", "voltage", "product"), [(BMV700, 12.065, "BMV-700"), (SMARTSHUNT, 12.865, "SmartShunt 500A/50mV")]
)
def test_probe_replays_a_capture_file(capture: Path, voltage: float, product: str) -> None:
    command = [sys.executable, "-m", "controller", "probe", "shunt", "--driver", "vedirect"]
    result = subprocess.run(
        [*command, "--port", str(capture), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(result.stdout)
    assert set(data) >= SHUNT_KEYS
    assert data["voltage_v"] == pytest.approx(voltage)
    assert data["product"] == product
    assert data["ok"] is True


async def test_probe_reads_a_vedirect_monitor_on_a_pty(tmp_path: Path) -> None:
    fake = VEDirectFake(constant(13.25, -3.5, 91.0), interval_s=0.05, link=tmp_path / "usb-Victron")
    await fake.start()
    try:
        # the default 3 s wait starts before a loaded machine has even imported the CLI: not this test's concern
        code, data, output = await _probe(
            "shunt", "--driver", "vedirect", "--port", fake.port, "--json", "--timeout", "30 s"
        )
    finally:
        await fake.close()
    assert code == 0, output
    assert data["voltage_v"] == pytest.approx(13.25)
    assert data["current_a"] == pytest.approx(-3.5)
    assert data["soc_pct"] == pytest.approx(91.0)
    assert data["consumed_ah"] == pytest.approx(-12.5)
    assert data["time_to_go_min"] == 600


async def test_probe_explains_a_missing_port(tmp_path: Path) -> None:
    port = str(tmp_path / "ttyUSB7")
    code, data, _ = await _probe("shunt", "--driver", "vedirect", "--port", port, "--timeout", "0.5 s", "--json")
    assert code == 1
    assert all(data[k] is None for k in SHUNT_KEYS)
    assert "check that the adapter is plugged in" in str(data["problem"])


async def test_probe_explains_a_silent_line_and_a_wrong_baud_rate(tmp_path: Path) -> None:
    silent = VEDirectFake(lambda: [], interval_s=0.05, link=tmp_path / "silent")
    noisy = VEDirectFake(lambda: [], interval_s=0.01, link=tmp_path / "noisy", seed=4)
    await silent.start()
    await noisy.start()

    async def noise() -> None:
        while True:
            noisy.inject_garbage(b"\r\nV\t1\x93\x80\r\n")
            await asyncio.sleep(0.02)

    task = asyncio.create_task(noise())
    try:
        (code1, data1, _), (code2, data2, _) = await asyncio.gather(
            _probe("shunt", "--driver", "vedirect", "--port", silent.port, "--timeout", "1 s", "--json"),
            _probe("shunt", "--driver", "vedirect", "--port", noisy.port, "--timeout", "1 s", "--json"),
        )
    finally:
        task.cancel()
        await silent.close()
        await noisy.close()
    assert code1 == 1
    assert "no bytes" in str(data1["problem"])
    assert "powered" in str(data1["problem"])
    assert code2 == 1
    assert "check the baud rate" in str(data2["problem"])


async def test_probe_reads_a_modbus_shunt_and_pressure_transmitter(tmp_path: Path) -> None:
    shunt_map, _ = SHUNT_PRESETS["pzem-017"]()
    shunt_fake = ModbusFake(transport="rtu", link=tmp_path / "usb-rs485")
    shunt_fake.set_shunt(shunt_map, {"voltage_v": 12.5, "current_a": 6.25, "power_w": 78.1})
    pressure_fake = ModbusFake(transport="tcp", holding={2: 2, 3: 1, 4: 42})
    await shunt_fake.start()
    await pressure_fake.start()
    try:
        (c1, shunt, _), (c2, pressure, _) = await asyncio.gather(
            _probe(
                "shunt",
                "--driver",
                "modbus",
                "--preset",
                "pzem-017",
                "--port",
                shunt_fake.port,
                "--json",
                "--timeout",
                "30 s",
            ),
            _probe(
                "pressure",
                "--timeout",
                "30 s",
                "--driver",
                "modbus",
                "--preset",
                "generic-rs485",
                "--host",
                pressure_fake.host,
                "--tcp-port",
                str(pressure_fake.tcp_port),
                "--json",
            ),
        )
        # one master at a time on an RS485 bus: the wrong-id probe runs after the first one finished
        c3, silent, _ = await _probe(
            "shunt", "--driver", "modbus", "--preset", "pzem-017", "--port", shunt_fake.port,
            "--device-id", "9", "--timeout", "0.2 s", "--json",
        )  # fmt: skip
    finally:
        await shunt_fake.close()
        await pressure_fake.close()
    assert c1 == 0, shunt
    assert shunt["voltage_v"] == pytest.approx(12.5)
    assert shunt["power_w"] == pytest.approx(78.1)
    assert shunt["soc_pct"] is None
    assert c2 == 0, pressure
    assert pressure["pressure_pa"] == pytest.approx(4.2)
    assert c3 == 1
    assert "no answer from device 9" in str(silent["problem"])
    assert "baud rate" in str(silent["problem"])


async def test_probe_sets_a_pwm_fan_and_reads_it_back(tmp_path: Path) -> None:
    sysfs = PwmSysfsFake(tmp_path / "class" / "pwm")
    await sysfs.start()
    try:
        code, data, _ = await _probe(
            "fan", "--driver", "pwm", "--sysfs-root", str(sysfs.root), "--tach", str(sysfs.tach_path),
            "--set", "60", "--json", "--timeout", "30 s",
        )  # fmt: skip
    finally:
        await sysfs.close()
    assert code == 0, data
    assert data["command_pct"] == 60
    assert sysfs.read(0, "duty_cycle") == "24000"
    assert isinstance(data["rpm"], int | float)


def test_probe_config_file_and_bad_flags(tmp_path: Path) -> None:
    config = tmp_path / "cleanroom.toml"
    config.write_text(f'[devices.shunt]\ndriver = "vedirect"\nport = "{SMARTSHUNT}"\n')
    result = subprocess.run(
        [sys.executable, "-m", "controller", "probe", "shunt", "--config", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert "12.865" in result.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "controller", "probe", "fan", "--driver", "pwm", "--set", "150"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert "--set" in bad.stderr
    assert "between 0 and 100" in bad.stderr

"""What `cleanroom probe` says when it cannot start: which drivers exist when --driver is missing, and a
port another program holds (the running service) ends the probe within its timeout, naming the holder."""

from __future__ import annotations

from pathlib import Path

import pytest
import serial

from controller.config.devices import FAN_DRIVERS, PRESSURE_DRIVERS, SHUNT_DRIVERS
from drivers.fakes.vedirect import VEDirectFake, constant
from tests.drivers.test_probe_cli import _probe


@pytest.mark.parametrize(
    ("role", "drivers"), [("shunt", SHUNT_DRIVERS), ("pressure", PRESSURE_DRIVERS), ("fan", FAN_DRIVERS)]
)
async def test_without_a_driver_it_lists_the_drivers(role: str, drivers: tuple[str, ...]) -> None:
    code, data, err = await _probe(role)
    assert code == 2
    assert data == {}
    real = [name for name in drivers if name != "simulated"]
    assert err.strip() == (
        f"cleanroom probe: command line: --driver = (missing): expected the {role}'s driver: "
        + ", ".join(f"--driver {name}" for name in real)
        + " (or --config with [devices])"
    )


async def test_a_port_held_by_another_program_ends_within_the_timeout(tmp_path: Path) -> None:
    fake = VEDirectFake(constant(13.25, -3.5, 91.0), interval_s=0.05, link=tmp_path / "usb-Victron")
    await fake.start()
    holder = serial.serial_for_url(fake.port, baudrate=19200, timeout=0, exclusive=True)
    try:
        code, data, _ = await _probe("shunt", "--driver", "vedirect", "--port", fake.port, "--timeout", "1 s", "--json")
    finally:
        holder.close()
        await fake.close()
    assert code == 1
    assert data["ok"] is False
    assert data["voltage_v"] is None
    assert "is in use by another program (the cleanroom service?" in str(data["problem"])

"""The hardware of the container test, on the wire: a PZEM-017 battery monitor, an RS485 pressure transmitter
and a Waveshare 0-10 V output driving the fan, each a pymodbus TCP server (drivers/fakes) on 127.0.0.1.

Runs inside the container from the installed virtual environment (it ships drivers.fakes), as its own
systemd unit, so that it outlives restarts of cleanroom.service. Every value the controller writes to the
fan's output register is written to FAN_FILE (atomically), where the test reads it.

    python container_rig.py SHUNT_PORT PRESSURE_PORT FAN_PORT
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from drivers.fakes.modbus import ModbusFake
from drivers.modbus.presets import SHUNT_PRESETS

FAN_FILE = Path("/run/cleanroom-rig/fan-output")
VOLTAGE_V = 13.2
CURRENT_A = 0.4
PRESSURE_DECI_PA = 52


def record_fan(address: int, words: list[int]) -> None:
    if address != 0 or not words:
        return
    tmp = FAN_FILE.with_suffix(".tmp")
    tmp.write_text(f"{words[0]}\n")
    os.replace(tmp, FAN_FILE)


async def main(shunt_port: int, pressure_port: int, fan_port: int) -> None:
    FAN_FILE.parent.mkdir(parents=True, exist_ok=True)
    shunt_map, _ = SHUNT_PRESETS["pzem-017"]()
    shunt = ModbusFake(transport="tcp")
    shunt.set_shunt(shunt_map, {"voltage_v": VOLTAGE_V, "current_a": CURRENT_A, "power_w": VOLTAGE_V * CURRENT_A})
    pressure = ModbusFake(transport="tcp", holding={2: 2, 3: 1, 4: PRESSURE_DECI_PA})  # Pa, one decimal
    fan = ModbusFake(transport="tcp", holding={0: 0}, on_write=record_fan)
    for fake, port in ((shunt, shunt_port), (pressure, pressure_port), (fan, fan_port)):
        fake.tcp_port = port
        await fake.start()
    print("rig ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*(int(port) for port in sys.argv[1:4])))

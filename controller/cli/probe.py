"""`cleanroom probe shunt|pressure|fan`: read one device once (or set the fan and read back) to check
the wiring, with a message that says what to check when it fails.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

ROLES = ("shunt", "pressure", "fan")


def register(subparsers: Any) -> None:
    """Add the `probe` subcommand."""
    parser = subparsers.add_parser(
        "probe",
        help="read one device once, for wiring checks",
        description=(
            "Read a device once and print what it said. Settings come from --config's [devices] table, "
            "from the flags below, or both (flags win). For VE.Direct, --port may be a capture file to replay; "
            "for the Bluetooth shunts (victron-ble, solix), --replay plays a recorded device file."
        ),
    )
    parser.add_argument("role", choices=ROLES, help="which device to probe")
    parser.add_argument("--config", type=Path, help="configuration file with a [devices] table")
    parser.add_argument(
        "--driver",
        help="vedirect | modbus | victron-ble | solix (shunt); modbus | sdp (pressure); pwm | modbus | buttons (fan; "
        "buttons presses toward --set and reports what the fan's power says: it needs --config with [devices.fan], "
        "[fan] and [devices.shunt])",
    )
    parser.add_argument("--port", help="serial port (/dev/serial/by-id/...), pseudo-terminal, or VE.Direct capture")
    parser.add_argument(
        "--preset",
        help=(
            "shipped Modbus register map: shunt pzem-017, renogy-smart-battery, epever-tracer; "
            "pressure generic-rs485, dwyer-ms2; fan waveshare-ao8"
        ),
    )
    parser.add_argument(
        "--transport", choices=("rtu", "ascii", "tcp"), help="Modbus transport (ascii: Modbus ASCII framing)"
    )
    parser.add_argument("--host", help="Modbus TCP gateway address")
    parser.add_argument("--tcp-port", type=int, help="Modbus TCP port (default 502)")
    parser.add_argument("--baudrate", type=int, help="serial speed")
    parser.add_argument("--parity", choices=("N", "E", "O"), help="serial parity")
    parser.add_argument("--stopbits", type=int, choices=(1, 2), help="serial stop bits")
    parser.add_argument("--device-id", type=int, help="Modbus device id (slave address)")
    parser.add_argument("--timeout", help='how long to wait for the device, e.g. "3 s" (default 3 s)')
    parser.add_argument("--model", help="SDP model, e.g. sdp810-500; SOLIX station, e.g. c1000")
    parser.add_argument("--address", help="Bluetooth address of a victron-ble or solix shunt, e.g. C0:FF:EE:12:34:56")
    parser.add_argument("--key", help="victron-ble advertisement key (32 hex digits, from VictronConnect)")
    parser.add_argument("--replay", help="victron-ble or solix: a recorded Bluetooth device file to play")
    parser.add_argument("--bus", type=int, help="I2C bus number (default 1)")
    parser.add_argument("--chip", help="PWM chip: device name like 1f00098000.pwm, or pwmchipN; buttons: gpiochipN")
    parser.add_argument("--channel", type=int, help="PWM channel")
    parser.add_argument("--sysfs-root", help="PWM sysfs folder (default /sys/class/pwm)")
    parser.add_argument("--tach", help="tachometer file (hwmon fan*_input)")
    parser.add_argument("--set", dest="set_pct", type=float, help="fan: command to apply, in percent (0-100)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


_FLAG_KEYS = {
    "driver": "driver",
    "port": "port",
    "preset": "preset",
    "transport": "transport",
    "host": "host",
    "tcp_port": "tcp_port",
    "baudrate": "baudrate",
    "parity": "parity",
    "stopbits": "stopbits",
    "device_id": "device_id",
    "model": "model",
    "bus": "bus",
    "chip": "chip",
    "channel": "channel",
    "sysfs_root": "sysfs_root",
    "tach": "tach",
    "address": "address",
    "key": "key",
    "replay": "replay",
}


def _role_table(args: argparse.Namespace) -> dict[str, Any]:
    import tomllib

    from controller.config.loader import read_toml

    data: dict[str, Any] = {}
    if args.config is not None:
        read_toml(args.config)  # a missing or malformed file becomes a ConfigError here
        raw = tomllib.loads(args.config.read_text())
        role = raw.get("devices", {}).get(args.role, {})
        data = dict(role) if isinstance(role, dict) else {}
    for attr, key in _FLAG_KEYS.items():
        value = getattr(args, attr)
        if value is not None:
            data[key] = value
    if args.timeout is not None and data.get("driver") == "modbus":
        data["timeout"] = args.timeout
    if data.get("driver") == "modbus" and "transport" not in data and "host" in data:
        data["transport"] = "tcp"
    return data


def run(args: argparse.Namespace) -> int:
    """Handler of `cleanroom probe`."""
    import asyncio

    from controller import units
    from controller.cli.probe_shunt import replay_capture
    from controller.config.devices import parse_devices
    from controller.config.reader import Table
    from controller.errors import MISSING_VALUE, ConfigError

    data = _role_table(args)
    if "driver" not in data:
        from controller.config.devices import FAN_DRIVERS, PRESSURE_DRIVERS, SHUNT_DRIVERS

        drivers = {"shunt": SHUNT_DRIVERS, "pressure": PRESSURE_DRIVERS, "fan": FAN_DRIVERS}[args.role]
        real = [name for name in drivers if name != "simulated"]
        raise ConfigError(
            "command line",
            "--driver",
            MISSING_VALUE,
            f"the {args.role}'s driver: {', '.join(f'--driver {name}' for name in real)} (or --config with [devices])",
        )
    bluetooth = data.get("driver") in ("victron-ble", "solix")
    timeout_s = units.parse(args.timeout, units.DURATION) if args.timeout else (20.0 if bluetooth else 3.0)
    source = str(args.config) if args.config else "command line"
    if args.role == "fan" and data.get("driver") == "buttons":
        from controller.cli.probe_buttons import run_buttons_probe

        return _report(args, *asyncio.run(run_buttons_probe(args, timeout_s)))
    section = parse_devices(Table({args.role: data}, source, "devices."))
    from drivers.config import VEDirectConfig

    shunt = section.shunt
    if args.role == "shunt" and isinstance(shunt, VEDirectConfig) and Path(shunt.port).is_file():
        result, problem = replay_capture(Path(shunt.port))
    else:
        result, problem = asyncio.run(_probe(args, section, timeout_s))
    return _report(args, result, problem)


def _report(args: argparse.Namespace, result: dict[str, Any], problem: str | None) -> int:
    if args.json:
        print(json.dumps({**result, "ok": problem is None, "problem": problem}))
    else:
        for key, value in result.items():
            print(f"{key:>16}: {'-' if value is None else value}")
        if problem:
            print(f"problem: {problem}")
    return 0 if problem is None else 1


async def _probe(args: argparse.Namespace, section: Any, timeout_s: float) -> tuple[dict[str, Any], str | None]:
    if args.role == "shunt":
        return await _probe_shunt(section, timeout_s)
    if args.role == "pressure":
        return await _probe_pressure(section)
    return await _probe_fan(section, args.set_pct, timeout_s)


async def _probe_shunt(section: Any, timeout_s: float) -> tuple[dict[str, Any], str | None]:
    from controller.cli.probe_shunt import charger_dict, shunt_dict
    from controller.devices import build_shunt
    from drivers.config import SolixConfig, VEDirectConfig, VictronBleConfig
    from drivers.poller import PollingDriver
    from drivers.runtime import Backoff
    from drivers.vedirect.driver import VEDirectShunt

    config = section.shunt
    if isinstance(config, VictronBleConfig | SolixConfig):
        return await _probe_bluetooth(section, timeout_s)
    if not isinstance(config, VEDirectConfig):
        polled = build_shunt(section)
        assert isinstance(polled, PollingDriver)
        reading = await polled.poll_once()
        await polled.close()
        return shunt_dict(reading), None if reading else polled.stats.last_error
    shunt = VEDirectShunt(config.port, baudrate=config.baudrate, poll_s=0.1, backoff=Backoff(initial_s=0.2, max_s=1.0))
    await shunt.start()
    reading = await shunt.wait_for_reading(timeout_s)
    await shunt.close()
    if reading is not None:
        return shunt_dict(reading), None
    stats = shunt.stats
    if shunt.wrong_product is not None:
        found = {"found": shunt.wrong_product, **(charger_dict(shunt.charger) if shunt.charger else {})}
        return {**shunt_dict(None), **found}, stats.last_error
    if shunt.bytes_received == 0:
        problem = (
            stats.last_error
            if stats.state == "unavailable"
            else (
                f"no bytes from {config.port} in {timeout_s:g} s: check that the monitor is powered and that the "
                "VE.Direct cable is in the monitor's VE.Direct port (its TX goes to the adapter's RX)"
            )
        )
    else:
        problem = (
            f"{shunt.bytes_received} bytes arrived but no valid VE.Direct block ({stats.corrupt} rejected): "
            f"check the baud rate (VE.Direct is 19200 8N1) and that this is a Victron device"
        )
    return shunt_dict(None), problem


async def _probe_bluetooth(section: Any, timeout_s: float) -> tuple[dict[str, Any], str | None]:
    from controller.cli.probe_shunt import shunt_dict
    from controller.devices import build_shunt

    shunt: Any = build_shunt(section)
    await shunt.start()
    reading = await shunt.wait_for_reading(timeout_s)
    await shunt.close()
    if reading is not None:
        return shunt_dict(reading), None
    found = {"found": shunt.wrong_product} if getattr(shunt, "wrong_product", None) else {}
    problem = shunt.stats.last_error or (
        f"nothing heard from {section.shunt.address} in {timeout_s:g} s: is the device on and in range "
        "(a few metres through walls), and Instant Readout on (victron-ble)?"
    )
    return {**shunt_dict(None), **found}, problem


async def _probe_pressure(section: Any) -> tuple[dict[str, Any], str | None]:
    from controller.devices import build_pressure_sensor
    from drivers.poller import PollingDriver

    sensor = build_pressure_sensor(section)
    assert isinstance(sensor, PollingDriver)
    reading = await sensor.poll_once()
    await sensor.close()
    result = {
        "pressure_pa": None if reading is None else reading.pressure_pa,
        "temperature_c": None if reading is None else reading.temperature_c,
    }
    return result, None if reading else sensor.stats.last_error


async def _probe_fan(section: Any, set_pct: float | None, timeout_s: float) -> tuple[dict[str, Any], str | None]:
    from controller.devices import build_fan
    from controller.errors import ConfigError

    if set_pct is None or not 0 <= set_pct <= 100:
        raise ConfigError("command line", "--set", set_pct, "the fan command to apply, in percent between 0 and 100")
    fan = build_fan(section)
    await fan.start()
    await fan.set_command(set_pct)
    await fan.close()  # a driver that applies commands on its own task confirms the last one before closing
    reading = fan.latest()
    result = {
        "command_pct": None if reading is None else reading.command_pct,
        "rpm": None if reading is None else reading.rpm,
        "stalled": None if reading is None else reading.stalled,
    }
    return result, None if reading else fan.stats.last_error

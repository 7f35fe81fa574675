"""`cleanroom run --config FILE`: the daemon on the real devices of a configuration."""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path

from controller.cli.flags import add_service_arguments

log = logging.getLogger(__name__)

EPILOG = """\
examples:
  cleanroom run --config /etc/cleanroom/config.toml
  cleanroom run --config config.toml --http 0.0.0.0:8080 --mqtt mqtt://cleanroom:secret@127.0.0.1:1883

The devices come from the [devices] tables (check each with `cleanroom probe`). History goes to the
[history] url or SQLite in the state directory, MQTT to the [mqtt] url, the dashboard to [http]; the
flags override them ('none' turns one off). SIGTERM leaves the fan at the safe speed. Under systemd
(Type=notify) the loop notifies the watchdog on every tick.
"""


async def _serve(args: argparse.Namespace) -> int:
    from controller.clock import SystemClock
    from controller.command_bus import CommandBus
    from controller.config.control import check_deadline_horizon
    from controller.config.loader import load_config
    from controller.daemon import Daemon
    from controller.daemon_settings import DaemonSettings
    from controller.devices import build_fan, build_pressure_sensor, build_shunt
    from controller.hub import SnapshotHub
    from controller.service import build_sinks, choose_sinks, serve, state_directory

    config = load_config(Path(args.config))
    check_deadline_horizon(config.control, config.source, SystemClock().utc_now())
    if args.id:
        config = replace(config, controller=replace(config.controller, controller_id=args.id))
    state_dir = state_directory(args, config)
    clock = SystemClock()
    daemon = Daemon(
        DaemonSettings.from_config(config, state_dir / "battery.json"),
        shunt=build_shunt(config.devices, clock.monotonic),
        pressure=build_pressure_sensor(config.devices, clock.monotonic),
        fan=build_fan(config.devices, clock.monotonic, fan=config.fan),
        clock=clock,
        hub=SnapshotHub(),
        commands=CommandBus(),
    )
    choice = choose_sinks(
        args,
        db_default=True,
        mqtt_default=config.mqtt.url,
        http_default=(config.http.host, config.http.port) if config.http.enabled else None,
    )
    sinks = build_sinks(choice, config, clock, state_dir)
    log.info("sinks: %s", ", ".join(sink.name for sink in sinks) or "none")
    await serve(daemon, sinks)
    return 0


def run(args: argparse.Namespace) -> int:
    """Run until SIGTERM or SIGINT."""
    import asyncio

    return asyncio.run(_serve(args))


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `run`."""
    parser = subparsers.add_parser(
        "run",
        help="the daemon on the real devices of a configuration file",
        description="Read the shunt and the pressure sensor, drive the fan, publish, record and serve, "
        "until stopped. This is what the systemd service runs.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", metavar="FILE", required=True, help="the TOML configuration file")
    add_service_arguments(parser, defaults_note="default: from the configuration")
    parser.set_defaults(handler=run)

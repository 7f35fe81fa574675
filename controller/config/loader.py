"""The configuration file: one TOML document, each section parsed by the component that owns it.

This is the composition root's loader. Sections: [controller] here; the physics sections in
controller.config.plant; [devices] in controller.config.devices (into drivers.config's parameters);
[mqtt], [http] and [history] in their own packages. Each parser takes a `Table` and returns a frozen
dataclass; unknown keys are errors.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from controller import units
from controller.alerts import AlertsSection, parse_alerts
from controller.calibration.config import NO_CALIBRATION, CalibrationSection, apply_calibration, parse_calibration
from controller.config.buttons import button_share_period, check_buttons, with_calibration
from controller.config.control import ControlSection, parse_control
from controller.config.devices import parse_devices
from controller.config.plant import (
    BatterySection,
    FanSection,
    RoomSection,
    parse_battery,
    parse_fan,
    parse_power_path,
    parse_room,
)
from controller.config.reader import Table
from controller.config.rules import check_rules
from controller.errors import ConfigError
from controller.history.config import HistorySection, parse_history
from controller.models.power_path import PowerPath
from controller.mqtt.config import MqttSection, parse_mqtt
from drivers.config import ButtonsFanConfig, DevicesSection
from web.config import HttpSection, parse_http

DEFAULT_STATE_DIR = "/var/lib/cleanroom"


@dataclass(frozen=True, slots=True)
class ControllerSection:
    """Who this controller is and how often it decides."""

    controller_id: str
    state_dir: str
    tick_s: float


def parse_controller(table: Table) -> ControllerSection:
    """[controller]"""
    controller_id = table.string("id", "cleanroom")
    if not controller_id or any(c in controller_id for c in "/#+ "):
        raise table.error("id", controller_id, "a name without spaces, '/', '#' or '+' (it is an MQTT topic level)")
    section = ControllerSection(
        controller_id=controller_id,
        state_dir=table.string("state_dir", DEFAULT_STATE_DIR),
        tick_s=table.quantity("tick", units.DURATION, "1 s", low=0.1, high=60.0),
    )
    table.finish()
    return section


def read_toml(path: Path) -> Table:
    """Read a TOML file into a Table; unreadable or malformed files are ConfigErrors."""
    source = str(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(source, "(file)", source, "an existing TOML file") from exc
    except OSError as exc:
        raise ConfigError(source, "(file)", source, f"a readable file ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, "(syntax)", str(exc), "valid TOML") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(source, "(encoding)", exc.object[exc.start : exc.start + 8], "a UTF-8 text file") from exc
    except RecursionError as exc:
        raise ConfigError(source, "(syntax)", "nested too deeply", "tables and arrays nested a few levels") from exc
    return Table(data, source)


@dataclass(frozen=True, slots=True)
class Config:
    """The whole configuration file, resolved."""

    source: str
    controller: ControllerSection
    battery: BatterySection
    power_path: PowerPath
    fan: FanSection
    room: RoomSection
    control: ControlSection
    alerts: AlertsSection
    history: HistorySection
    http: HttpSection
    mqtt: MqttSection
    devices: DevicesSection
    calibration: CalibrationSection = NO_CALIBRATION
    """[calibration]: when it names a file, fan.curve, room and power_path.controller_draw_w are measured."""


def parse_config(table: Table, base_dir: Path) -> Config:
    """Every section of a configuration document; unknown sections are errors."""
    battery = parse_battery(table.table("battery"))
    config = Config(
        source=table.source,
        controller=parse_controller(table.table("controller")),
        battery=battery,
        power_path=parse_power_path(table.table("power_path"), battery),
        fan=parse_fan(table.table("fan"), base_dir),
        room=parse_room(table.table("room")),
        control=parse_control(table.table("control")),
        alerts=parse_alerts(table.table("alerts")),
        history=parse_history(table.table("history")),
        http=parse_http(table.table("http")),
        mqtt=parse_mqtt(table.table("mqtt")),
        devices=parse_devices(table.table("devices")),
    )
    calibration = parse_calibration(table.table("calibration"), base_dir)
    fan, room, power_path = apply_calibration(calibration, config.fan, config.room, config.power_path)
    config = replace(config, fan=fan, room=room, power_path=power_path, calibration=calibration)
    if isinstance(config.devices.fan, ButtonsFanConfig):
        check_buttons(config.devices, config.fan, table.source)
        devices = with_calibration(config.devices, config.fan, calibration.fan_power_stderr_w)
        config = replace(config, devices=devices)
        control = button_share_period(config.control, table.table("control").has("share_period"))
        config = replace(config, control=control)
    table.finish()
    check_rules(config)
    return config


def load_config(path: Path) -> Config:
    """Read and validate a configuration file."""
    return parse_config(read_toml(path), path.resolve().parent)

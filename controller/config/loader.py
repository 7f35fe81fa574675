"""The configuration file: one TOML document, each section parsed by the component that owns it.

Sections: [controller] here; the physics sections in controller.config.plant; [devices] in
drivers.config; [mqtt], [http] and [history] in their own packages. Each parser takes a `Table` and
returns a frozen dataclass; unknown keys are errors.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from controller import units
from controller.config.reader import Table
from controller.errors import ConfigError

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
    return Table(data, source)

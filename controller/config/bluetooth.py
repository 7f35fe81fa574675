"""The Bluetooth battery monitors of `[devices.shunt]`: `driver = "victron-ble"` (a SmartShunt or BMV-71x
with Instant Readout: `address` and the advertisement `key`) and `driver = "solix"` (an Anker SOLIX power
station: `address` and `model`). `replay = "file.json"` (relative to the configuration file) plays a
recorded device instead of the radio, for demos and tests; then address and key default to the file's."""

from __future__ import annotations

import re
from pathlib import Path

from controller import units
from controller.config.reader import Table
from drivers.ble.solix import MODELS
from drivers.config import SolixConfig, VictronBleConfig

_ADDRESS = re.compile(r"([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}")
_KEY = re.compile(r"[0-9A-Fa-f]{32}")


def _replay(table: Table) -> tuple[Path | None, dict[str, str]]:
    if not table.has("replay"):
        table.string("replay", "")
        return None, {}
    path = Path(table.string("replay"))
    if not path.is_absolute() and Path(table.source).is_file():  # relative to the configuration file
        path = Path(table.source).parent / path
    from drivers.fakes.ble import BleReplay

    try:
        replay = BleReplay.load(path)
    except ValueError as exc:
        raise table.error("replay", str(path), f"a Bluetooth replay file ({exc})") from exc
    return path, {"address": replay.address, "key": replay.key, "model": replay.model}


def _address(table: Table, default: str | None) -> str:
    address = table.string("address", default) if default else table.string("address")
    if not _ADDRESS.fullmatch(address):
        raise table.error("address", address, 'a Bluetooth address such as "C0:FF:EE:12:34:56"')
    return address


def parse_victron_ble(table: Table) -> VictronBleConfig:
    """`driver = "victron-ble"`."""
    replay, recorded = _replay(table)
    address = _address(table, recorded.get("address"))
    key = table.string("key", recorded["key"]) if recorded.get("key") else table.string("key")
    if not _KEY.fullmatch(key):
        raise table.error(
            "key",
            key,
            "the 32 hex digits of the advertisement key (VictronConnect > Product info > Instant readout details)",
        )
    config = VictronBleConfig(
        address=address,
        key=key,
        stale_after_s=table.quantity("stale_after", units.DURATION, "15 s", low=1, high=3600),
        replay=replay,
    )
    table.finish()
    return config


def parse_solix(table: Table) -> SolixConfig:
    """`driver = "solix"`."""
    replay, recorded = _replay(table)
    config = SolixConfig(
        address=_address(table, recorded.get("address")),
        model=table.string("model", recorded.get("model") or "c1000", choices=tuple(MODELS)),
        stale_after_s=table.quantity("stale_after", units.DURATION, "30 s", low=1, high=3600),
        replay=replay,
    )
    table.finish()
    return config

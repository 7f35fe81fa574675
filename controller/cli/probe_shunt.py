"""`cleanroom probe shunt`: a battery monitor read once, or a capture file replayed, with what was found
(the product and its kind) and what to check when it is not a battery monitor."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

SHUNT_VALUES = ("voltage_v", "current_a", "power_w", "soc_pct", "consumed_ah", "time_to_go_min")
CHARGER_VALUES = (
    "battery_voltage_v",
    "battery_current_a",
    "panel_voltage_v",
    "panel_power_w",
    "yield_today_wh",
    "yield_yesterday_wh",
    "charge_state",
    "error",
)


def _number(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def time_to_go_text(minutes: float | None) -> str:
    """The device's time to go in words: infinite (not discharging) and unknown stay apart."""
    if minutes is None:
        return "unknown"
    if math.isinf(minutes):
        return "infinite (not discharging)"
    return f"{minutes:g} min"


def shunt_dict(reading: Any) -> dict[str, Any]:
    """A shunt reading's values for printing (JSON-safe: an infinite time to go is spelled out)."""
    out: dict[str, Any] = {key: _number(getattr(reading, key, None)) for key in SHUNT_VALUES}
    out["time_to_go"] = None if reading is None else time_to_go_text(reading.time_to_go_min)
    out["temperature_c"] = _number(getattr(reading, "temperature_c", None))
    out["alarm"] = getattr(reading, "alarm", None)
    out["product"] = getattr(reading, "product", None)
    for key in ("soc_resolution_pct", "solar_power_w", "output_power_w"):
        if getattr(reading, key, None) is not None:
            out[key] = getattr(reading, key)
    return out


def charger_dict(reading: Any) -> dict[str, Any]:
    """A solar charger reading's values for printing."""
    return {key: getattr(reading, key) for key in CHARGER_VALUES}


def replay_capture(path: Path) -> tuple[dict[str, Any], str | None]:
    """Every block of a VE.Direct capture decoded and classified: the first battery monitor reading, or
    what the capture holds instead (a solar charger's values, an inverter named)."""
    from drivers.base import ChargerReading, ShuntReading, WrongProduct
    from drivers.vedirect.decoder import ReadingAssembler
    from drivers.vedirect.framer import Block, BlockParser, VEDirectError

    assembler = ReadingAssembler()
    counts: Counter[str] = Counter()
    shunt: ShuntReading | None = None
    charger: ChargerReading | None = None
    refused: str | None = None
    for item in BlockParser().feed(path.read_bytes()):
        if isinstance(item, VEDirectError):
            counts[f"rejected_{item.kind}"] += 1
            continue
        assert isinstance(item, Block)
        try:
            reading = assembler.accept(item, 0.0)
        except VEDirectError as exc:
            counts[f"rejected_{exc.kind}"] += 1
            continue
        except WrongProduct as exc:
            refused = refused or str(exc)
            counts["refused"] += 1
            continue
        counts["blocks"] += 1
        if isinstance(reading, ShuntReading):
            shunt = shunt or reading
        elif isinstance(reading, ChargerReading):
            charger = charger or reading
    found = assembler.found
    summary: dict[str, Any] = {
        "found": None if found is None else found.name,
        "kind": None if found is None else found.kind.value,
        **{key: counts[key] for key in sorted(counts)},
    }
    if shunt is not None:
        return {**shunt_dict(shunt), **summary}, None
    if charger is not None:
        assert found is not None
        problem = f"{path} holds {found.describe()}: its values are not battery monitor readings"
        return {**shunt_dict(None), **charger_dict(charger), **summary}, problem
    if refused is not None:
        return {**shunt_dict(None), **summary}, refused
    return {**shunt_dict(None), **summary}, f"no valid VE.Direct block in {path} ({sum(counts.values())} rejected)"

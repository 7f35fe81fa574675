"""SI values -> the bytes a VE.Direct battery monitor sends (for the fakes and the tests)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from drivers.vedirect.decoder import HISTORY
from drivers.vedirect.framer import UNKNOWN


def encode_block(fields: Sequence[tuple[str, str]]) -> bytes:
    """The bytes a device sends for these fields, Checksum byte included."""
    body = b"".join(b"\r\n" + label.encode("ascii") + b"\t" + value.encode("ascii") for label, value in fields)
    body += b"\r\nChecksum\t"
    return body + bytes([(-sum(body)) & 0xFF])


def _milli(value: float | None) -> str:
    return UNKNOWN if value is None else str(round(value * 1000))


def _time_to_go(minutes: float | None) -> str:
    if minutes is None:
        return UNKNOWN
    return "-1" if math.isinf(minutes) else str(round(minutes))


def battery_monitor_blocks(
    *,
    voltage_v: float | None,
    current_a: float | None,
    soc_pct: float | None,
    consumed_ah: float | None,
    time_to_go_min: float | None = math.inf,
    temperature_c: float | None = None,
    alarm: bool = False,
    pid: int = 0xA389,
    firmware: str = "0405",
    history: Mapping[str, float] | None = None,
) -> list[bytes]:
    """The main block and the history block a SmartShunt would send for these SI values (time to go:
    math.inf is sent as -1, "infinite", and None as `---`, unknown)."""
    power = None if voltage_v is None or current_a is None else round(voltage_v * current_a)
    main: list[tuple[str, str]] = [
        ("PID", f"0x{pid:X}"),
        ("V", _milli(voltage_v)),
        ("I", _milli(current_a)),
        ("P", UNKNOWN if power is None else str(power)),
        ("CE", _milli(consumed_ah)),
        ("SOC", UNKNOWN if soc_pct is None else str(round(soc_pct * 10))),
        ("TTG", _time_to_go(time_to_go_min)),
    ]
    if temperature_c is not None or pid in (0xA381,):
        main.append(("T", UNKNOWN if temperature_c is None else str(round(temperature_c))))
    main += [("Alarm", "ON" if alarm else "OFF"), ("AR", "1" if alarm else "0"), ("FW", firmware)]
    names = {name: (label, factor) for label, (name, factor) in HISTORY.items()}
    hist = history or {"deepest_discharge_ah": 0.0, "charge_cycles": 0.0, "min_voltage_v": 12.0}
    hist_fields = [(names[k][0], str(round(v / names[k][1]))) for k, v in hist.items() if k in names]
    return [encode_block(main), encode_block(hist_fields)]

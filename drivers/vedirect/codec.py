"""The VE.Direct text protocol as pure functions: bytes -> checksummed blocks -> SI values, and SI
values -> bytes (for the fakes).

Framing (VE.Direct Protocol 3.33): every field is `\\r\\n<label>\\t<value>`; the last field of a block is
`Checksum\\t` followed by ONE raw byte (any value, even `\\r`, `\\t` or `:`) chosen so that all bytes of
the block, from its first `\\r` through that byte, sum to 0 mod 256. Outside that byte, `:` starts a
HEX-protocol frame that runs to `\\n`; it is not part of the text block or its sum and is dropped.
The checksum is only a byte sum, so each field is also checked against the grammar of the protocol
(label charset and length, printable value, field count, no duplicates) before a block is trusted.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from drivers.base import ProtocolError, ShuntReading

LABEL_MAX = 9
"""Label buffer size of Victron's reference frame handler."""
VALUE_MAX = 33
"""Value buffer size of Victron's reference frame handler."""
MAX_FIELDS = 30
"""Victron's framehandler allows 22 fields per block (protocol 3.30); a little slack for newer firmware."""
HEX_MAX = 128
"""Longest HEX frame accepted before the parser gives up and resynchronises."""

_LABEL_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789#_")
_HEX_CHARS = frozenset(b"0123456789ABCDEFabcdef")
_CHECKSUM_LABEL = b"Checksum"
_INTEGER = re.compile(r"-?[0-9]{1,12}")
_PID = re.compile(r"0[xX][0-9A-Fa-f]{1,4}")
UNKNOWN = "---"
"""What the monitor sends for a value it does not know (e.g. no temperature sensor, not synchronised)."""


class VEDirectError(ProtocolError):
    """A VE.Direct block that cannot be trusted; `kind` says why (checksum, grammar, partial, hex, value)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


@dataclass(frozen=True, slots=True)
class Block:
    """One checksummed text block: its fields in order (without Checksum) and its raw bytes."""

    fields: tuple[tuple[str, str], ...]
    raw: bytes

    def as_dict(self) -> dict[str, str]:
        """Label -> value."""
        return dict(self.fields)


class _State(enum.Enum):
    SEEK = enum.auto()
    LF = enum.auto()
    LABEL = enum.auto()
    VALUE = enum.auto()
    CHECKSUM = enum.auto()
    HEX = enum.auto()


class BlockParser:
    """Incremental framer: `feed(bytes)` returns the blocks and the rejections it completed.

    It never raises: a rejection is returned as a VEDirectError value, and the parser resynchronises
    on the next `\\r\\n`. A block that began while resynchronising (the tail of a damaged or cut block)
    is reported with kind "partial".
    """

    def __init__(self) -> None:
        self._state = _State.SEEK
        self._resume = _State.SEEK
        self._raw = bytearray()
        self._sum = 0
        self._label = bytearray()
        self._value = bytearray()
        self._fields: list[tuple[str, str]] = []
        self._labels: set[str] = set()
        self._hex_len = 0
        self._resyncing = False
        self.blocks = 0
        self.rejected = 0
        self.hex_frames = 0
        self.skipped_bytes = 0

    def feed(self, data: bytes) -> list[Block | VEDirectError]:
        """Consume bytes; return completed blocks and rejections in stream order."""
        out: list[Block | VEDirectError] = []
        for byte in data:
            self._step(byte, out)
        return out

    def _start_block(self) -> None:
        self._raw = bytearray(b"\r")
        self._sum = 0x0D
        self._fields = []
        self._labels = set()
        self._state = _State.LF

    def _reject(self, out: list[Block | VEDirectError], kind: str, detail: str) -> None:
        self.rejected += 1
        self.skipped_bytes += len(self._raw)
        out.append(VEDirectError(kind, detail))
        self._raw = bytearray()
        self._fields = []
        self._labels = set()
        self._state = _State.SEEK
        self._resyncing = True

    def _step(self, byte: int, out: list[Block | VEDirectError]) -> None:
        state = self._state
        if state is _State.HEX:
            self._hex_step(byte, out)
            return
        if byte == 0x3A and state is not _State.CHECKSUM:  # ':' starts a HEX frame
            self._resume = state
            self._state = _State.HEX
            self._hex_len = 1
            return
        if state is _State.SEEK:
            if byte == 0x0D:
                self._start_block()
            else:
                self.skipped_bytes += 1
            return
        self._raw.append(byte)
        self._sum = (self._sum + byte) & 0xFF
        if state is _State.LF:
            if byte == 0x0A:
                self._label = bytearray()
                self._state = _State.LABEL
            elif not self._fields:
                self.skipped_bytes += len(self._raw) - 1
                self._raw = bytearray(b"\r") if byte == 0x0D else bytearray()
                self._sum = 0x0D if byte == 0x0D else 0
                self._state = _State.LF if byte == 0x0D else _State.SEEK
            else:
                self._reject(out, "grammar", f"expected LF after CR, got {byte:#04x}")
        elif state is _State.LABEL:
            if byte == 0x09:
                self._end_label(out)
            elif byte in _LABEL_CHARS and len(self._label) < LABEL_MAX:
                self._label.append(byte)
            elif not self._fields:
                self.skipped_bytes += len(self._raw)
                self._raw = bytearray()
                self._state = _State.SEEK
                if byte == 0x0D:
                    self._start_block()
            else:
                self._reject(out, "grammar", f"bad label byte {byte:#04x} after {bytes(self._label)!r}")
        elif state is _State.VALUE:
            if byte == 0x0D:
                self._end_value(out)
            elif 0x20 <= byte <= 0x7E and len(self._value) < VALUE_MAX:
                self._value.append(byte)
            else:
                self._reject(out, "grammar", f"bad value byte {byte:#04x} in field {bytes(self._label)!r}")
        elif state is _State.CHECKSUM:
            self._end_block(out)

    def _end_label(self, out: list[Block | VEDirectError]) -> None:
        if not self._label:
            self._reject(out, "grammar", "empty label")
            return
        if self._label == _CHECKSUM_LABEL:
            self._state = _State.CHECKSUM
            return
        label = self._label.decode("ascii")
        if label in self._labels:
            self._reject(out, "grammar", f"label {label!r} twice in one block")
            return
        if len(self._fields) >= MAX_FIELDS:
            self._reject(out, "grammar", f"more than {MAX_FIELDS} fields in one block")
            return
        self._value = bytearray()
        self._state = _State.VALUE

    def _end_value(self, out: list[Block | VEDirectError]) -> None:
        label = self._label.decode("ascii")
        self._labels.add(label)
        self._fields.append((label, self._value.decode("ascii")))
        self._state = _State.LF

    def _end_block(self, out: list[Block | VEDirectError]) -> None:
        partial = self._resyncing
        if self._sum != 0:
            kind = "partial" if partial else "checksum"
            self._reject(out, kind, f"bytes sum to {self._sum:#04x}, not 0 mod 256")
            return
        if not self._fields:
            self._reject(out, "grammar", "block without fields")
            return
        self.blocks += 1
        out.append(Block(tuple(self._fields), bytes(self._raw)))
        self._raw = bytearray()
        self._fields = []
        self._labels = set()
        self._state = _State.SEEK
        self._resyncing = False

    def _hex_step(self, byte: int, out: list[Block | VEDirectError]) -> None:
        self._hex_len += 1
        if byte == 0x0A:
            self.hex_frames += 1
            self._state = self._resume
            return
        if byte == 0x0D and self._hex_len > 2:
            return
        if byte not in _HEX_CHARS or self._hex_len > HEX_MAX:
            self.skipped_bytes += self._hex_len
            self._state = self._resume
            self._reject(out, "hex", f"bad byte {byte:#04x} in a HEX frame")


def parse_block(data: bytes) -> Block:
    """Exactly one block from its bytes (leading CR LF included), or VEDirectError."""
    parser = BlockParser()
    results = parser.feed(data)
    blocks = [r for r in results if isinstance(r, Block)]
    errors = [r for r in results if isinstance(r, VEDirectError)]
    if errors:
        raise errors[0]
    if len(blocks) != 1:
        raise VEDirectError("partial", f"{len(blocks)} complete blocks in {len(data)} bytes")
    return blocks[0]


def split_blocks(data: bytes) -> list[bytes]:
    """The raw bytes of every valid block of a capture (for replay by the fake)."""
    return [r.raw for r in BlockParser().feed(data) if isinstance(r, Block)]


# Product IDs documented by Victron (VE.Direct protocol document, product table).
PRODUCTS: Mapping[int, str] = {
    0x0203: "BMV-700",
    0x0204: "BMV-702",
    0xA381: "BMV-712 Smart",
    0xA389: "SmartShunt 500A/50mV",
    0xA38A: "SmartShunt 1000A/50mV",
    0xA38B: "SmartShunt 2000A/50mV",
}

ALARM_REASONS: Mapping[int, str] = {
    1: "low_voltage",
    2: "high_voltage",
    4: "low_soc",
    8: "low_starter_voltage",
    16: "high_starter_voltage",
    32: "low_temperature",
    64: "high_temperature",
    128: "mid_voltage",
    256: "overload",
    512: "dc_ripple",
    1024: "low_v_ac_out",
    2048: "high_v_ac_out",
    4096: "short_circuit",
    8192: "bms_lockout",
}

# History label -> (name in SI, factor from the protocol unit).
HISTORY: Mapping[str, tuple[str, float]] = {
    "H1": ("deepest_discharge_ah", 0.001),
    "H2": ("last_discharge_ah", 0.001),
    "H3": ("average_discharge_ah", 0.001),
    "H4": ("charge_cycles", 1.0),
    "H5": ("full_discharges", 1.0),
    "H6": ("cumulative_drawn_ah", 0.001),
    "H7": ("min_voltage_v", 0.001),
    "H8": ("max_voltage_v", 0.001),
    "H9": ("since_full_charge_s", 1.0),
    "H10": ("automatic_syncs", 1.0),
    "H11": ("low_voltage_alarms", 1.0),
    "H12": ("high_voltage_alarms", 1.0),
    "H13": ("low_aux_voltage_alarms", 1.0),
    "H14": ("high_aux_voltage_alarms", 1.0),
    "H15": ("min_aux_voltage_v", 0.001),
    "H16": ("max_aux_voltage_v", 0.001),
    "H17": ("discharged_energy_wh", 10.0),
    "H18": ("charged_energy_wh", 10.0),
}

# Main-block numeric label -> (field of DecodedBlock, factor to SI).
_NUMERIC: Mapping[str, tuple[str, float]] = {
    "V": ("voltage_v", 0.001),
    "VS": ("aux_voltage_v", 0.001),
    "VM": ("midpoint_voltage_v", 0.001),
    "DM": ("midpoint_deviation_pct", 0.1),
    "I": ("current_a", 0.001),
    "P": ("power_w", 1.0),
    "CE": ("consumed_ah", 0.001),
    "SOC": ("soc_pct", 0.1),
    "TTG": ("time_to_go_min", 1.0),
    "T": ("temperature_c", 1.0),
}


@dataclass(frozen=True, slots=True)
class DecodedBlock:
    """The values of one block in SI units; `present` lists the labels the block carried."""

    present: frozenset[str]
    voltage_v: float | None = None
    aux_voltage_v: float | None = None
    midpoint_voltage_v: float | None = None
    midpoint_deviation_pct: float | None = None
    current_a: float | None = None
    power_w: float | None = None
    consumed_ah: float | None = None
    soc_pct: float | None = None
    time_to_go_min: float | None = None
    temperature_c: float | None = None
    alarm: bool | None = None
    relay: bool | None = None
    alarm_reasons: tuple[str, ...] = ()
    product: str | None = None
    firmware: str | None = None
    monitor_mode: int | None = None
    history: dict[str, float] = field(default_factory=dict)

    @property
    def is_main(self) -> bool:
        """Whether this is a main block (battery values) rather than a history-only block."""
        return bool(self.present & {"V", "I", "PID", "SOC"})


def _integer(label: str, value: str) -> int | None:
    if value == UNKNOWN:
        return None
    if not _INTEGER.fullmatch(value):
        raise VEDirectError("value", f"{label} = {value!r} is not an integer")
    return int(value)


def _on_off(label: str, value: str) -> bool | None:
    if value == UNKNOWN:
        return None
    if value not in ("ON", "OFF"):
        raise VEDirectError("value", f"{label} = {value!r} is not ON or OFF")
    return value == "ON"


def alarm_reason_names(mask: int) -> tuple[str, ...]:
    """Names of the bits set in an AR bitmask (unknown bits as bit_N)."""
    names = []
    for bit in range(16):
        if mask & (1 << bit):
            names.append(ALARM_REASONS.get(1 << bit, f"bit_{bit}"))
    return tuple(names)


def decode_block(block: Block | Iterable[tuple[str, str]]) -> DecodedBlock:
    """Convert a block's fields to SI; raises VEDirectError for a value the protocol does not allow.

    TTG -1 means "infinite" (not discharging) and becomes None; `---` becomes None everywhere.
    Labels of other Victron products (chargers, inverters) are ignored.
    """
    fields = block.fields if isinstance(block, Block) else tuple(block)
    values: dict[str, float | None] = {}
    history: dict[str, float] = {}
    alarm: bool | None = None
    relay: bool | None = None
    reasons: tuple[str, ...] = ()
    product: str | None = None
    firmware: str | None = None
    model: str | None = None
    monitor_mode: int | None = None
    for label, value in fields:
        if label in _NUMERIC:
            name, factor = _NUMERIC[label]
            number = _integer(label, value)
            if label == "TTG" and number == -1:
                number = None
            values[name] = None if number is None else number * factor
        elif label in HISTORY:
            name, factor = HISTORY[label]
            number = _integer(label, value)
            if number is not None:
                history[name] = number * factor
        elif label == "Alarm":
            alarm = _on_off(label, value)
        elif label == "Relay":
            relay = _on_off(label, value)
        elif label == "AR":
            mask = _integer(label, value)
            if mask is not None and mask < 0:
                raise VEDirectError("value", f"AR = {value!r} is negative")
            reasons = alarm_reason_names(mask or 0)
        elif label == "PID":
            if not _PID.fullmatch(value):
                raise VEDirectError("value", f"PID = {value!r} is not a hex product id")
            pid = int(value, 16)
            product = PRODUCTS.get(pid, f"VE.Direct product {pid:#06x}")
        elif label == "FW":
            firmware = value
        elif label == "BMV":
            model = value
        elif label == "MON":
            monitor_mode = _integer(label, value)
    return DecodedBlock(
        present=frozenset(label for label, _ in fields),
        alarm=alarm,
        relay=relay,
        alarm_reasons=reasons,
        product=product or (f"BMV {model}" if model else None),
        firmware=firmware,
        monitor_mode=monitor_mode,
        history=history,
        **values,
    )


def encode_block(fields: Sequence[tuple[str, str]]) -> bytes:
    """The bytes a device sends for these fields, Checksum byte included."""
    body = b"".join(b"\r\n" + label.encode("ascii") + b"\t" + value.encode("ascii") for label, value in fields)
    body += b"\r\nChecksum\t"
    return body + bytes([(-sum(body)) & 0xFF])


def _milli(value: float | None) -> str:
    return UNKNOWN if value is None else str(round(value * 1000))


def battery_monitor_blocks(
    *,
    voltage_v: float | None,
    current_a: float | None,
    soc_pct: float | None,
    consumed_ah: float | None,
    time_to_go_min: float | None = None,
    temperature_c: float | None = None,
    alarm: bool = False,
    pid: int = 0xA389,
    firmware: str = "0405",
    history: Mapping[str, float] | None = None,
) -> list[bytes]:
    """The main block and the history block a SmartShunt would send for these SI values."""
    power = None if voltage_v is None or current_a is None else round(voltage_v * current_a)
    main: list[tuple[str, str]] = [
        ("PID", f"0x{pid:X}"),
        ("V", _milli(voltage_v)),
        ("I", _milli(current_a)),
        ("P", UNKNOWN if power is None else str(power)),
        ("CE", _milli(consumed_ah)),
        ("SOC", UNKNOWN if soc_pct is None else str(round(soc_pct * 10))),
        ("TTG", "-1" if time_to_go_min is None else str(round(time_to_go_min))),
    ]
    if temperature_c is not None or pid in (0xA381,):
        main.append(("T", UNKNOWN if temperature_c is None else str(round(temperature_c))))
    main += [("Alarm", "ON" if alarm else "OFF"), ("AR", "1" if alarm else "0"), ("FW", firmware)]
    names = {name: (label, factor) for label, (name, factor) in HISTORY.items()}
    hist = history or {"deepest_discharge_ah": 0.0, "charge_cycles": 0.0, "min_voltage_v": 12.0}
    hist_fields = [(names[k][0], str(round(v / names[k][1]))) for k, v in hist.items() if k in names]
    return [encode_block(main), encode_block(hist_fields)]


def to_reading(main: DecodedBlock, history: Mapping[str, float], monotonic_s: float) -> ShuntReading:
    """A ShuntReading from a main block and the newest history values."""
    return ShuntReading(
        monotonic_s=monotonic_s,
        voltage_v=main.voltage_v,
        current_a=main.current_a,
        power_w=main.power_w,
        soc_pct=main.soc_pct,
        consumed_ah=main.consumed_ah,
        time_to_go_min=main.time_to_go_min,
        temperature_c=main.temperature_c,
        alarm=main.alarm,
        relay=main.relay,
        alarm_reasons=main.alarm_reasons,
        product=main.product,
        history={**history, **main.history},
        aux_voltage_v=main.aux_voltage_v,
        midpoint_voltage_v=main.midpoint_voltage_v,
        midpoint_deviation_pct=main.midpoint_deviation_pct,
        firmware=main.firmware,
    )


class ReadingAssembler:
    """Turns a stream of parser results into readings: a reading per main block, history merged in."""

    def __init__(self) -> None:
        self.history: dict[str, float] = {}

    def accept(self, item: Block, monotonic_s: float) -> ShuntReading | None:
        """Decode a valid block (VEDirectError if a value is not allowed); a reading for a main block."""
        decoded = decode_block(item)
        if not decoded.is_main:
            self.history.update(decoded.history)
            return None
        return to_reading(decoded, self.history, monotonic_s)

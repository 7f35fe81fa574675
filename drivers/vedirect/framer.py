"""The VE.Direct text protocol's framing: bytes -> checksummed blocks of (label, value) fields.

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
from dataclasses import dataclass

from drivers.base import ProtocolError

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
    on the next `\\r\\n`. A block that began while resynchronising (the tail of a damaged or cut block,
    or of the block the device was sending when the reader joined the stream) is reported with kind
    "partial", not "checksum": it was never whole.
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
            else:  # a byte outside any block: the next block may be the tail of one (joined mid-way)
                self.skipped_bytes += 1
                self._resyncing = True
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


UNKNOWN = "---"
"""What a device sends for a value it does not know (e.g. no temperature sensor, not synchronised)."""
_INTEGER = re.compile(r"-?[0-9]{1,12}")


def integer_value(label: str, value: str) -> int | None:
    """A field's integer (None for UNKNOWN); VEDirectError for anything else the protocol does not allow."""
    if value == UNKNOWN:
        return None
    if not _INTEGER.fullmatch(value):
        raise VEDirectError("value", f"{label} = {value!r} is not an integer")
    return int(value)

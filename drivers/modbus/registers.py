"""Register maps as data, and the pure conversion of register words <-> SI values.

A `Register` says where a value lives (address, function: holding or input), how it is encoded
(int16/uint16/int32/uint32/float32; the byte order of 32-bit values as ABCD, BADC, CDAB or DCBA, i.e.
the word order and whether the two bytes of each word are swapped) and what one count means
(`scale` times `unit`, e.g. scale 0.01 and unit "V" for a register in centivolts, plus an `offset`,
e.g. -100 °C for a temperature sent as °C + 100). The unit is converted to the internal SI unit of the
quantity once, when the map is built. `valid_min`/`valid_max` bound what the value can plausibly be: a
map read against a device (or firmware) whose layout differs gives absurd numbers, and those are errors,
not readings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from drivers.base import ProtocolError

Function = Literal["holding", "input"]
RegisterType = Literal["int16", "uint16", "int32", "uint32", "float32"]
WordOrder = Literal["big", "little"]

FUNCTIONS: tuple[str, ...] = ("holding", "input")
TYPES: tuple[str, ...] = ("int16", "uint16", "int32", "uint32", "float32")
WORD_ORDERS: tuple[str, ...] = ("big", "little")
BYTE_ORDERS: dict[str, tuple[WordOrder, bool]] = {
    "ABCD": ("big", False),
    "BADC": ("big", True),
    "CDAB": ("little", False),
    "DCBA": ("little", True),
}
"""Byte order of a 32-bit value (A = most significant byte) -> (word order, bytes swapped in each word)."""


@cache
def _pymodbus() -> tuple[Any, dict[str, Any]]:
    """pymodbus's converter and its data types, imported on first use (config parsing stays light)."""
    from pymodbus.client.mixin import ModbusClientMixin

    datatype = ModbusClientMixin.DATATYPE
    types = {
        "int16": datatype.INT16,
        "uint16": datatype.UINT16,
        "int32": datatype.INT32,
        "uint32": datatype.UINT32,
        "float32": datatype.FLOAT32,
    }
    return ModbusClientMixin, types


class RegisterError(ProtocolError):
    """Register words that do not make a usable value (wrong count, NaN, out of range)."""


@dataclass(frozen=True, slots=True)
class Register:
    """One value in a device's register map; `factor` converts a raw count to the SI unit."""

    address: int
    function: Function = "holding"
    type: RegisterType = "uint16"
    word_order: WordOrder = "big"
    scale: float = 1.0
    unit: str = ""
    factor: float = 1.0
    byte_swap: bool = False
    offset: float = 0.0
    valid_min: float | None = None
    valid_max: float | None = None

    @property
    def byte_order(self) -> str:
        """ABCD, BADC, CDAB or DCBA."""
        return next(k for k, v in BYTE_ORDERS.items() if v == (self.word_order, self.byte_swap))

    @property
    def count(self) -> int:
        """How many 16-bit registers the value occupies."""
        return 1 if self.type in ("int16", "uint16") else 2

    @property
    def function_code(self) -> int:
        """The Modbus read function: 3 (holding registers) or 4 (input registers)."""
        return 3 if self.function == "holding" else 4


def _swapped(words: Sequence[int]) -> list[int]:
    return [((w >> 8) | (w << 8)) & 0xFFFF for w in words]


def raw_value(register: Register, words: Sequence[int]) -> float:
    """The raw number the words encode (before scaling)."""
    if len(words) != register.count:
        raise RegisterError(f"register {register.address}: {len(words)} words for a {register.type}")
    if any(not 0 <= w <= 0xFFFF for w in words):
        raise RegisterError(f"register {register.address}: words out of range {list(words)}")
    ordered = _swapped(words) if register.byte_swap else list(words)
    mixin, types = _pymodbus()
    value = mixin.convert_from_registers(ordered, types[register.type], word_order=register.word_order)
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise RegisterError(f"register {register.address}: not a finite number ({value!r})")
    return float(value)


def plausible(register: Register, value_si: float, what: str = "") -> float:
    """The value, or RegisterError when it is outside the register's plausible range."""
    low, high = register.valid_min, register.valid_max
    if (low is not None and value_si < low) or (high is not None and value_si > high):
        name = f" ({what})" if what else ""
        bounds = f"{'-inf' if low is None else f'{low:g}'} to {'inf' if high is None else f'{high:g}'}"
        raise RegisterError(
            f"register {register.address}{name} reads {value_si:g}, outside its plausible range {bounds}: "
            "is the register map (addresses, type, byte order, scale) the one of this device and firmware?"
        )
    return value_si


def decode(register: Register, words: Sequence[int], what: str = "") -> float:
    """The SI value of a register's words (RegisterError if it is outside the plausible range)."""
    return plausible(register, raw_value(register, words) * register.factor + register.offset, what)


def encode(register: Register, value_si: float) -> list[int]:
    """The words a device holds for an SI value (for writes and for the fakes)."""
    raw = (value_si - register.offset) / register.factor
    mixin, types = _pymodbus()
    if register.type == "float32":
        words = mixin.convert_to_registers(raw, types["float32"], word_order=register.word_order)
    else:
        bits = 16 if register.type.endswith("16") else 32
        signed = not register.type.startswith("u")
        low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        integer = round(raw)
        if not low <= integer <= high:
            raise RegisterError(f"register {register.address}: {value_si} does not fit a {register.type}")
        words = mixin.convert_to_registers(integer, types[register.type], word_order=register.word_order)
    return _swapped(words) if register.byte_swap else list(words)

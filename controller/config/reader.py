"""Typed, unit-aware reading of one TOML table, with errors that name file, key, value and expectation.

Every component parses its own section with a `Table`; nothing else reads raw TOML.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TypeVar

from controller import units
from controller.errors import MISSING_VALUE, ConfigError

T = TypeVar("T")
_NO_DEFAULT: object = object()


def _range_text(kind: units.Kind, low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"between {units.show_limit(low, kind)} and {units.show_limit(high, kind)}"
    if low is not None:
        return f"at least {units.show_limit(low, kind)}"
    if high is not None:
        return f"at most {units.show_limit(high, kind)}"
    return ""


class Table:
    """One TOML table (or CLI flag set) being read; remembers which keys were used."""

    def __init__(self, data: Mapping[str, object], source: str, prefix: str = "") -> None:
        self._data = data
        self.source = source
        self.prefix = prefix
        self._used: set[str] = set()

    def key_name(self, key: str) -> str:
        """The dotted name of a key, as the user wrote it in the file."""
        return f"{self.prefix}{key}"

    def error(self, key: str, value: object, expected: str) -> ConfigError:
        """A ConfigError for a key of this table."""
        return ConfigError(self.source, self.key_name(key), value, expected)

    def has(self, key: str) -> bool:
        """Whether the key is present."""
        return key in self._data

    def _raw(self, key: str, default: object, expected: str) -> object:
        self._used.add(key)
        if key in self._data:
            return self._data[key]
        if default is _NO_DEFAULT:
            raise self.error(key, MISSING_VALUE, expected)
        return default

    def quantity(
        self,
        key: str,
        kind: units.Kind,
        default: str | float | object | None = _NO_DEFAULT,
        *,
        low: float | None = None,
        high: float | None = None,
        low_exclusive: bool = False,
    ) -> float:
        """A quantity converted to the kind's internal unit, checked against an inclusive range."""
        bounds = _range_text(kind, low, high)
        expected = f"a {kind.name} such as {kind.examples}" + (f", {bounds}" if bounds else "")
        raw = self._raw(key, default, expected)
        if raw is None:
            raise self.error(key, raw, expected)
        if not isinstance(raw, str | int | float) or isinstance(raw, bool):
            raise self.error(key, raw, expected)
        try:
            value = units.parse(raw, kind)
        except units.UnitError as exc:
            raise self.error(key, raw, f"{exc}" + (f", {bounds}" if bounds else "")) from exc
        if not math.isfinite(value):
            raise self.error(key, raw, expected)
        inside = units.within(value, -math.inf if low is None else low, math.inf if high is None else high)
        if inside is None or (low_exclusive and low is not None and value <= low):
            raise self.error(
                key, raw, bounds if not low_exclusive else f"more than {units.show_limit(low or 0.0, kind)}"
            )
        return inside

    def optional_quantity(
        self, key: str, kind: units.Kind, *, low: float | None = None, high: float | None = None
    ) -> float | None:
        """A quantity, or None when the key is absent."""
        if key not in self._data:
            self._used.add(key)
            return None
        return self.quantity(key, kind, low=low, high=high)

    def string(self, key: str, default: str | object = _NO_DEFAULT, *, choices: Sequence[str] = ()) -> str:
        """A string, optionally one of `choices`."""
        expected = f"one of {', '.join(choices)}" if choices else "a text in quotes"
        raw = self._raw(key, default, expected)
        if not isinstance(raw, str) or (choices and raw not in choices):
            raise self.error(key, raw, expected)
        return raw

    def optional_string(self, key: str) -> str | None:
        """A string, or None when the key is absent."""
        if key not in self._data:
            self._used.add(key)
            return None
        return self.string(key)

    def boolean(self, key: str, default: bool | object = _NO_DEFAULT) -> bool:
        """true or false."""
        raw = self._raw(key, default, "true or false")
        if not isinstance(raw, bool):
            raise self.error(key, raw, "true or false")
        return raw

    def integer(
        self, key: str, default: int | object = _NO_DEFAULT, *, low: int | None = None, high: int | None = None
    ) -> int:
        """A whole number in an inclusive range."""
        bounds = _range_text(units.DIMENSIONLESS, low, high)
        expected = "a whole number" + (f" {bounds}" if bounds else "")
        raw = self._raw(key, default, expected)
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise self.error(key, raw, expected)
        if (low is not None and raw < low) or (high is not None and raw > high):
            raise self.error(key, raw, expected)
        return raw

    def number(
        self, key: str, default: float | object = _NO_DEFAULT, *, low: float | None = None, high: float | None = None
    ) -> float:
        """A plain number (no unit) in an inclusive range."""
        return self.quantity(key, units.DIMENSIONLESS, default, low=low, high=high)

    def table(self, key: str, *, required: bool = False) -> Table:
        """A sub-table (an empty one when absent and not required)."""
        raw = self._raw(key, _NO_DEFAULT if required else {}, "a table")
        if not isinstance(raw, Mapping):
            raise self.error(key, raw, "a table")
        return Table(raw, self.source, f"{self.key_name(key)}.")

    def array(self, key: str, default: object = _NO_DEFAULT) -> list[object]:
        """An array of raw values (the caller checks each one)."""
        raw = self._raw(key, default, "an array")
        if not isinstance(raw, list):
            raise self.error(key, raw, "an array")
        return list(raw)

    def finish(self) -> None:
        """Reject keys nobody read: a typo must not be silently ignored."""
        unknown = sorted(set(self._data) - self._used)
        if unknown:
            key = unknown[0]
            known = ", ".join(sorted(self._used)) or "no keys"
            raise self.error(key, self._data[key], f"a known key of this table ({known})")

"""A fake of libgpiod's line request (the seam `gpiod.request_lines` returns), wired to a simulated
purifier whose buttons are pressed through optocouplers on those lines.

`FakeGpioChip.request_lines` has gpiod's signature and checks what the kernel would (the chip path
exists, the offsets exist and are free, the lines are requested as outputs); the request it returns
turns logical values into pin levels with the request's `active_low`, and tells its listeners about
every level change with the clock's time. `SimulatedPurifier` listens: a pin held at the pressing level
for at least `min_press_s` and then let go is one press of that line's button, which it may miss (with
probability `miss_probability`), register twice (`double_next`) or ignore entirely (`ignoring`).
"""

from __future__ import annotations

import errno
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import gpiod
from gpiod.line import Direction, Value

from drivers.buttons.plan import Layout, State

Listener = Callable[[int, bool, float], None]
"""(offset, pin high, monotonic time) on every change of a pin's level."""


class FakeLineRequest:
    """What gpiod.request_lines returns: set_value/get_value by offset, release()."""

    def __init__(self, chip: FakeGpioChip, settings: Mapping[int, gpiod.LineSettings]) -> None:
        self._chip = chip
        self._settings = dict(settings)
        self._values = {offset: s.output_value for offset, s in settings.items()}
        self.released = False
        for offset in settings:
            chip.drive(offset, self._level(offset))

    @property
    def offsets(self) -> list[int]:
        """The requested offsets."""
        return list(self._settings)

    def _check(self, line: int | str) -> int:
        if self.released:
            raise gpiod.RequestReleasedError()
        if self._chip.unplugged:
            raise OSError(errno.ENODEV, "No such device")
        if not isinstance(line, int) or line not in self._settings:
            raise ValueError(f"line {line!r} is not part of this request")
        return line

    def _level(self, offset: int) -> bool:
        active = self._values[offset] == Value.ACTIVE
        return active != self._settings[offset].active_low

    def set_value(self, line: int | str, value: Value) -> None:
        """Set one line's logical value."""
        offset = self._check(line)
        if not isinstance(value, Value):
            raise TypeError(f"expected a gpiod.line.Value, got {value!r}")
        self._values[offset] = value
        self._chip.drive(offset, self._level(offset))

    def get_value(self, line: int | str) -> Value:
        """One line's logical value."""
        return self._values[self._check(line)]

    def release(self) -> None:
        """Give the lines back (their levels stay, as the kernel leaves them)."""
        if not self.released:
            self.released = True
            self._chip.free(self._settings)

    def __enter__(self) -> FakeLineRequest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class FakeGpioChip:
    """One `/dev/gpiochipN` with `num_lines` lines and the purifier(s) listening to its pins."""

    def __init__(self, path: str = "/dev/gpiochip0", num_lines: int = 54, clock: Callable[[], float] = lambda: 0.0):
        self.path = path
        self.num_lines = num_lines
        self.clock = clock
        self.levels: dict[int, bool] = {}
        self.busy: set[int] = set()
        self.listeners: list[Listener] = []
        self.unplugged = False
        self.requests = 0

    def drive(self, offset: int, high: bool) -> None:
        """A pin's level as the request sets it; listeners hear changes."""
        if self.levels.get(offset, False) == high and offset in self.levels:
            return
        self.levels[offset] = high
        for listener in self.listeners:
            listener(offset, high, self.clock())

    def free(self, offsets: Iterable[int]) -> None:
        """Lines released."""
        self.busy.difference_update(offsets)

    def request_lines(
        self,
        path: str,
        config: dict[Any, gpiod.LineSettings | None],
        consumer: str | None = None,
        event_buffer_size: int | None = None,
        output_values: dict[int | str, Value] | None = None,
    ) -> FakeLineRequest:
        """gpiod.request_lines on this chip."""
        if path != self.path or self.unplugged:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        settings: dict[int, gpiod.LineSettings] = {}
        for key, value in config.items():
            for offset in key if isinstance(key, tuple) else (key,):
                if not isinstance(offset, int) or not 0 <= offset < self.num_lines:
                    raise ValueError(f"invalid line offset {offset!r} for {self.path}")
                chosen = value or gpiod.LineSettings()
                if chosen.direction is not Direction.OUTPUT:
                    raise ValueError(f"line {offset} must be requested as an output to press a button")
                settings[offset] = chosen
        taken = self.busy.intersection(settings)
        if taken:
            raise OSError(errno.EBUSY, f"Device or resource busy (lines {sorted(taken)})")
        self.busy.update(settings)
        self.requests += 1
        return FakeLineRequest(self, settings)


@dataclass(slots=True)
class SimulatedPurifier:
    """A purifier behind optocouplers: `buttons` maps each line offset to the button it presses."""

    layout: Layout
    buttons: Mapping[int, str]
    state: State
    apply: Callable[[int], None] = lambda setting: None
    wired_active_low: bool = False
    """True: the optocoupler's LED hangs from 3.3 V, so a low pin presses."""
    min_press_s: float = 0.05
    miss_probability: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    ignoring: bool = False
    double_next: int = 0
    """The next this-many presses register twice (a bouncing contact)."""
    miss_next: int = 0
    """The next this-many presses are missed (a dirty contact)."""
    registered: int = 0
    missed: int = 0
    doubled: int = 0
    _down_since: dict[int, float] = field(default_factory=dict)

    def attach(self, chip: FakeGpioChip) -> SimulatedPurifier:
        """Listen to the chip's pins."""
        chip.listeners.append(self.on_level)
        return self

    @property
    def setting(self) -> int:
        """The purifier's setting (0 = off)."""
        return self.state.setting

    def on_level(self, offset: int, high: bool, t_s: float) -> None:
        """A pin changed level at t_s."""
        if offset not in self.buttons:
            return
        pressing = high != self.wired_active_low
        if pressing:
            self._down_since.setdefault(offset, t_s)
            return
        since = self._down_since.pop(offset, None)
        if since is None or t_s - since < self.min_press_s:
            return
        self.press(self.buttons[offset])

    def press(self, button: str) -> None:
        """One press reaching the purifier (from a contact, or its IR receiver)."""
        if self.ignoring:
            return
        missing = self.miss_next > 0 or (self.miss_probability > 0.0 and self.rng.random() < self.miss_probability)
        if missing:
            self.miss_next = max(0, self.miss_next - 1)
            self.missed += 1
            return
        times = 1
        if self.double_next > 0:
            self.double_next -= 1
            self.doubled += 1
            times = 2
        for _ in range(times):
            self.state = self.layout.press(self.state, button)
            self.registered += 1
        self.apply(self.state.setting)

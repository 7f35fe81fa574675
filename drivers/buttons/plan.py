"""A purifier's buttons as a small state machine, and the shortest press sequence to a setting (pure).

Positions: 0 is off, 1..N are the purifier's speed settings from lowest to highest (the fan curve's rows).
The purifier's state is its position and the last running setting (what a power button resumes). The
driver's belief is a set of such states: one state when it knows, several when it does not (after a
restart, or when the measured power matched no setting). A plan is the shortest sequence of presses that
takes every state of the belief to the target setting (a breadth-first search over belief sets, so a
layout whose presses converge, such as "down" pressed N times, reaches a target even from an unknown
state, and a layout whose presses only permute settings, such as a cycling button, says it cannot).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

OFF = 0
LayoutKind = Literal["cycle", "up-down", "per-setting"]
LAYOUTS: tuple[LayoutKind, ...] = ("cycle", "up-down", "per-setting")
CYCLE, UP, DOWN, POWER = "cycle", "up", "down", "power"


@dataclass(frozen=True, slots=True)
class State:
    """The purifier's setting (0 = off) and the last running setting (what "power" resumes)."""

    setting: int
    last_running: int


Belief = frozenset[State]


@dataclass(frozen=True, slots=True)
class Layout:
    """Which buttons the purifier has and what one press of each does.

    - ``cycle``: one button steps through `order` (positions, wrapping); with off in the order it also turns
      the purifier off and on; a position outside the order (off, when off is not in it) ignores it.
    - ``up-down``: "up" and "down" step one setting, stopping at the ends ("down" never turns it off).
    - ``per-setting``: one button per setting (named by its position) and optionally "off".
    Any layout may add a "power" button: off turns on at `power_on` (None: the last running setting),
    running turns off.
    """

    kind: LayoutKind
    settings: int
    order: tuple[int, ...] = ()
    per_setting: tuple[int, ...] = ()
    has_off_button: bool = False
    has_power: bool = False
    power_on: int | None = None

    def __post_init__(self) -> None:
        if self.settings < 1:
            raise ValueError(f"a purifier needs at least one setting, got {self.settings}")
        known = range(self.settings + 1)
        distinct = len(set(self.order)) == len(self.order) >= 2 and set(self.order) <= set(known)
        if self.kind == "cycle" and not distinct:
            raise ValueError(f"a cycle needs two or more distinct positions in 0..{self.settings}, got {self.order}")
        if any(p not in known or p == OFF for p in self.per_setting):
            raise ValueError(f"per-setting buttons name settings 1..{self.settings}, got {self.per_setting}")
        if self.power_on is not None and not 1 <= self.power_on <= self.settings:
            raise ValueError(f"power_on must be a setting 1..{self.settings}, got {self.power_on}")

    @property
    def buttons(self) -> tuple[str, ...]:
        """The names of the buttons, in a fixed order (the planner prefers earlier ones on ties)."""
        names: list[str] = []
        if self.kind == "cycle":
            names.append(CYCLE)
        elif self.kind == "up-down":
            names += [UP, DOWN]
        else:
            names += [str(p) for p in self.per_setting]
            if self.has_off_button:
                names.append("off")
        if self.has_power:
            names.append(POWER)
        return tuple(names)

    def press(self, state: State, button: str) -> State:
        """The state after one registered press of `button`."""
        setting, last = state.setting, state.last_running
        if button == POWER and self.has_power:
            if setting == OFF:
                return _running(self.power_on if self.power_on is not None else last)
            return State(OFF, setting)
        if button == CYCLE and self.kind == "cycle":
            if setting not in self.order:
                return state
            nxt = self.order[(self.order.index(setting) + 1) % len(self.order)]
            return _running(nxt) if nxt != OFF else State(OFF, setting if setting != OFF else last)
        if button in (UP, DOWN) and self.kind == "up-down":
            if setting == OFF:
                return state
            return _running(min(self.settings, setting + 1) if button == UP else max(1, setting - 1))
        if self.kind == "per-setting":
            if button == "off" and self.has_off_button:
                return State(OFF, setting if setting != OFF else last)
            if button.isdigit() and int(button) in self.per_setting:
                return _running(int(button))
        raise ValueError(f"no button {button!r} on this purifier (buttons: {', '.join(self.buttons)})")

    def states(self) -> Belief:
        """Every state the purifier can be in."""
        runs = range(1, self.settings + 1)
        return frozenset([State(OFF, last) for last in runs] + [_running(s) for s in runs])


def _running(setting: int) -> State:
    return State(setting, setting)


def setting_of(belief: Belief) -> int | None:
    """The setting the belief is sure of, or None."""
    settings = {state.setting for state in belief}
    return next(iter(settings)) if len(settings) == 1 else None


def at_setting(layout: Layout, setting: int) -> Belief:
    """The belief "the purifier is on `setting`" (off: any last running setting)."""
    if setting == OFF:
        return frozenset(State(OFF, last) for last in range(1, layout.settings + 1))
    return frozenset({_running(setting)})


def after(layout: Layout, belief: Belief, button: str) -> Belief:
    """The belief after one registered press."""
    return frozenset(layout.press(state, button) for state in belief)


def plan(layout: Layout, belief: Belief, target: int, max_presses: int = 32) -> tuple[str, ...] | None:
    """The shortest press sequence that leaves every state of `belief` on `target`; () when already there;
    None when no sequence of at most max_presses does (a permuting layout from an unsure belief, or a
    setting these buttons cannot reach)."""
    if not belief:
        return None
    start = frozenset(belief)
    if setting_of(start) == target:
        return ()
    parents: dict[Belief, tuple[Belief, str] | None] = {start: None}
    queue: deque[tuple[Belief, int]] = deque([(start, 0)])
    while queue:
        current, depth = queue.popleft()
        if depth >= max_presses:
            continue
        for button in layout.buttons:
            nxt = after(layout, current, button)
            if nxt in parents:
                continue
            parents[nxt] = (current, button)
            if setting_of(nxt) == target:
                return _path(parents, nxt)
            queue.append((nxt, depth + 1))
    return None


def _path(parents: dict[Belief, tuple[Belief, str] | None], end: Belief) -> tuple[str, ...]:
    presses: list[str] = []
    node = parents[end]
    while node is not None:
        previous, button = node
        presses.append(button)
        node = parents[previous]
    return tuple(reversed(presses))


def nearest_reachable(layout: Layout, belief: Belief, target: int) -> int | None:
    """The setting nearest to `target` that a plan reaches from `belief` (ties: the higher one, so that
    an unreachable "off" becomes the lowest setting rather than nothing)."""
    for distance in range(layout.settings + 1):
        for candidate in (target + distance, target - distance):
            if 0 <= candidate <= layout.settings and plan(layout, belief, candidate) is not None:
                return candidate
    return None

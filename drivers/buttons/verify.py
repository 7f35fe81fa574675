"""Checking a pressed purifier's setting against its measured power (pure).

The fan's draw (the battery's draw minus everything else) names the setting it runs on: each setting has
its watts, with a tolerance learned in calibration (or a default one). After every press the driver waits
`settle_s` for the motor to reach its speed; then readings that agree with its belief confirm it, and
`confirm_readings` readings in a row that name another setting replace the belief (a missed or doubled
press, or an unknown state at start) so that the driver presses again. A purifier that keeps running on
another setting after `max_attempts` corrections does not follow its presses: that is a fault.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace

from drivers.buttons.plan import Belief, Layout, State, at_setting, setting_of

DEFAULT_ABSOLUTE_W = 0.4
DEFAULT_RELATIVE = 0.12


@dataclass(frozen=True, slots=True)
class PowerSignature:
    """Watts and tolerance per position (0 = off, then the settings from lowest to highest)."""

    watts: tuple[float, ...]
    tolerance_w: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.watts) != len(self.tolerance_w) or len(self.watts) < 2:
            raise ValueError("a power signature needs off and at least one setting, each with a tolerance")
        if not all(math.isfinite(w) and w >= 0.0 for w in (*self.watts, *self.tolerance_w)):
            raise ValueError(f"watts and tolerances must be finite and not negative: {self.watts}, {self.tolerance_w}")

    @classmethod
    def from_watts(
        cls,
        running_w: tuple[float, ...],
        *,
        standby_w: float = 0.0,
        absolute_w: float = DEFAULT_ABSOLUTE_W,
        relative: float = DEFAULT_RELATIVE,
    ) -> PowerSignature:
        """A signature from each setting's watts: tolerance absolute_w + relative x watts, never more than
        45 % of the gap to a neighbour (so that no reading names two settings)."""
        watts = (standby_w, *running_w)
        return cls.capped(watts, tuple(absolute_w + relative * w for w in watts))

    @classmethod
    def capped(cls, watts: tuple[float, ...], tolerances_w: tuple[float, ...]) -> PowerSignature:
        """A signature with these tolerances, each cut to 45 % of the gap to its neighbours."""
        capped = []
        for index, (w, tolerance) in enumerate(zip(watts, tolerances_w, strict=True)):
            gaps = [abs(w - watts[j]) for j in (index - 1, index + 1) if 0 <= j < len(watts)]
            capped.append(min(tolerance, 0.45 * min(gaps)))
        return cls(watts, tuple(capped))

    def identify(self, measured_w: float) -> int | None:
        """The position whose watts the reading matches within its tolerance, or None."""
        if not math.isfinite(measured_w):
            return None
        best = min(range(len(self.watts)), key=lambda i: abs(measured_w - self.watts[i]))
        return best if abs(measured_w - self.watts[best]) <= self.tolerance_w[best] else None


class Verdict(enum.StrEnum):
    """What one reading said about the belief."""

    OPEN_LOOP = "open-loop"
    SETTLING = "settling"
    CONFIRMED = "confirmed"
    MISMATCH = "mismatch"
    CORRECTED = "corrected"
    UNRECOGNISED = "unrecognised"
    FAULT = "fault"


@dataclass(frozen=True, slots=True)
class Watch:
    """The verifier's memory between readings."""

    seen: int | None = None
    """The setting the latest disagreeing readings named."""
    mismatches: int = 0
    unrecognised: int = 0
    attempts: int = 0
    """Corrections since the target was last confirmed."""
    confirmed_at_s: float | None = None


@dataclass(frozen=True, slots=True)
class Rules:
    """How readings are judged."""

    settle_s: float = 5.0
    confirm_readings: int = 2
    max_attempts: int = 3


@dataclass(frozen=True, slots=True)
class Outcome:
    """The verdict on one reading, the (possibly corrected) belief and the verifier's new memory."""

    verdict: Verdict
    belief: Belief
    watch: Watch
    seen: int | None = None


def judge(
    layout: Layout,
    signature: PowerSignature,
    rules: Rules,
    watch: Watch,
    belief: Belief,
    target: int,
    measured_w: float | None,
    reading_s: float,
    last_press_s: float | None,
) -> Outcome:
    """Judge one fan-power reading taken at reading_s (None: no reading, the driver runs open-loop)."""
    if measured_w is None or not math.isfinite(measured_w):
        return Outcome(Verdict.OPEN_LOOP, belief, watch)
    if last_press_s is not None and reading_s < last_press_s + rules.settle_s:
        return Outcome(Verdict.SETTLING, belief, watch)
    seen = signature.identify(measured_w)
    believed = setting_of(belief)
    if seen is None:
        return Outcome(Verdict.UNRECOGNISED, belief, replace(watch, unrecognised=watch.unrecognised + 1))
    if seen == believed:
        attempts = 0 if seen == target else watch.attempts
        return Outcome(Verdict.CONFIRMED, belief, Watch(attempts=attempts, confirmed_at_s=reading_s), seen)
    mismatches = watch.mismatches + 1 if watch.seen == seen else 1
    if mismatches < rules.confirm_readings:
        return Outcome(Verdict.MISMATCH, belief, replace(watch, seen=seen, mismatches=mismatches, unrecognised=0), seen)
    narrowed = frozenset(state for state in belief if state.setting == seen) or at_setting(layout, seen)
    if believed is None:
        return Outcome(Verdict.CORRECTED, narrowed, Watch(attempts=watch.attempts), seen)
    attempts = watch.attempts + 1
    verdict = Verdict.FAULT if attempts > rules.max_attempts else Verdict.CORRECTED
    return Outcome(verdict, narrowed, Watch(attempts=attempts), seen)


def assume(layout: Layout, belief: Belief, power_up: int | None) -> Belief:
    """A belief narrowed to one state without a power reading: the power-up setting if it is fixed and
    possible, else the lowest running state the belief allows (the driver says that it assumed)."""
    if len(belief) == 1:
        return belief
    if power_up is not None and (power_up == 0 or any(s.setting == power_up for s in belief) or not belief):
        belief = at_setting(layout, power_up)
    chosen = min(belief, key=lambda s: (s.setting == 0, s.setting, s.last_running), default=State(1, 1))
    return frozenset({chosen})

"""How punctual the control loop was: tick periods in a sparse millisecond histogram (constant memory
over weeks), summarised in the log when the daemon stops. The fault-injection tests and operators read
the loop's punctuality from this line."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(slots=True)
class LoopTiming:
    """Periods between the starts of consecutive ticks, to the millisecond."""

    tick_s: float
    counts: dict[int, int] = field(default_factory=dict)
    longest_s: float = 0.0
    periods: int = 0
    _last_start_s: float | None = None

    def started(self, monotonic_s: float) -> None:
        """A tick starts now."""
        if self._last_start_s is not None:
            period = monotonic_s - self._last_start_s
            bucket = round(period * 1000.0)
            self.counts[bucket] = self.counts.get(bucket, 0) + 1
            self.longest_s = max(self.longest_s, period)
            self.periods += 1
        self._last_start_s = monotonic_s

    def percentile_s(self, fraction: float) -> float | None:
        """The period that `fraction` of the periods do not exceed (None before two ticks)."""
        if not self.periods:
            return None
        rank = min(self.periods, max(1, math.ceil(fraction * self.periods - 1e-9)))  # nearest rank
        seen = 0
        for bucket in sorted(self.counts):
            seen += self.counts[bucket]
            if seen >= rank:
                return bucket / 1000.0
        return max(self.counts) / 1000.0

    def summary(self) -> str:
        """One line for the log: 'loop timing: 300 periods, p50 200 ms, p99 203 ms, longest 210 ms (tick 200 ms)'."""
        p50, p99 = self.percentile_s(0.5), self.percentile_s(0.99)
        if p50 is None or p99 is None:
            return f"loop timing: fewer than two ticks (tick {self.tick_s * 1000:.0f} ms)"
        return (
            f"loop timing: {self.periods} periods, p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
            f"longest {self.longest_s * 1000:.0f} ms (tick {self.tick_s * 1000:.0f} ms)"
        )

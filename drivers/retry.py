"""Capped exponential backoff with jitter from an injected (seedable) random source."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(slots=True)
class Backoff:
    """Delays of initial_s, initial_s*factor, ... capped at max_s, each scaled by 1 ± jitter."""

    initial_s: float = 0.5
    max_s: float = 30.0
    factor: float = 2.0
    jitter: float = 0.2
    rng: random.Random = field(default_factory=random.Random)
    attempts: int = 0

    def next_delay(self) -> float:
        """The delay before the next attempt (and count the attempt)."""
        base = min(self.max_s, self.initial_s * self.factor**self.attempts)
        self.attempts += 1
        return max(0.0, base * (1.0 + self.jitter * (2.0 * self.rng.random() - 1.0)))

    def reset(self) -> None:
        """Back to the shortest delay after a success."""
        self.attempts = 0

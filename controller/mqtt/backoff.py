"""Capped, jittered exponential backoff for reconnecting (pure; the random source is injected)."""

from __future__ import annotations

import random


def backoff_delay(attempt: int, min_s: float, max_s: float, rng: random.Random) -> float:
    """The wait before reconnect attempt `attempt` (0-based): "full jitter" between min_s and
    min(max_s, min_s * 2**attempt), so that many controllers do not hammer a restarted broker together."""
    ceiling = min(max_s, min_s * (2.0 ** min(attempt, 30)))
    return min_s + rng.random() * max(0.0, ceiling - min_s)

"""Helpers shared by the driver tests: recorded VE.Direct dumps, fast backoff."""

from __future__ import annotations

import random
import re
from pathlib import Path

from drivers.runtime import Backoff

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "config.example.toml"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "vedirect"
BMV700 = FIXTURES / "vedirect-bmv700.dump"
SMARTSHUNT = FIXTURES / "vedirect-smartshunt.dump"
BMV712 = FIXTURES / "vedirect-bmv712-smart.dump"
MPPT_75_15 = FIXTURES / "vedirect-bluesolar-mppt-75-15.dump"
MPPT_CHARGING = FIXTURES / "vedirect-bluesolar-mppt-75-15-charging.dump"
MPPT_MID_STREAM = FIXTURES / "vedirect-smartsolar-mppt-100-20.dump"
INVERTER = FIXTURES / "vedirect-phoenix-inverter-12-1200.dump"


def fast_backoff(seed: int = 1) -> Backoff:
    """Short, seeded backoff so that recovery tests are quick and repeatable."""
    return Backoff(initial_s=0.01, max_s=0.05, rng=random.Random(seed))


def example_config_without_devices(state_dir: Path) -> str:
    """The example configuration without its [devices] tables, keeping its state in state_dir."""
    kept, skipping = [], False
    for line in EXAMPLE.read_text().splitlines():
        if line.startswith("["):
            skipping = line.startswith("[devices")
        if not skipping:
            kept.append(line)
    return re.sub(r'^state_dir = ".*"', f'state_dir = "{state_dir}"', "\n".join(kept), flags=re.MULTILINE)

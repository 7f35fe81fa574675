"""Reading the configuration and importing the drivers must not drag in the heavy sinks' libraries
(a Pi Zero 2 W spends seconds on each), measured by the interpreter's own import log."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("sqlalchemy", "alembic", "fastapi", "starlette", "uvicorn", "aiomqtt", "paho", "pydantic")


def _imported_top_levels(statement: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement], capture_output=True, text=True, check=True, cwd=REPO
    )
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


@pytest.mark.parametrize(
    "statement",
    [
        "import controller.config",
        "import controller.config.loader",
        "import drivers",
        "import drivers.factory",
        "import controller.devices",
    ],
)
def test_importing_the_config_or_drivers_loads_no_heavy_library(statement: str) -> None:
    imported = _imported_top_levels(statement)
    assert "controller" in imported or "drivers" in imported
    assert imported.isdisjoint(HEAVY), sorted(imported & set(HEAVY))

"""Reading the configuration and importing the drivers must not drag in the heavy sinks' libraries
(a Pi Zero 2 W spends seconds on each), measured by the interpreter's own import log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("sqlalchemy", "alembic", "fastapi", "starlette", "uvicorn", "aiomqtt", "paho", "pydantic")


def _imported_top_levels(statement: str, cache_dir: Path | None = None) -> set[str]:
    env = {**os.environ, "CLEANROOM_CACHE_DIR": str(cache_dir)} if cache_dir else None
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env=env,
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


def _command_imports(argv: list[str], cache_dir: Path) -> set[str]:
    statement = f"import sys\nfrom controller.cli import main\nsys.exit(main({argv!r}))"
    return _imported_top_levels(statement, cache_dir)


@pytest.mark.parametrize("argv", [["--help"], ["plan", "--help"], ["sim", "--help"], ["plan"], ["plan", "--json"]])
def test_help_and_plan_load_no_sink_library_nor_pint(argv: list[str], tmp_path: Path) -> None:
    imported = _command_imports(argv, tmp_path)
    assert "controller" in imported
    assert imported.isdisjoint({*HEAVY, "pint", "asyncio"}), sorted(imported & {*HEAVY, "pint", "asyncio"})


def test_a_common_unit_is_read_without_pint(tmp_path: Path) -> None:
    imported = _command_imports(["plan", "--target", "7 days"], tmp_path)
    assert "controller" in imported
    assert "pint" not in imported


def test_a_quantity_in_another_unit_loads_pint_only_when_asked(tmp_path: Path) -> None:
    imported = _command_imports(["plan", "--target", "1 fortnight"], tmp_path)
    assert "pint" in imported
    assert imported.isdisjoint(HEAVY), sorted(imported & set(HEAVY))


def test_the_daemons_sinks_load_neither_the_orm_nor_prometheus_nor_pint(tmp_path: Path) -> None:
    """What a running daemon keeps in memory: the history uses SQLAlchemy Core, prometheus_client waits for
    the first scrape, and pint for a unit outside each kind's common ones."""
    statement = (
        "import sys, controller.daemon, controller.history.recorder, controller.mqtt.sink, web.sink, web.app\n"
        "import json; print(json.dumps(sorted({m.split('.')[0] + ('.orm' if m.startswith('sqlalchemy.orm') else '')"
        " for m in sys.modules})))"
    )
    env = {**os.environ, "CLEANROOM_CACHE_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", statement], capture_output=True, text=True, check=True, cwd=REPO, env=env
    )
    loaded = set(json.loads(done.stdout))
    assert "fastapi" in loaded
    assert loaded.isdisjoint({"sqlalchemy.orm", "prometheus_client", "pint"}), loaded

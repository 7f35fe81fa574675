"""pint at the edges, and only when needed: values already in the internal unit skip it, and its parsed
definitions are cached on disk (a torn cache costs time, never a wrong value)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller import units

REPO = Path(__file__).resolve().parents[2]
PARSE_TWO_FORTNIGHTS = "from controller import units; print(units.parse('2 fortnight', units.DURATION))"


@settings(deadline=None)
@given(
    value=st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
    kind=st.sampled_from([units.POWER, units.PRESSURE, units.VOLTAGE, units.DURATION, units.FRACTION]),
    spelled=st.sampled_from(["{v} {u}", "{v}{u}", "  {v}  {u} ", "{v:e} {u}"]),
)
def test_a_value_in_the_internal_unit_reads_as_pint_reads_it(value: float, kind: units.Kind, spelled: str) -> None:
    unit = "%" if kind is units.FRACTION else kind.unit
    text = spelled.format(v=value, u=unit)
    quantity = units.registry().Quantity(text.strip())
    assert units.parse(text, kind) == pytest.approx(float(quantity.to(kind.unit).magnitude), rel=1e-12, abs=1e-12)


def _parse_in_subprocess(cache_dir: Path) -> str:
    env = {**os.environ, units.CACHE_ENV: str(cache_dir)}
    done = subprocess.run(
        [sys.executable, "-c", PARSE_TWO_FORTNIGHTS], capture_output=True, text=True, check=True, cwd=REPO, env=env
    )
    return done.stdout.strip()


def test_pint_caches_its_definitions_in_the_cache_folder_and_survives_a_torn_cache(tmp_path: Path) -> None:
    assert _parse_in_subprocess(tmp_path) == "2419200.0"
    pickles = sorted((tmp_path / "pint").glob("*.pickle"))
    assert pickles
    for pickle in pickles:
        pickle.write_bytes(pickle.read_bytes()[:10])
    assert _parse_in_subprocess(tmp_path) == "2419200.0"


def test_no_cache_when_the_folder_cannot_be_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(units.CACHE_ENV, str(blocker))
    assert units.cache_folder() is None
    monkeypatch.setenv(units.CACHE_ENV, str(tmp_path))
    assert units.cache_folder() == tmp_path / "pint"

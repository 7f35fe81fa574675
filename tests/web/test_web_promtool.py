"""`/metrics` of the real web app passes Prometheus's own linter (`promtool check metrics`, from Debian's
`prometheus` package, which tests/run.sh installs): base units, help on every family, `_total` counters."""

from __future__ import annotations

import asyncio
import shutil
from asyncio.subprocess import PIPE
from pathlib import Path

import httpx
import pytest

from controller.command_bus import CommandBus
from controller.hub import SnapshotHub
from controller.metrics import METRICS
from tests.web.web_rig import make_snapshot
from web.app import create_app
from web.config import HttpSection
from web.context import WebContext
from web.memory_history import MemoryHistory
from web.tokens import TokenStore


async def _scrape(tmp_path: Path) -> str:
    hub = SnapshotHub()
    context = WebContext(
        controller_id="room-1",
        section=HttpSection(),
        hub=hub,
        commands=CommandBus(),
        tokens=TokenStore(tmp_path),
        memory=MemoryHistory(),
        history=None,
    )
    hub.publish(make_snapshot(30))
    transport = httpx.ASGITransport(app=create_app(context), client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://room.local") as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    return response.text


async def test_promtool_accepts_the_metrics(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is missing: apt-get install prometheus (tests/run.sh does)"
    text = await _scrape(tmp_path)
    checked = await asyncio.create_subprocess_exec(promtool, "check", "metrics", stdin=PIPE, stdout=PIPE, stderr=PIPE)
    out, err = await asyncio.wait_for(checked.communicate(text.encode()), timeout=60)
    assert checked.returncode == 0, (out + err).decode()
    assert out.decode().strip() == ""  # no lint findings either
    assert err.decode().strip() == ""


async def test_base_units_and_a_counter_for_what_only_grows(tmp_path: Path) -> None:
    snapshot = make_snapshot(30)
    text = await _scrape(tmp_path)
    samples = {
        line.split("{")[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("cleanroom_") and "{" in line
    }
    assert snapshot.soc_pct is not None
    assert samples["cleanroom_soc_ratio"] == pytest.approx(snapshot.soc_pct / 100.0)
    assert snapshot.energy_usable_wh is not None
    assert samples["cleanroom_energy_usable_joules"] == pytest.approx(snapshot.energy_usable_wh * 3600.0)
    assert snapshot.flow_cfm is not None
    assert samples["cleanroom_flow_cubic_meters_per_second"] == pytest.approx(snapshot.flow_cfm * 0.000471947, rel=1e-6)
    types = dict(line.split(" ")[2:4] for line in text.splitlines() if line.startswith("# TYPE "))
    assert types.get("cleanroom_clean_air_cubic_meters", types.get("cleanroom_clean_air_cubic_meters_total")) == (
        "counter"
    )
    assert "cleanroom_clean_air_cubic_meters_total" in samples
    assert not any(name.endswith(("_hours", "_percent", "_feet")) for name in samples)
    assert all(f"{m.label} (" in text for m in METRICS if m.value(snapshot) is not None)

"""`/api/meta` carries every alarm row and every settable row (ranges given the configured cap), and the
HTTP command endpoint accepts exactly those ranges."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from controller import units
from controller.alarm_catalogue import ALARMS
from controller.alarm_config import AlertsSection
from controller.command_bus import CommandBus
from controller.commands import SETTINGS, CommandLimits, Setting
from controller.hub import SnapshotHub
from controller.metrics import METRICS
from tests.web.web_rig import FakeLoop
from web.app import create_app
from web.config import HttpSection
from web.context import WebContext
from web.memory_history import MemoryHistory
from web.tokens import TokenStore, load_or_create_token

LIMITS = CommandLimits(pressure_cap_pa=25.0)
ALERTS = AlertsSection().with_levels(soc_warning_pct=40.0, soc_warning_clear_pct=45.0)
NUMERIC = [s for s in SETTINGS if s.range(LIMITS) is not None]


async def _answer(loop: FakeLoop) -> None:
    while True:
        if loop.commands._pending:
            loop.tick()
        await asyncio.sleep(0.005)


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    hub, commands = SnapshotHub(), CommandBus()
    context = WebContext(
        controller_id="room-1",
        section=HttpSection(),
        hub=hub,
        commands=commands,
        tokens=TokenStore(str(tmp_path)),
        memory=MemoryHistory(),
        limits=LIMITS,
        alerts=ALERTS,
    )
    loop = FakeLoop(hub, commands, floor_pa=0.0)  # the setpoint's range starts at 0 Pa only under a 0 Pa floor
    answering = asyncio.create_task(_answer(loop))
    token = load_or_create_token(str(tmp_path))
    transport = httpx.ASGITransport(app=create_app(context))
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://room.local", headers=headers) as http:
        yield http
    answering.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await answering


async def test_meta_lists_every_alarm_and_setting_with_configured_levels_and_ranges(client: httpx.AsyncClient) -> None:
    meta = (await client.get("/api/meta")).json()
    assert [a["kind"] for a in meta["alarms"]] == [row.kind.value for row in ALARMS]
    soc = next(a for a in meta["alarms"] if a["kind"] == "battery_low_soc")
    assert soc["bands"][0] == {"severity": "warning", "set_level": 40.0, "clear_level": 45.0, "follows": None}
    low = next(a for a in meta["alarms"] if a["kind"] == "pressure_low")
    assert low["bands"][0]["follows"] == "pressure_floor_pa"
    assert next(m for m in meta["metrics"] if m["key"] == "soc_pct")["thresholds"] == {
        "warning": 40.0,
        "critical": 15.0,
    }
    assert [m["symbol"] for m in meta["metrics"]] == [m.unit.symbol for m in METRICS]
    for setting, info in zip(SETTINGS, meta["settings"], strict=True):
        assert info["name"] == setting.name.value
        span = setting.range(LIMITS)
        assert (info["min"], info["max"]) == (span if span is not None else (None, None))
        assert info["options"] == list(setting.options)
    assert next(s for s in meta["settings"] if s["name"] == "pressure_floor")["max"] == 24.5


@pytest.mark.parametrize("setting", NUMERIC, ids=lambda setting: setting.name.value)
async def test_http_accepts_each_end_of_the_range_and_refuses_just_outside(
    client: httpx.AsyncClient, setting: Setting
) -> None:
    assert setting.unit is not None
    low, high = setting.range(LIMITS) or (0.0, 0.0)
    for value in (low, high):
        text = units.show_bound(value, setting.unit)
        answer = await client.post(f"/api/commands/{setting.name.value}", json={"value": text})
        assert answer.status_code == 200, answer.text
        assert answer.json()["accepted"] is True
    for value in (low - setting.step, high + setting.step):
        text = units.show_bound(value, setting.unit)
        answer = await client.post(f"/api/commands/{setting.name.value}", json={"value": text})
        assert answer.status_code == 400, text
        body = answer.json()
        assert body["field"] == setting.name.value
        assert text in body["value"]
        assert f"to {units.show_bound(high, setting.unit)}" in body["expected"]

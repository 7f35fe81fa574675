"""Hostile input against every HTTP command and query parameter: each request is accepted with a value in
its documented range or refused with a 4xx in the documented {"message","field","value","expected"} form;
never a 5xx, never a traceback. The commands are answered by the control step's own `apply_commands`."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.battery import BatteryState
from controller.command_bus import CommandBus
from controller.commands import SETTINGS_BY_NAME, CommandLimits, CommandName
from controller.hub import SnapshotHub
from controller.setpoints import Setpoints
from controller.snapshot import Mode
from controller.step.core import apply_commands
from controller.step.state import SourcedCommand
from tests.web.web_rig import make_snapshot
from web.app import create_app
from web.config import HttpSection
from web.context import WebContext
from web.memory_history import MemoryHistory
from web.tokens import TokenStore, load_or_create_token

CAP_PA = 40.0
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
PROBLEM_KEYS = {"message", "field", "value", "expected"}
HOSTILE: list[object] = [
    "5" * 100_000,
    "1e999999999",
    "1e308",
    "-1e400 Pa",
    "3 Pa * Pa / Pa ** 9999",
    "((((((((((1))))))))))" * 200,
    "1 Pa Pa Pa Pa Pa Pa Pa Pa Pa Pa",
    "1 m*s*kg*A*K*mol*cd/Pa",
    "NaN",
    "Infinity",
    "-inf",
    "\u0665\u0660",
    "\u202e40",
    "40\x00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59+14:00",
    "1970-01-01T00:00:00Z",
    "2026-11-30T12:00:00+23:59",
    10**400,
    -(10**30),
    1e308,
    True,
    None,
    [],
    {"a": {"b": {"c": []}}},
]


async def _answer_commands(commands: CommandBus) -> None:
    """The loop's part: every pending command answered by the pure step's `apply_commands`."""
    points = Setpoints(Mode.AUTO, 50.0, 5.0, 2.0, None, BatteryState())
    while True:
        pending = commands.take_pending()
        if pending:
            sourced = tuple(SourcedCommand(p.source, p.command) for p in pending)
            points, results, _events = apply_commands(points, sourced, 0.0, NOW, CAP_PA)
            for waiting, result in zip(pending, results, strict=True):
                waiting.result.set_result(result)
        await asyncio.sleep(0.001)


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    hub, commands = SnapshotHub(), CommandBus()
    context = WebContext(
        controller_id="room-1", section=HttpSection(), hub=hub, commands=commands, tokens=TokenStore(tmp_path),
        memory=MemoryHistory(), history=None, limits=CommandLimits(CAP_PA),
    )  # fmt: skip
    hub.publish(make_snapshot(0))
    answering = asyncio.create_task(_answer_commands(commands))
    transport = httpx.ASGITransport(app=create_app(context), raise_app_exceptions=False)
    headers = {"Authorization": f"Bearer {load_or_create_token(tmp_path)}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://room.local") as http:
        yield http, headers
    answering.cancel()


def check_answer(response: httpx.Response, name: str | None = None) -> None:
    assert response.status_code < 500, response.text[:500]
    assert "Traceback" not in response.text
    body = response.json()
    if response.status_code >= 400:
        assert set(body) == PROBLEM_KEYS, body
        assert body["message"]
        return
    if name is None or not body.get("accepted"):
        return
    setting = SETTINGS_BY_NAME[CommandName(name)]
    span = setting.range(CommandLimits(CAP_PA))
    numbers = [float(word) for word in body["message"].replace("%", " ").split() if _is_number(word)]
    if span is not None and setting.unit is not None and setting.unit.suffix in ("pct", "pa") and numbers:
        assert span[0] <= numbers[0] <= span[1], body


def _is_number(word: str) -> bool:
    try:
        return math.isfinite(float(word))
    except ValueError:
        return False


@pytest.mark.parametrize("name", [c.value for c in CommandName])
async def test_hostile_command_values(client: tuple[httpx.AsyncClient, dict[str, str]], name: str) -> None:
    http, headers = client
    for value in HOSTILE:
        body = json.dumps({"value": value}) if not isinstance(value, int) or abs(value) < 10**300 else None
        content = body if body is not None else '{"value": ' + str(value) + "}"
        response = await http.post(f"/api/commands/{name}", content=content, headers=headers)
        check_answer(response, name)


@pytest.mark.parametrize(
    "content",
    ["", "not json", "{", '{"value": 1, "value": 2}', '{"valu": 1}', "[1]", '"x"', "{" * 5000 + "}" * 5000,
     '{"value": NaN}', '{"value": Infinity}', '{"value": 1e999}'],
)  # fmt: skip
async def test_malformed_bodies_and_unknown_commands(
    client: tuple[httpx.AsyncClient, dict[str, str]], content: str
) -> None:
    http, headers = client
    for path in ("/api/commands/speed", "/api/commands/nonsense", "/api/mode", "/api/commands/" + "x" * 5000):
        check_answer(await http.post(path, content=content, headers=headers))


async def test_hostile_query_parameters(client: tuple[httpx.AsyncClient, dict[str, str]]) -> None:
    http, _headers = client
    texts = [
        v for v in HOSTILE if isinstance(v, str) and len(v) < 20_000
    ]  # httpx refuses longer URLs + ["2026-11-30", "", "T", "2026-11-30T25:00Z"]
    for text in texts:
        for path, key in (("/api/history", "start"), ("/api/history", "end"), ("/api/events", "start")):
            check_answer(await http.get(path, params={key: text}))
        for key in ("resolution", "limit"):
            path = "/api/history" if key == "resolution" else "/api/events"
            check_answer(await http.get(path, params={key: text}))
    check_answer(await http.get("/api/history", params=[("metrics", "x" * 10_000), ("metrics", "\u0000")]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from([c.value for c in CommandName]),
    value=st.one_of(
        st.text(max_size=80),
        st.floats(),
        st.integers(min_value=-(10**20), max_value=10**20),
        st.from_regex(r"[+-]?[0-9.eE+-]{1,12} ?(Pa|%|W|inWC|days|h|s|min|kPa|bar)?", fullmatch=True),
    ),
)
async def test_any_value_is_accepted_in_range_or_refused_clearly(
    client: tuple[httpx.AsyncClient, dict[str, str]], name: str, value: object
) -> None:
    http, headers = client
    content = json.dumps({"value": value})
    check_answer(await http.post(f"/api/commands/{name}", content=content, headers=headers), name)

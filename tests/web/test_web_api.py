"""The HTTP API through httpx against the ASGI app, with a stand-in loop answering commands."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from controller.command_bus import CommandBus
from controller.commands import SetDeadline, SetMode, SetSpeed
from controller.hub import SnapshotHub
from controller.metrics import METRICS
from controller.snapshot import Event, EventKind, Mode, Snapshot
from tests.web.web_rig import FakeLoop, make_snapshot, with_alert
from web.app import STATIC_DIR, create_app
from web.config import HttpSection, ReadAccess
from web.context import WebContext
from web.memory_history import MemoryHistory
from web.models import StateModel
from web.tokens import TokenStore, load_or_create_token


@dataclasses.dataclass
class Rig:
    client: httpx.AsyncClient
    loop: FakeLoop
    context: WebContext
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def _answering(loop: FakeLoop) -> None:
    """Tick whenever a command waits, so that submit() gets the loop's answer."""
    while True:
        if loop.commands._pending:
            loop.tick()
        await asyncio.sleep(0.005)


async def _rig(tmp_path: Path, section: HttpSection, history: object | None = None) -> AsyncIterator[Rig]:
    hub, commands = SnapshotHub(), CommandBus()
    context = WebContext(
        controller_id="room-1",
        section=section,
        hub=hub,
        commands=commands,
        tokens=TokenStore(tmp_path),
        memory=MemoryHistory(),
        history=history,  # type: ignore[arg-type]
    )
    loop = FakeLoop(hub, commands)
    loop.observers.append(lambda snapshot: context.memory.add(snapshot, snapshot.events))
    transport = httpx.ASGITransport(app=create_app(context), client=("192.168.1.50", 50000))
    answering = asyncio.create_task(_answering(loop))
    async with httpx.AsyncClient(transport=transport, base_url="http://room.local") as client:
        yield Rig(client, loop, context, load_or_create_token(tmp_path))
    answering.cancel()


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async for r in _rig(tmp_path, HttpSection()):
        yield r


def publish(rig: Rig, snapshots: int = 1) -> Snapshot:
    """Let the loop tick (the memory history observes every snapshot, as the sink's subscription does)."""
    snapshot = rig.loop.tick()
    for _ in range(snapshots - 1):
        snapshot = rig.loop.tick()
    return snapshot


async def test_state_is_503_until_the_loop_publishes_then_every_snapshot_field(rig: Rig) -> None:
    early = await rig.client.get("/api/state")
    assert early.status_code == 503
    assert "not published" in early.json()["message"]
    snapshot = publish(rig)
    body = (await rig.client.get("/api/state")).json()
    assert set(body) == set(snapshot.to_dict())
    assert body == json.loads(json.dumps(snapshot.to_dict()))
    StateModel.model_validate(body)
    assert body["soc_pct"] == pytest.approx(snapshot.soc_pct)
    assert body["mode"] == "auto"
    assert datetime.fromisoformat(body["timestamp_utc"].replace("Z", "+00:00")) == snapshot.timestamp_utc


def test_state_model_documents_every_snapshot_field() -> None:
    documented = set(StateModel.model_fields)
    assert {f.name for f in dataclasses.fields(Snapshot)} <= documented
    assert set(make_snapshot().to_dict()) <= documented


async def test_mode_command_needs_the_token(rig: Rig) -> None:
    publish(rig)
    missing = await rig.client.post("/api/mode", json={"mode": "eco"})
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = await rig.client.post("/api/mode", json={"mode": "eco"}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert rig.loop.received == []
    assert rig.token not in missing.text + wrong.text


async def test_mode_command_reaches_the_loop_and_changes_the_state(rig: Rig) -> None:
    publish(rig)
    answer = await rig.client.post("/api/mode", json={"mode": "eco"}, headers=rig.auth)
    assert answer.status_code == 200
    assert answer.json() == {"command": "mode", "accepted": True, "message": "mode set to eco"}
    assert rig.loop.received == [SetMode(Mode.ECO)]
    assert (await rig.client.get("/api/state")).json()["mode"] == "eco"
    events = (await rig.client.get("/api/events")).json()["events"]
    assert any(e["kind"] == "command_accepted" and "http 192.168.1.50" in e["message"] for e in events)


async def test_bad_mode_names_field_value_and_expected(rig: Rig) -> None:
    answer = await rig.client.post("/api/mode", json={"mode": "turbo"}, headers=rig.auth)
    assert answer.status_code == 400
    body = answer.json()
    assert body["field"] == "mode"
    assert body["value"] == '"turbo"'
    assert body["expected"] == "one of manual, pressure, runtime, auto, eco"
    assert rig.loop.received == []


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("speed", "40 %", SetSpeed(40.0)),
        ("speed", 65, SetSpeed(65.0)),
        ("deadline", "7 days", SetDeadline(None, 7 * 86400.0)),
        ("deadline", "2026-12-01T18:00:00Z", SetDeadline(datetime(2026, 12, 1, 18, tzinfo=UTC), None)),
        ("deadline", "none", SetDeadline(None, None)),
    ],
)
async def test_commands_are_parsed_like_configuration(rig: Rig, name: str, value: object, expected: object) -> None:
    publish(rig)
    answer = await rig.client.post(f"/api/commands/{name}", json={"value": value}, headers=rig.auth)
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] is True
    assert rig.loop.received == [expected]


@pytest.mark.parametrize(
    ("name", "value", "expected_part"),
    [
        ("speed", 150, "percentage from 0 to 100"),
        ("pressure_floor", "5 V", "pressure from 0 to 99.5 Pa"),
        ("soc", "lots", "percentage"),
        ("deadline", "next tuesday", "ISO 8601"),
    ],
)
async def test_bad_command_values_are_400_with_units(rig: Rig, name: str, value: object, expected_part: str) -> None:
    answer = await rig.client.post(f"/api/commands/{name}", json={"value": value}, headers=rig.auth)
    assert answer.status_code == 400
    body = answer.json()
    assert body["field"] == name
    assert expected_part in body["expected"]
    assert str(value) in body["value"]


async def test_unknown_command_is_rejected_by_the_schema(rig: Rig) -> None:
    answer = await rig.client.post("/api/commands/turbo", json={"value": 1}, headers=rig.auth)
    assert answer.status_code == 422
    assert answer.json()["field"] == "name"  # the documented problem form, not FastAPI's own 422 shape


async def test_alerts_and_healthz(rig: Rig) -> None:
    assert (await rig.client.get("/healthz")).json()["status"] == "starting"
    with_alert(rig.loop)
    publish(rig)
    alerts = (await rig.client.get("/api/alerts")).json()
    assert [a["kind"] for a in alerts["alerts"]] == ["pressure_low"]
    health = (await rig.client.get("/healthz")).json()
    assert health["status"] == "ok"
    assert health["max_clients"] == 8


async def test_history_from_memory_is_averaged_and_bounded(rig: Rig) -> None:
    publish(rig, snapshots=24 * 60 + 30)  # a bit more than a day at one snapshot a minute
    body = (await rig.client.get("/api/history", params={"metrics": ["soc_pct", "pressure_pa"]})).json()
    assert body["source"] == "memory"
    assert set(body["series"]) == {"soc_pct", "pressure_pa"}
    assert 200 <= len(body["timestamps_utc"]) <= 288
    assert len(body["series"]["soc_pct"]) == len(body["timestamps_utc"])
    soc = [v for v in body["series"]["soc_pct"] if v is not None]
    assert soc == sorted(soc, reverse=True)
    fine = (await rig.client.get("/api/history", params={"metrics": "soc_pct", "resolution": 60})).json()
    assert len(fine["timestamps_utc"]) > 1000


async def test_history_range_and_metric_errors(rig: Rig) -> None:
    publish(rig)
    unknown = await rig.client.get("/api/history", params={"metrics": "bogus"})
    assert unknown.status_code == 400
    assert unknown.json()["field"] == "metrics"
    backwards = await rig.client.get(
        "/api/history", params={"start": "2026-11-23T00:00:00Z", "end": "2026-11-22T00:00:00Z"}
    )
    assert backwards.status_code == 400
    assert backwards.json()["field"] == "start"
    not_a_time = await rig.client.get("/api/events", params={"end": "83"})
    assert not_a_time.status_code == 400
    assert (not_a_time.json()["field"], not_a_time.json()["value"]) == ("end", '"83"')
    assert "ISO 8601" in not_a_time.json()["expected"]


class RecordingHistory:
    """A history reader with the engine's interface, answering from a list (or failing on demand)."""

    def __init__(self) -> None:
        self.fail = False
        self.calls: list[tuple[str, datetime, datetime, int]] = []

    def samples(
        self, controller_id: str, start_utc: datetime, end_utc: datetime, max_points: int = 500
    ) -> list[dict[str, object]]:
        if self.fail:
            raise OSError("database is locked")
        self.calls.append((controller_id, start_utc, end_utc, max_points))
        return [
            {"timestamp_utc": (start_utc + timedelta(hours=h)).isoformat(), "soc_pct": 90.0 - h, "flow_cfm": None}
            for h in range(3)
        ]

    def events(
        self, controller_id: str, start_utc: datetime, end_utc: datetime, limit: int = 200
    ) -> list[dict[str, object]]:
        if self.fail:
            raise OSError("database is locked")
        return [Event(EventKind.STARTED, "started", start_utc).to_dict()]


async def test_history_from_the_database_reader_and_fallback(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    reader = RecordingHistory()
    async for rig in _rig(tmp_path, HttpSection(), history=reader):
        publish(rig, snapshots=5)
        body = (await rig.client.get("/api/history", params={"metrics": ["soc_pct", "flow_cfm"]})).json()
        assert body["source"] == "database"
        assert body["series"] == {"soc_pct": [90.0, 89.0, 88.0], "flow_cfm": [None, None, None]}
        assert reader.calls[0][0] == "room-1"
        assert reader.calls[0][2] - reader.calls[0][1] == timedelta(hours=24)
        events = (await rig.client.get("/api/events")).json()
        assert (events["source"], events["events"][0]["kind"]) == ("database", "started")
        reader.fail = True
        fallback = (await rig.client.get("/api/history")).json()
        assert fallback["source"] == "memory"
        assert len(fallback["timestamps_utc"]) >= 1
        assert (await rig.client.get("/api/history")).json()["source"] == "memory"
        warnings = [r for r in caplog.records if "history database unavailable" in r.getMessage()]
        assert len(warnings) == 1


async def test_prometheus_metrics_follow_the_metrics_table(rig: Rig) -> None:
    snapshot = publish(rig)
    assert snapshot.soc_pct is not None
    text = (await rig.client.get("/metrics")).text
    assert f'cleanroom_soc_ratio{{controller_id="room-1"}} {snapshot.soc_pct * 0.01}' in text
    assert 'cleanroom_voltage_volts{controller_id="room-1"}' in text
    assert 'cleanroom_flow_cubic_meters_per_second{controller_id="room-1"}' in text
    assert 'cleanroom_mode{controller_id="room-1",mode="auto"} 1.0' in text
    assert "cleanroom_http_live_clients 0.0" in text
    gauges = [line for line in text.splitlines() if line.startswith("# TYPE cleanroom_")]
    assert len(gauges) >= len([m for m in METRICS if m.value(snapshot) is not None])


async def test_meta_drives_the_dashboard_from_the_metrics_table(rig: Rig) -> None:
    meta = (await rig.client.get("/api/meta")).json()
    assert [m["key"] for m in meta["metrics"]] == [m.key for m in METRICS]
    assert meta["modes"] == [m.value for m in Mode]
    assert "deadline" in meta["commands"]


async def test_token_only_read_access(tmp_path: Path) -> None:
    async for rig in _rig(tmp_path, HttpSection(read_access=ReadAccess.TOKEN)):
        publish(rig)
        for path in ("/api/state", "/api/history", "/api/events", "/api/alerts", "/metrics"):
            assert (await rig.client.get(path)).status_code == 401, path
            assert (await rig.client.get(path, headers=rig.auth)).status_code == 200, path
        assert (await rig.client.get("/healthz")).status_code == 200
        assert (await rig.client.get("/")).status_code == 200


async def test_cors_allows_only_configured_origins(tmp_path: Path) -> None:
    section = HttpSection(cors_origins=("http://homeassistant.local:8123",))
    async for rig in _rig(tmp_path, section):
        preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
        allowed = await rig.client.options(
            "/api/mode", headers={"Origin": "http://homeassistant.local:8123", **preflight}
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "http://homeassistant.local:8123"
        refused = await rig.client.options("/api/mode", headers={"Origin": "http://evil.example", **preflight})
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
    async for rig in _rig(tmp_path, HttpSection()):
        plain = await rig.client.get("/healthz", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in plain.headers


async def test_dashboard_files_are_small_local_and_free_of_secrets(rig: Rig) -> None:
    page = await rig.client.get("/")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    total = 0
    for path in sorted(STATIC_DIR.iterdir()):
        response = await rig.client.get(f"/{path.name}")
        assert response.status_code == 200, path.name
        total += len(response.content)
        text = response.content.decode("utf-8", "ignore")
        assert rig.token not in text
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") or path.suffix == ".png"
        assert "https://" not in text or path.suffix == ".png"
    assert total < 50_000
    manifest = (await rig.client.get("/manifest.json")).json()
    assert manifest["display"] == "standalone"
    for icon in manifest["icons"]:
        assert (await rig.client.get(f"/{icon['src']}")).status_code == 200


async def test_api_responses_are_not_cached_and_are_compressed(rig: Rig) -> None:
    publish(rig, snapshots=300)
    response = await rig.client.get("/api/history", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_openapi_documents_every_endpoint(rig: Rig) -> None:
    schema = (await rig.client.get("/openapi.json")).json()
    assert set(schema["paths"]) >= {
        "/api/state",
        "/api/mode",
        "/api/commands/{name}",
        "/api/history",
        "/api/events",
        "/api/alerts",
        "/api/live",
        "/api/meta",
        "/healthz",
        "/metrics",
    }
    state = schema["paths"]["/api/state"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert state == {"$ref": "#/components/schemas/StateModel"}
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    assert (await rig.client.get("/docs")).status_code == 404  # Swagger UI would load assets from a CDN

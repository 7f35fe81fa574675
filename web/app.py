"""The FastAPI application: JSON API, live updates, Prometheus metrics and the static dashboard.

Reads only the hub's snapshots; commands go through the command bus, the loop's one way in.
"""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Query, Request, Security
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from controller.commands import CommandName, parse_command
from controller.errors import ConfigError
from controller.metrics import METRICS
from controller.snapshot import Mode
from web.config import ReadAccess
from web.context import WebContext
from web.live import LiveResponse, SnapshotEncoder, stream_deliveries
from web.models import (
    AlertModel,
    AlertsModel,
    CommandRequest,
    CommandResponse,
    EventModel,
    EventsModel,
    HealthModel,
    HistoryModel,
    MetaModel,
    MetricInfo,
    ModeRequest,
    ProblemModel,
    StateModel,
)
from web.prometheus import build_registry

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
MAX_RANGE_S = 366 * 86400.0
MAX_POINTS = 2000
DEFAULT_POINTS = 288

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'"
)


BEARER = HTTPBearer(auto_error=False, description="the token shown by `cleanroom token`")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)]


class Problem(Exception):
    """A refused request, answered as a ProblemModel."""

    def __init__(
        self,
        status: int,
        message: str,
        field: str | None = None,
        value: object = None,
        expected: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.model = ProblemModel(
            message=message,
            field=field,
            value=None if value is None else json.dumps(value, default=str),
            expected=expected,
        )
        self.headers = headers


def _problem_responses(*codes: int) -> dict[int | str, dict[str, object]]:
    texts = {
        400: "Invalid value (names the field, the value and what was expected)",
        401: "Missing or wrong token",
        503: "Not available yet (no snapshot) or too many live clients",
    }
    return {code: {"model": ProblemModel, "description": texts[code]} for code in codes}


class SecurityHeaders:
    """Plain ASGI middleware (streaming-safe) adding hardening and caching headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                api = path.startswith("/api/") or path in ("/healthz", "/metrics", "/openapi.json")
                headers.setdefault("Cache-Control", "no-store" if api else "no-cache")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


TIME_EXPECTED = 'an ISO 8601 date and time, "2026-11-22T18:00:00Z" (UTC when no zone is given)'
StartParam = Annotated[
    str | None, Query(description="ISO 8601 date-time; default end - 24 h", json_schema_extra={"format": "date-time"})
]
EndParam = Annotated[
    str | None,
    Query(description="ISO 8601 date-time; default the newest snapshot", json_schema_extra={"format": "date-time"}),
]


def _timestamp(field: str, text: str | None) -> datetime | None:
    """Parse a query time strictly (a date and a time, like OpenAPI's date-time), naming the field if not."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or "T" not in text.upper():
        raise Problem(400, f"{field} is not a date and time", field, text, TIME_EXPECTED)
    return _aware(moment)


def create_app(context: WebContext) -> FastAPI:
    """The app for one controller; `context` holds the hub, the command bus and the token."""
    section = context.section
    app = FastAPI(
        title="cleanroom",
        summary="State, history, live updates and commands of a battery-backed clean room controller",
        version=metadata.version("cleanroom"),
        docs_url=None,
        redoc_url=None,
    )

    @app.exception_handler(Problem)
    async def problem_handler(_request: Request, exc: Problem) -> JSONResponse:
        return JSONResponse(exc.model.model_dump(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error_handler(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        problem = ProblemModel(message=str(exc.detail))
        return JSONResponse(problem.model_dump(), status_code=exc.status_code, headers=exc.headers)

    def authorize(credentials: HTTPAuthorizationCredentials | None, what: str) -> None:
        presented = credentials.credentials if credentials is not None else None
        if not context.tokens.check(presented):
            raise Problem(
                401,
                f"{what} need the API token (`cleanroom token` shows it), as 'Authorization: Bearer <token>'",
                field="Authorization",
                expected="Bearer <token>",
                headers={"WWW-Authenticate": "Bearer"},
            )

    async def require_token(credentials: Credentials) -> None:
        authorize(credentials, "commands")

    async def require_read_token(credentials: Credentials) -> None:
        authorize(credentials, "reads (this controller has read_access = \"token\")")

    protected_read = section.read_access is ReadAccess.TOKEN
    read_deps = [Depends(require_read_token)] if protected_read else []
    read_errors = _problem_responses(401) if protected_read else {}

    encoder = SnapshotEncoder()

    def latest_json() -> Response:
        snapshot = context.latest
        if snapshot is None:
            raise Problem(503, "the control loop has not published a snapshot yet", headers={"Retry-After": "2"})
        return Response(encoder.text(snapshot), media_type="application/json")

    def time_range(start_text: str | None, end_text: str | None) -> tuple[datetime, datetime]:
        start, end = _timestamp("start", start_text), _timestamp("end", end_text)
        try:
            end_utc = end if end is not None else context.now_utc()
            start_utc = start if start is not None else end_utc - timedelta(hours=24)
        except (OverflowError, ValueError) as exc:
            raise Problem(400, "time out of range", "end", str(end), "a time between years 1 and 9999") from exc
        span_s = (end_utc - start_utc).total_seconds()
        if span_s <= 0:
            raise Problem(400, "start must be before end", "start", start_utc.isoformat(), f"before {end_utc}")
        if span_s > MAX_RANGE_S:
            raise Problem(400, "range too long", "start", start_utc.isoformat(), "a range of at most 366 days")
        return start_utc, end_utc

    @app.get("/healthz", response_model=HealthModel, tags=["service"], summary="Liveness and data freshness")
    async def healthz() -> HealthModel:
        snapshot = context.latest
        return HealthModel(
            status="stopping" if context.hub.closed else ("ok" if snapshot is not None else "starting"),
            controller_id=context.controller_id,
            snapshot_utc=snapshot.timestamp_utc if snapshot is not None else None,
            live_clients=context.live_clients,
            max_clients=section.max_clients,
        )

    registry = build_registry(lambda: context.latest, lambda: context.live_clients)

    @app.get(
        "/metrics",
        tags=["service"],
        summary="Prometheus metrics",
        dependencies=read_deps,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}, **read_errors},
        response_class=Response,
    )
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/api/meta", response_model=MetaModel, tags=["state"], summary="Labels, units, modes and commands")
    async def meta() -> MetaModel:
        return MetaModel(
            controller_id=context.controller_id,
            version=app.version,
            read_access=section.read_access.value,
            metrics=[
                MetricInfo(
                    key=m.key, label=m.label, unit=m.unit.home_assistant, device_class=m.device_class,
                    state_class=m.state_class, precision=m.precision, recorded=m.recorded,
                )
                for m in METRICS
            ],
            modes=list(Mode),
            commands=list(CommandName),
        )

    @app.get(
        "/api/state",
        response_model=StateModel,
        tags=["state"],
        summary="The newest snapshot",
        dependencies=read_deps,
        responses={**_problem_responses(503), **read_errors},
    )
    async def state() -> Response:
        return latest_json()

    @app.get(
        "/api/alerts",
        response_model=AlertsModel,
        tags=["state"],
        summary="Active alerts",
        dependencies=read_deps,
        responses=read_errors,
    )
    async def alerts() -> AlertsModel:
        snapshot = context.latest
        return AlertsModel(
            controller_id=context.controller_id,
            timestamp_utc=snapshot.timestamp_utc if snapshot is not None else None,
            alerts=[AlertModel.model_validate(a.to_dict()) for a in snapshot.alerts] if snapshot else [],
        )

    @app.get(
        "/api/history",
        response_model=HistoryModel,
        tags=["history"],
        summary="Averaged samples over a range (default: the last 24 h)",
        dependencies=read_deps,
        responses={**_problem_responses(400), **read_errors},
    )
    async def history(
        start: StartParam = None,
        end: EndParam = None,
        resolution: Annotated[
            float | None, Query(ge=1, le=86400, description="seconds per point; default range / 288")
        ] = None,
        metrics: Annotated[
            list[str] | None, Query(description="metric keys (repeat the parameter); default all recorded")
        ] = None,
    ) -> HistoryModel:
        start_utc, end_utc = time_range(start, end)
        recorded = [m.key for m in METRICS if m.recorded]
        keys = metrics or recorded
        for key in keys:
            if key not in recorded:
                raise Problem(400, f"unknown metric {key!r}", "metrics", key, f"one of {', '.join(recorded)}")
        span_s = (end_utc - start_utc).total_seconds()
        points = DEFAULT_POINTS if resolution is None else math.ceil(span_s / resolution)
        points = max(1, min(MAX_POINTS, points))
        source, rows = await context.read_history(start_utc, end_utc, points)
        stamps: list[datetime] = []
        series: dict[str, list[float | None]] = {key: [] for key in keys}
        for row in rows:
            stamp = row.get("timestamp_utc")
            stamps.append(_aware(stamp if isinstance(stamp, datetime) else datetime.fromisoformat(str(stamp))))
            for key in keys:
                value = row.get(key)
                series[key].append(
                    float(value) if isinstance(value, int | float) and math.isfinite(value) else None
                )
        return HistoryModel(
            controller_id=context.controller_id,
            source=source,
            start_utc=start_utc,
            end_utc=end_utc,
            resolution_s=span_s / points,
            timestamps_utc=stamps,
            series=series,
        )

    @app.get(
        "/api/events",
        response_model=EventsModel,
        tags=["history"],
        summary="Events over a range (default: the last 24 h)",
        dependencies=read_deps,
        responses={**_problem_responses(400), **read_errors},
    )
    async def events(
        start: StartParam = None,
        end: EndParam = None,
        limit: Annotated[int, Query(ge=1, le=1000, description="at most this many, the newest")] = 200,
    ) -> EventsModel:
        start_utc, end_utc = time_range(start, end)
        source, rows = await context.read_events(start_utc, end_utc, limit)
        return EventsModel(
            controller_id=context.controller_id,
            source=source,
            start_utc=start_utc,
            end_utc=end_utc,
            events=[EventModel.model_validate(row) for row in rows],
        )

    @app.get(
        "/api/live",
        tags=["state"],
        summary="Server-sent events: `state` (the newest snapshot, coalesced) and `events` (every event)",
        dependencies=read_deps,
        response_class=Response,
        responses={
            200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}},
            **_problem_responses(503),
            **read_errors,
        },
    )
    async def live(
        max_messages: Annotated[
            int | None, Query(ge=1, le=100000, description="end the stream after this many states")
        ] = None,
    ) -> Response:
        if context.live_clients >= section.max_clients:
            raise Problem(
                503,
                f"too many live clients (at most {section.max_clients}); try again later",
                headers={"Retry-After": "10"},
            )
        context.live_clients += 1
        subscription = context.hub.subscribe("web-live", coalesce=True)
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                subscription.close()
                context.live_clients -= 1

        stream = stream_deliveries(subscription, encoder, section.push_interval_s, max_messages)
        return LiveResponse(stream, release)

    async def submit(name: CommandName, raw: object, request: Request) -> CommandResponse:
        try:
            command = parse_command(name.value, raw, source="http", limits=context.limits)
        except ConfigError as exc:
            raise Problem(400, str(exc), exc.key, exc.value, exc.expected) from exc
        peer = request.client.host if request.client is not None else "unknown"
        result = await context.commands.submit(command, f"http {peer}", timeout_s=section.command_timeout_s)
        log.info("command %s from %s: %s", name.value, peer, "accepted" if result.accepted else "rejected")
        return CommandResponse(command=name, accepted=result.accepted, message=result.message)

    @app.post(
        "/api/mode",
        response_model=CommandResponse,
        tags=["commands"],
        summary="Switch the control mode",
        dependencies=[Depends(require_token)],
        responses=_problem_responses(400, 401),
    )
    async def set_mode(body: ModeRequest, request: Request) -> CommandResponse:
        return await submit(CommandName.MODE, body.mode, request)

    @app.post(
        "/api/commands/{name}",
        response_model=CommandResponse,
        tags=["commands"],
        summary="Send a command (mode, speed, pressure_setpoint, pressure_floor, deadline, soc)",
        dependencies=[Depends(require_token)],
        responses=_problem_responses(400, 401),
    )
    async def command(name: CommandName, body: CommandRequest, request: Request) -> CommandResponse:
        return await submit(name, body.value, request)

    app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="dashboard")
    app.add_middleware(GZipMiddleware, minimum_size=600)
    if section.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(section.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            allow_credentials=False,
            max_age=600,
        )
    app.add_middleware(SecurityHeaders)
    return app

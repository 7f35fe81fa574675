"""Averaged samples and events over a time range (read endpoints: `create_app` adds the read guard)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from controller.metrics import METRICS
from web.context import WebContext
from web.deps import Context
from web.models import EventModel, EventsModel, HistoryModel
from web.problems import Problem, problem_responses

MAX_RANGE_S = 366 * 86400.0
MAX_POINTS = 2000
DEFAULT_POINTS = 288

TIME_EXPECTED = 'an ISO 8601 date and time, "2026-11-22T18:00:00Z" (UTC when no zone is given)'
StartParam = Annotated[
    str | None, Query(description="ISO 8601 date-time; default end - 24 h", json_schema_extra={"format": "date-time"})
]
EndParam = Annotated[
    str | None,
    Query(description="ISO 8601 date-time; default the newest snapshot", json_schema_extra={"format": "date-time"}),
]

router = APIRouter(tags=["history"], responses=problem_responses(400, 422))


MAX_TIME_CHARS = 64


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _timestamp(field: str, text: str | None) -> datetime | None:
    """Parse a query time strictly (a date and a time, like OpenAPI's date-time), naming the field if not."""
    if text is None:
        return None
    try:
        moment = None if len(text) > MAX_TIME_CHARS else datetime.fromisoformat(_zulu(text))
        aware = None if moment is None else _aware(moment)
    except (ValueError, OverflowError):  # OverflowError: a zone offset that pushes year 1 or 9999 out of range
        aware = None
    if aware is None or "T" not in text.upper():
        raise Problem(400, f"{field} is not a date and time", field, text, TIME_EXPECTED)
    return aware


def _zulu(text: str) -> str:
    return text.strip().replace("z", "Z").replace("Z", "+00:00")


def _time_range(context: WebContext, start_text: str | None, end_text: str | None) -> tuple[datetime, datetime]:
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


def _series(rows: list[dict[str, object]], keys: list[str]) -> tuple[list[datetime], dict[str, list[float | None]]]:
    """Timestamps and one column per key; missing or non-finite values become None."""
    stamps: list[datetime] = []
    series: dict[str, list[float | None]] = {key: [] for key in keys}
    for row in rows:
        stamp = row.get("timestamp_utc")
        stamps.append(_aware(stamp if isinstance(stamp, datetime) else datetime.fromisoformat(str(stamp))))
        for key in keys:
            value = row.get(key)
            series[key].append(float(value) if isinstance(value, int | float) and math.isfinite(value) else None)
    return stamps, series


@router.get(
    "/api/history",
    response_model=HistoryModel,
    summary="Averaged samples over a range (default: the last 24 h)",
)
async def history(
    context: Context,
    start: StartParam = None,
    end: EndParam = None,
    resolution: Annotated[
        float | None, Query(ge=1, le=86400, description="seconds per point; default range / 288")
    ] = None,
    metrics: Annotated[
        list[str] | None, Query(description="metric keys (repeat the parameter); default all recorded")
    ] = None,
) -> HistoryModel:
    start_utc, end_utc = _time_range(context, start, end)
    recorded = [m.key for m in METRICS if m.recorded]
    keys = metrics or recorded
    for key in keys:
        if key not in recorded:
            raise Problem(400, f"unknown metric {key!r}", "metrics", key, f"one of {', '.join(recorded)}")
    span_s = (end_utc - start_utc).total_seconds()
    points = DEFAULT_POINTS if resolution is None else math.ceil(span_s / resolution)
    points = max(1, min(MAX_POINTS, points))
    source, rows = await context.read_history(start_utc, end_utc, points)
    stamps, series = _series(rows, keys)
    return HistoryModel(
        controller_id=context.controller_id,
        source=source,
        start_utc=start_utc,
        end_utc=end_utc,
        resolution_s=span_s / points,
        timestamps_utc=stamps,
        series=series,
    )


@router.get(
    "/api/events",
    response_model=EventsModel,
    summary="Events over a range (default: the last 24 h)",
)
async def events(
    context: Context,
    start: StartParam = None,
    end: EndParam = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="at most this many, the newest")] = 200,
) -> EventsModel:
    start_utc, end_utc = _time_range(context, start, end)
    source, rows = await context.read_events(start_utc, end_utc, limit)
    return EventsModel(
        controller_id=context.controller_id,
        source=source,
        start_utc=start_utc,
        end_utc=end_utc,
        events=[EventModel.model_validate(row) for row in rows],
    )

"""The newest snapshot, active alerts and the live stream (read endpoints: `create_app` adds the read guard)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from web.deps import Context, Encoder
from web.live import LiveResponse, stream_deliveries
from web.models import AlertModel, AlertsModel, StateModel
from web.problems import Problem, problem_responses

router = APIRouter()


@router.get(
    "/api/state",
    response_model=StateModel,
    tags=["state"],
    summary="The newest snapshot",
    responses=problem_responses(503),
)
async def state(context: Context, encoder: Encoder) -> Response:
    snapshot = context.latest
    if snapshot is None:
        raise Problem(503, "the control loop has not published a snapshot yet", headers={"Retry-After": "2"})
    return Response(encoder.text(snapshot), media_type="application/json")


@router.get("/api/alerts", response_model=AlertsModel, tags=["state"], summary="Active alerts")
async def alerts(context: Context) -> AlertsModel:
    snapshot = context.latest
    return AlertsModel(
        controller_id=context.controller_id,
        timestamp_utc=snapshot.timestamp_utc if snapshot is not None else None,
        alerts=[AlertModel.model_validate(a.to_dict()) for a in snapshot.alerts] if snapshot else [],
    )


@router.get(
    "/api/live",
    tags=["state"],
    summary="Server-sent events: `state` (the newest snapshot, coalesced) and `events` (every event)",
    response_class=Response,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}, **problem_responses(503)},
)
async def live(
    request: Request,
    context: Context,
    encoder: Encoder,
    max_messages: Annotated[
        int | None, Query(ge=1, le=100000, description="end the stream after this many states")
    ] = None,
) -> Response:
    section = context.section
    address = request.client.host if request.client is not None else "unknown"
    if context.live_clients >= section.max_clients:
        raise Problem(
            503,
            f"too many live clients (at most {section.max_clients}); try again later",
            headers={"Retry-After": "10"},
        )
    if context.live_by_address.get(address, 0) >= section.max_clients_per_address:
        raise Problem(
            503,
            f"too many live clients from {address} (at most {section.max_clients_per_address}); try again later",
            headers={"Retry-After": "10"},
        )
    context.live_clients += 1
    context.live_by_address[address] = context.live_by_address.get(address, 0) + 1
    subscription = context.hub.subscribe("web-live", coalesce=True)
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            released = True
            subscription.close()
            context.live_clients -= 1
            left = context.live_by_address.get(address, 1) - 1
            if left > 0:
                context.live_by_address[address] = left
            else:
                context.live_by_address.pop(address, None)

    stream = stream_deliveries(subscription, encoder, section.push_interval_s, max_messages)
    return LiveResponse(stream, release, section.live_write_timeout_s)

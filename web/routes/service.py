"""Endpoints anyone may read: liveness and the labels, units, modes and commands the dashboard is built from."""

from __future__ import annotations

from fastapi import APIRouter, Request

from web.deps import Context
from web.meta import build_meta
from web.models import HealthModel, MetaModel

router = APIRouter()


@router.get("/healthz", response_model=HealthModel, tags=["service"], summary="Liveness and data freshness")
async def healthz(context: Context) -> HealthModel:
    snapshot = context.latest
    return HealthModel(
        status="stopping" if context.hub.closed else ("ok" if snapshot is not None else "starting"),
        controller_id=context.controller_id,
        snapshot_utc=snapshot.timestamp_utc if snapshot is not None else None,
        live_clients=context.live_clients,
        max_clients=context.section.max_clients,
    )


@router.get(
    "/api/meta", response_model=MetaModel, tags=["state"], summary="Labels, units, thresholds, alarms and commands"
)
async def meta(context: Context, request: Request) -> MetaModel:
    return build_meta(context, request.app.version)

"""Endpoints anyone may read: liveness and the labels, units, modes and commands the dashboard is built from."""

from __future__ import annotations

from fastapi import APIRouter, Request

from controller.commands import CommandName
from controller.metrics import METRICS
from controller.snapshot import Mode
from web.deps import Context
from web.models import HealthModel, MetaModel, MetricInfo

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


@router.get("/api/meta", response_model=MetaModel, tags=["state"], summary="Labels, units, modes and commands")
async def meta(context: Context, request: Request) -> MetaModel:
    return MetaModel(
        controller_id=context.controller_id,
        version=request.app.version,
        read_access=context.section.read_access.value,
        metrics=[
            MetricInfo(
                key=m.key,
                label=m.label,
                unit=m.unit.home_assistant,
                device_class=m.device_class,
                state_class=m.state_class,
                precision=m.precision,
                recorded=m.recorded,
            )
            for m in METRICS
        ],
        modes=list(Mode),
        commands=list(CommandName),
    )

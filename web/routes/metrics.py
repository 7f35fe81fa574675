"""Prometheus metrics (a read endpoint: `create_app` adds the read guard)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from web.deps import Registry

router = APIRouter()


@router.get(
    "/metrics",
    tags=["service"],
    summary="Prometheus metrics",
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    response_class=Response,
)
async def metrics(registry: Registry) -> Response:
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

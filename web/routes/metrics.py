"""Prometheus metrics (a read endpoint: `create_app` adds the read guard).

prometheus_client is imported at the first scrape: a controller nobody scrapes does not carry it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import Response

from web.deps import Context

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

router = APIRouter()


def _registry(request: Request, context: Context) -> CollectorRegistry:
    registry: CollectorRegistry | None = getattr(request.app.state, "registry", None)
    if registry is None:
        from web.prometheus import build_registry

        registry = build_registry(lambda: context.latest, lambda: context.live_clients)
        request.app.state.registry = registry
    return registry


@router.get(
    "/metrics",
    tags=["service"],
    summary="Prometheus metrics",
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    response_class=Response,
)
async def metrics(request: Request, context: Context) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return Response(generate_latest(_registry(request, context)), media_type=CONTENT_TYPE_LATEST)

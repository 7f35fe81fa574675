"""The FastAPI application: JSON API, live updates, Prometheus metrics and the static dashboard.

Reads only the hub's snapshots; commands go through the command bus, the loop's one way in.
Each area is a router in `web.routes`; this module assembles them for one controller.
"""

from __future__ import annotations

from importlib import metadata

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware

from web.context import WebContext
from web.deps import attach, read_guard
from web.middleware import RequestLimits, SecurityHeaders
from web.problems import add_problem_handlers
from web.routes import commands, history, metrics, service, state
from web.routes.dashboard import STATIC_DIR, mount_dashboard

__all__ = ["STATIC_DIR", "create_app"]


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
    attach(app, context)
    add_problem_handlers(app)
    read_dependencies, read_errors = read_guard(section)
    app.include_router(service.router)
    for read_router in (metrics.router, state.router, history.router):
        app.include_router(read_router, dependencies=read_dependencies, responses=read_errors)
    app.include_router(commands.router)
    mount_dashboard(app)
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
    app.add_middleware(RequestLimits, check_token=context.tokens.check, token_command=context.token_command)
    app.add_middleware(SecurityHeaders)
    return app

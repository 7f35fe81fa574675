"""The static dashboard, served last so that every API path wins over a file name."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def mount_dashboard(app: FastAPI) -> None:
    """Serve `web/static` (index.html at /)."""
    app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="dashboard")

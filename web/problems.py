"""Refused requests: one exception, one JSON body (ProblemModel) and the handlers that answer with it."""

from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from web.models import ProblemModel


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


def problem_responses(*codes: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI `responses` entries documenting these refusals."""
    texts = {
        400: "Invalid value (names the field, the value and what was expected)",
        401: "Missing or wrong token",
        503: "Not available yet (no snapshot) or too many live clients",
    }
    return {code: {"model": ProblemModel, "description": texts[code]} for code in codes}


async def _problem_handler(_request: Request, exc: Problem) -> JSONResponse:
    return JSONResponse(exc.model.model_dump(), status_code=exc.status, headers=exc.headers)


async def _http_error_handler(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    problem = ProblemModel(message=str(exc.detail))
    return JSONResponse(problem.model_dump(), status_code=exc.status_code, headers=exc.headers)


def add_problem_handlers(app: FastAPI) -> None:
    """Answer `Problem` and every HTTP error (404, 405, ...) with a ProblemModel body."""
    app.exception_handler(Problem)(_problem_handler)
    app.exception_handler(StarletteHTTPException)(_http_error_handler)

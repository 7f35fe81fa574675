"""Refused requests: one exception, one JSON body (ProblemModel) and the handlers that answer with it."""

from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from controller.errors import shorten
from web.models import ProblemModel

VALIDATION_STATUS = 422


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
            value=None if value is None else shorten(json.dumps(value, default=str)),
            expected=expected,
        )
        self.headers = headers


def problem_responses(*codes: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI `responses` entries documenting these refusals."""
    texts = {
        400: "Invalid value (names the field, the value and what was expected)",
        401: "Missing or wrong token",
        413: "Request body too large",
        422: "A request that does not have the documented shape (names the field, the value and what was expected)",
        503: "Not available yet (no snapshot) or too many live clients",
    }
    return {code: {"model": ProblemModel, "description": texts[code]} for code in codes}


async def _problem_handler(_request: Request, exc: Problem) -> JSONResponse:
    return JSONResponse(exc.model.model_dump(), status_code=exc.status, headers=exc.headers)


async def _http_error_handler(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    problem = ProblemModel(message=str(exc.detail))
    return JSONResponse(problem.model_dump(), status_code=exc.status_code, headers=exc.headers)


async def _validation_handler(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's own 422 shape, answered in the documented form instead: the first error's field, value and
    what was expected."""
    errors = exc.errors()
    first = errors[0] if errors else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "path", "query")]
    field = ".".join(location) or None
    given = first.get("input")
    expected = str(first.get("msg", "a request in the documented shape"))
    problem = ProblemModel(
        message=f"{field or 'request'}: {expected}" + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""),
        field=field,
        value=None if given is None else shorten(json.dumps(given, default=str)),
        expected=expected,
    )
    return JSONResponse(problem.model_dump(), status_code=VALIDATION_STATUS)


def add_problem_handlers(app: FastAPI) -> None:
    """Answer `Problem`, every HTTP error (404, 405, ...) and request validation errors with a ProblemModel
    body."""
    app.exception_handler(Problem)(_problem_handler)
    app.exception_handler(StarletteHTTPException)(_http_error_handler)
    app.exception_handler(RequestValidationError)(_validation_handler)

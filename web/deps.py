"""FastAPI dependencies shared by the routers: the app's context, its encoder, and the token checks."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, FastAPI, Request, Security
from fastapi.params import Depends as DependsParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from web.config import HttpSection, ReadAccess
from web.context import WebContext
from web.live import SnapshotEncoder
from web.problems import Problem, problem_responses

BEARER = HTTPBearer(auto_error=False, description="the token shown by `cleanroom token`")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)]


def attach(app: FastAPI, context: WebContext) -> None:
    """Give `app` what the dependencies below hand to the handlers."""
    app.state.context = context
    app.state.encoder = SnapshotEncoder()


def get_context(request: Request) -> WebContext:
    """The controller this app serves."""
    return cast(WebContext, request.app.state.context)


def get_encoder(request: Request) -> SnapshotEncoder:
    """The app's snapshot encoder (one JSON text per snapshot, however many clients ask)."""
    return cast(SnapshotEncoder, request.app.state.encoder)


Context = Annotated[WebContext, Depends(get_context)]
Encoder = Annotated[SnapshotEncoder, Depends(get_encoder)]


def _authorize(context: WebContext, credentials: HTTPAuthorizationCredentials | None, what: str) -> None:
    presented = credentials.credentials if credentials is not None else None
    if not context.tokens.check(presented):
        raise Problem(
            401,
            f"{what} need the API token (`{context.token_command}` shows it), as 'Authorization: Bearer <token>'",
            field="Authorization",
            expected="Bearer <token>",
            headers={"WWW-Authenticate": "Bearer"},
        )


async def require_token(context: Context, credentials: Credentials) -> None:
    """Commands always need the token."""
    _authorize(context, credentials, "commands")


async def require_read_token(context: Context, credentials: Credentials) -> None:
    """Reads need the token when the controller says so."""
    _authorize(context, credentials, 'reads (this controller has read_access = "token")')


def read_guard(section: HttpSection) -> tuple[list[DependsParam], dict[int | str, dict[str, object]]]:
    """The dependencies and documented refusals of the read endpoints under this section's read access."""
    if section.read_access is ReadAccess.TOKEN:
        return [Depends(require_read_token)], problem_responses(401)
    return [], {}

"""Commands (always token-protected); they go through the command bus, the loop's one way in."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request

from controller.commands import CommandName, parse_command
from controller.errors import ConfigError
from web.context import WebContext
from web.deps import Context, require_token
from web.models import CommandRequest, CommandResponse, ModeRequest
from web.problems import Problem, problem_responses

log = logging.getLogger(__name__)

router = APIRouter(
    tags=["commands"],
    dependencies=[Depends(require_token)],
    responses=problem_responses(400, 401, 422),
)


async def _submit(context: WebContext, name: CommandName, raw: object, request: Request) -> CommandResponse:
    try:
        command = parse_command(name.value, raw, source="http", limits=context.current_limits())
    except ConfigError as exc:
        raise Problem(400, str(exc), exc.key, exc.value, exc.expected) from exc
    except Exception as exc:  # a parser bug must not answer 500 to a value: refuse it, log the traceback
        log.exception("command %s: reading %r failed", name.value, raw)
        raise Problem(400, f"{name.value}: the value could not be read", name.value, raw) from exc
    peer = request.client.host if request.client is not None else "unknown"
    result = await context.commands.submit(command, f"http {peer}", timeout_s=context.section.command_timeout_s)
    log.info("command %s from %s: %s", name.value, peer, "accepted" if result.accepted else "rejected")
    return CommandResponse(command=name, accepted=result.accepted, message=result.message)


@router.post("/api/mode", response_model=CommandResponse, summary="Switch the control mode")
async def set_mode(body: ModeRequest, request: Request, context: Context) -> CommandResponse:
    return await _submit(context, CommandName.MODE, body.mode, request)


@router.post(
    "/api/commands/{name}",
    response_model=CommandResponse,
    summary="Send a command (mode, speed, pressure_setpoint, pressure_floor, deadline, soc)",
)
async def command(name: CommandName, body: CommandRequest, request: Request, context: Context) -> CommandResponse:
    return await _submit(context, name, body.value, request)

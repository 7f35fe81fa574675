"""The one serialized path from MQTT, HTTP and the CLI into the control loop (asyncio machinery; the
commands themselves and their parsing live in the pure `controller.commands`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from controller.commands import Command, CommandResult


@dataclass(slots=True)
class PendingCommand:
    """A command waiting for the next tick, with where it came from and who waits for the answer."""

    command: Command
    source: str
    result: asyncio.Future[CommandResult]


class CommandBus:
    """The one serialized path from the outside world into the control loop."""

    def __init__(self) -> None:
        self._pending: list[PendingCommand] = []

    def submit_nowait(self, command: Command, source: str) -> asyncio.Future[CommandResult]:
        """Queue a command for the next tick; the future resolves when the loop has decided."""
        future: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
        self._pending.append(PendingCommand(command, source, future))
        return future

    async def submit(self, command: Command, source: str, timeout_s: float = 10.0) -> CommandResult:
        """Queue a command and wait for the loop's answer."""
        future = self.submit_nowait(command, source)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout_s)
        except TimeoutError:
            return CommandResult(False, f"the control loop did not answer within {timeout_s:g} s")

    def take_pending(self) -> list[PendingCommand]:
        """Everything queued since the last call (the loop calls this once per tick)."""
        pending, self._pending = self._pending, []
        return pending

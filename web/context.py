"""What the request handlers share: the hub, the command bus, the token, the history sources."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from controller.alarm_config import AlertsSection
from controller.clock import Clock, SystemClock
from controller.command_bus import CommandBus
from controller.commands import CommandLimits
from controller.hub import SnapshotHub
from controller.snapshot import Snapshot
from web.config import HttpSection
from web.memory_history import MemoryHistory
from web.tokens import TokenStore

log = logging.getLogger(__name__)

Source = Literal["database", "memory"]


class HistoryReader(Protocol):
    """The history engine's read side (synchronous; called in a worker thread)."""

    def samples(
        self, controller_id: str, start_utc: datetime, end_utc: datetime, max_points: int = 500
    ) -> list[dict[str, object]]:
        """Samples with `timestamp_utc` (ISO text) and metric keys, oldest first."""
        ...

    def events(
        self, controller_id: str, start_utc: datetime, end_utc: datetime, limit: int = 200
    ) -> list[dict[str, object]]:
        """Events as `Event.to_dict()`, oldest first."""
        ...


@dataclass(slots=True)
class WebContext:
    """The shell's state for one running app."""

    controller_id: str
    section: HttpSection
    hub: SnapshotHub
    commands: CommandBus
    tokens: TokenStore
    memory: MemoryHistory
    history: HistoryReader | None = None
    limits: CommandLimits = field(default_factory=CommandLimits)
    alerts: AlertsSection = field(default_factory=AlertsSection)
    clock: Clock = field(default_factory=SystemClock)
    live_clients: int = 0
    live_by_address: dict[str, int] = field(default_factory=dict)
    history_failing: bool = False
    token_command: str = "cleanroom token"
    fan_settings: tuple[tuple[str, float], ...] = ()
    """A discrete fan's (setting, speed command in %), lowest first; empty for a continuous fan."""

    @property
    def latest(self) -> Snapshot | None:
        """The newest snapshot, if the loop has published one."""
        return self.hub.latest

    def current_limits(self) -> CommandLimits:
        """The configuration's command limits with the pressure floor the loop has in force."""
        latest = self.hub.latest
        return self.limits if latest is None else self.limits.with_floor(latest.pressure_floor_pa)

    def now_utc(self) -> datetime:
        """The newest snapshot's time (simulated time under `cleanroom sim`), else the wall clock."""
        latest = self.hub.latest
        return latest.timestamp_utc if latest is not None else self.clock.utc_now()

    async def read_history(
        self, start_utc: datetime, end_utc: datetime, max_points: int
    ) -> tuple[Source, list[dict[str, object]]]:
        """Samples from the database when there is one and it answers, else from memory."""
        if self.history is not None:
            try:
                rows = await asyncio.to_thread(
                    self.history.samples, self.controller_id, start_utc, end_utc, max_points=max_points
                )
            except Exception as exc:
                self._degraded(exc)
            else:
                self._recovered()
                return "database", rows
        return "memory", self.memory.samples(start_utc, end_utc, max_points)

    async def read_events(
        self, start_utc: datetime, end_utc: datetime, limit: int
    ) -> tuple[Source, list[dict[str, object]]]:
        """Events from the database when there is one and it answers (with the newest ones it has not
        written yet, kept in memory), else from memory."""
        recent = self.memory.events(start_utc, end_utc, limit)
        if self.history is not None:
            try:
                rows = await asyncio.to_thread(self.history.events, self.controller_id, start_utc, end_utc, limit=limit)
            except Exception as exc:
                self._degraded(exc)
            else:
                self._recovered()
                return "database", _merged(rows, recent, limit)
        return "memory", recent

    def _degraded(self, exc: Exception) -> None:
        if not self.history_failing:
            log.warning("history database unavailable, serving the in-memory history: %s", exc)
            self.history_failing = True

    def _recovered(self) -> None:
        if self.history_failing:
            log.info("history database answers again")
            self.history_failing = False


def _merged(stored: list[dict[str, object]], recent: list[dict[str, object]], limit: int) -> list[dict[str, object]]:
    """The database's events with the recent ones it does not have yet (its writes come in batches), newest
    `limit`, oldest first."""

    def at_ms(event: dict[str, object]) -> int:
        stamp = datetime.fromisoformat(str(event["timestamp_utc"]).replace("Z", "+00:00"))
        return round(stamp.timestamp() * 1000)

    def identity(event: dict[str, object]) -> tuple[int, str, str]:
        return at_ms(event), str(event["kind"]), str(event["message"])

    known = {identity(event) for event in stored}
    rows = stored + [event for event in recent if identity(event) not in known]
    rows.sort(key=at_ms)
    return rows[-limit:] if limit > 0 else []

"""The loop's one subscription point: every tick's snapshot goes out to the sinks (recorder, MQTT, web).

A coalescing subscriber (a phone, MQTT state) only ever sees the newest snapshot; a complete subscriber
(the recorder) sees every snapshot up to a bound. Either way no event is lost: the events of skipped
snapshots are handed over with the next delivery.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from controller.command_bus import CommandBus
from controller.condition import Condition
from controller.snapshot import AlertKind, Event, Snapshot

MAX_PENDING_EVENTS = 10_000


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a subscriber gets: a snapshot, every event since its previous delivery, and how many
    snapshots were skipped (coalesced, or dropped because the subscriber fell too far behind)."""

    snapshot: Snapshot
    events: tuple[Event, ...]
    skipped: int


class Subscription:
    """One reader's queue. Use `async for delivery in subscription`; it ends when the hub closes."""

    def __init__(self, hub: SnapshotHub, name: str, coalesce: bool, max_pending: int) -> None:
        self.name = name
        self._hub = hub
        self._coalesce = coalesce
        self._snapshots: deque[Snapshot] = deque(maxlen=1 if coalesce else max_pending)
        self._events: deque[Event] = deque(maxlen=MAX_PENDING_EVENTS)
        self._skipped = 0
        self._wake = asyncio.Event()
        self._closed = False
        self.dropped = 0

    def _offer(self, snapshot: Snapshot) -> None:
        if self._snapshots and len(self._snapshots) == self._snapshots.maxlen:
            self._skipped += 1
            if not self._coalesce:
                self.dropped += 1
        self._snapshots.append(snapshot)
        self._events.extend(snapshot.events)
        self._wake.set()

    def _close(self) -> None:
        self._closed = True
        self._wake.set()

    def get_nowait(self) -> Delivery | None:
        """The next delivery if one is waiting, else None."""
        if not self._snapshots:
            return None
        snapshot = self._snapshots.popleft()
        if self._coalesce or not self._snapshots:
            events = tuple(self._events)
            self._events.clear()
        else:
            events = snapshot.events
            for _ in snapshot.events:
                if self._events:
                    self._events.popleft()
        skipped, self._skipped = self._skipped, 0
        if not self._snapshots:
            self._wake.clear()
        return Delivery(snapshot, events, skipped)

    async def wait(self) -> None:
        """Until a delivery is waiting or the hub is closed, without taking it (a reader that paces itself
        takes it later, and gets the newest with every event since)."""
        while not self._snapshots and not self._closed:
            await self._wake.wait()

    async def get(self) -> Delivery | None:
        """Wait for the next delivery; None once the hub is closed and everything was delivered."""
        await self.wait()
        return self.get_nowait()

    def __aiter__(self) -> AsyncIterator[Delivery]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Delivery]:
        while (delivery := await self.get()) is not None:
            yield delivery

    def close(self) -> None:
        """Stop receiving."""
        self._hub.unsubscribe(self)
        self._close()


class SnapshotHub:
    """Fan-out of snapshots from the loop to any number of subscribers. Never blocks the loop."""

    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []
        self.latest: Snapshot | None = None
        self.closed = False
        self._conditions: dict[AlertKind, Condition] = {}

    def report(
        self, kind: AlertKind, active: bool, message: str, values: dict[str, float | None] | None = None
    ) -> None:
        """A sink says a condition started or ended; the loop reads `conditions` every tick."""
        self._conditions[kind] = Condition(kind, active, message, dict(values or {}))

    @property
    def conditions(self) -> tuple[Condition, ...]:
        """The latest report for every condition kind ever reported."""
        return tuple(self._conditions.values())

    def subscribe(self, name: str, *, coalesce: bool = True, max_pending: int = 100_000) -> Subscription:
        """A new subscription; it first receives the latest snapshot, if any."""
        subscription = Subscription(self, name, coalesce, max_pending)
        if self.latest is not None:
            subscription._offer(self.latest)
        if self.closed:
            subscription._close()
        self._subscriptions.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget a subscription."""
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions are open."""
        return len(self._subscriptions)

    def publish(self, snapshot: Snapshot) -> None:
        """Hand a snapshot to every subscriber (called by the loop once per tick)."""
        self.latest = snapshot
        for subscription in self._subscriptions:
            subscription._offer(snapshot)

    def close(self) -> None:
        """End every subscription once it has drained (called when the daemon stops)."""
        self.closed = True
        for subscription in list(self._subscriptions):
            subscription._close()


class Sink(Protocol):
    """A reader of snapshots (recorder, MQTT, web). `run` returns when the hub closes."""

    name: str

    async def run(self, hub: SnapshotHub, commands: CommandBus) -> None:
        """Read deliveries until the hub closes, then flush and return."""
        ...

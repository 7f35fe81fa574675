"""A problem a sink reports (e.g. the recorder's backlog), as a plain value the alert engine reads."""

from __future__ import annotations

from dataclasses import dataclass

from controller.snapshot import AlertKind


@dataclass(frozen=True, slots=True)
class Condition:
    """A sink's latest report on one condition; the engine turns active ones into alerts."""

    kind: AlertKind
    active: bool
    message: str
    values: dict[str, float | None]

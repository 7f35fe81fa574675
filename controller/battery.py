"""What the controller believes about the battery's charge, and whether that belief is synchronised.

Three sources, in order of trust: the shunt's own state of charge (it synchronises itself at full);
our own coulomb counter, for shunts that only report voltage and current (synchronised at full: charged
voltage, tail current, held for the charged-detection time); and a manual "set SoC". A belief restored
after a restart is marked unsynchronised, with its age, until the next sync.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import UTC, datetime

SECONDS_PER_HOUR = 3600.0


class SocSource(enum.StrEnum):
    """Where the state of charge comes from."""

    UNKNOWN = "unknown"
    SHUNT = "shunt"
    COUNTER = "counter"
    MANUAL = "manual"
    RESTORED = "restored"


@dataclass(frozen=True, slots=True)
class FullDetection:
    """When the battery counts as full (Victron's rule: V >= charged voltage and I <= tail current, held)."""

    capacity_ah: float
    charged_v: float
    tail_current_a: float
    charged_time_s: float


@dataclass(frozen=True, slots=True)
class BatteryState:
    """The controller's belief. `synced_at_utc` is wall time (for display and persistence)."""

    soc_pct: float | None = None
    source: SocSource = SocSource.UNKNOWN
    synced: bool = False
    synced_at_utc: datetime | None = None
    full_since_s: float | None = None
    capacity_learned_ah: float | None = None
    """The capacity the estimator learned between a full and an empty synchronisation (persisted)."""
    capacity_learned_utc: datetime | None = None

    def sync_age_s(self, now_utc: datetime) -> float | None:
        """Seconds since the last synchronisation (None when never)."""
        if self.synced_at_utc is None:
            return None
        return max(0.0, (now_utc - self.synced_at_utc).total_seconds())


def update_battery(
    state: BatteryState,
    *,
    now_s: float,
    now_utc: datetime,
    dt_s: float,
    fresh: bool,
    shunt_soc_pct: float | None,
    shunt_synced_age_s: float | None,
    voltage_v: float | None,
    current_a: float | None,
    full: FullDetection,
) -> BatteryState:
    """Advance the belief by one tick of readings (`fresh` False: the shunt is stale, nothing changes)."""
    if not fresh:
        return state
    if shunt_soc_pct is not None:
        synced_at = now_utc if shunt_synced_age_s is None else _ago(now_utc, shunt_synced_age_s)
        return replace(
            state,
            soc_pct=shunt_soc_pct,
            source=SocSource.SHUNT,
            synced=True,
            synced_at_utc=synced_at,
            full_since_s=None,
        )
    if current_a is None:
        return state
    soc = state.soc_pct
    if soc is not None:
        soc = min(100.0, max(0.0, soc + current_a * dt_s / SECONDS_PER_HOUR / full.capacity_ah * 100.0))
    looks_full = voltage_v is not None and voltage_v >= full.charged_v and 0.0 <= current_a <= full.tail_current_a
    full_since = (state.full_since_s if state.full_since_s is not None else now_s) if looks_full else None
    if full_since is not None and now_s - full_since >= full.charged_time_s:
        return replace(
            state, soc_pct=100.0, source=SocSource.COUNTER, synced=True, synced_at_utc=now_utc, full_since_s=full_since
        )
    source = (
        state.source if state.source in (SocSource.MANUAL, SocSource.RESTORED) or soc is None else SocSource.COUNTER
    )
    return replace(state, soc_pct=soc, source=source if soc is not None else SocSource.UNKNOWN, full_since_s=full_since)


def _ago(now_utc: datetime, seconds: float) -> datetime:
    return datetime.fromtimestamp(now_utc.timestamp() - seconds, UTC)


def set_soc(state: BatteryState, soc_pct: float, now_utc: datetime) -> BatteryState:
    """The user's manual 'set SoC': trusted as a synchronisation now."""
    return replace(
        state, soc_pct=soc_pct, source=SocSource.MANUAL, synced=True, synced_at_utc=now_utc, full_since_s=None
    )


def to_record(state: BatteryState, now_utc: datetime) -> dict[str, object]:
    """The persisted form (JSON-ready)."""
    return {
        "version": 1,
        "soc_pct": state.soc_pct,
        "source": state.source.value,
        "synced_at_utc": state.synced_at_utc.isoformat() if state.synced_at_utc else None,
        "saved_at_utc": now_utc.isoformat(),
        "capacity_learned_ah": state.capacity_learned_ah,
        "capacity_learned_utc": state.capacity_learned_utc.isoformat() if state.capacity_learned_utc else None,
    }


def from_record(record: dict[str, object]) -> BatteryState:
    """A belief restored after a restart: the same charge, marked unsynchronised (its age stays visible).

    Raises ValueError for a record that is not ours.
    """
    if record.get("version") != 1:
        raise ValueError(f"unknown battery state version {record.get('version')!r}")
    soc = record.get("soc_pct")
    if soc is not None and not (isinstance(soc, int | float) and 0.0 <= float(soc) <= 100.0):
        raise ValueError(f"soc_pct {soc!r} is not a percentage")
    synced_raw = record.get("synced_at_utc")
    synced_at = datetime.fromisoformat(synced_raw) if isinstance(synced_raw, str) else None
    learned = record.get("capacity_learned_ah")
    learned_raw = record.get("capacity_learned_utc")
    learned_ok = isinstance(learned, int | float) and 0.0 < float(learned) < 1e6 and isinstance(learned_raw, str)
    return BatteryState(
        None if soc is None else float(soc),
        SocSource.RESTORED if soc is not None else SocSource.UNKNOWN,
        False,
        synced_at,
        None,
        float(learned) if learned_ok and isinstance(learned, int | float) else None,
        datetime.fromisoformat(learned_raw) if learned_ok and isinstance(learned_raw, str) else None,
    )

"""What the battery estimator tells the user: the count and the voltage disagree or no synchronisation
for too long (`soc_unsynchronised`), and a learned capacity well below the configured one
(`capacity_low`). Conditions for the alarm catalogue's rows; pure."""

from __future__ import annotations

from datetime import datetime

from controller.alerts import AlertsSection
from controller.condition import Condition
from controller.snapshot import AlertKind
from controller.truth import TruthState

DAY_S = 86400.0


def _days(seconds: float) -> str:
    return f"{seconds / DAY_S:.1f} days" if seconds >= DAY_S else f"{seconds / 3600.0:.1f} h"


def sync_condition(truth: TruthState | None, alerts: AlertsSection, now_utc: datetime) -> Condition:
    """Active while the last voltage reading that could judge the count disagreed with it beyond both
    uncertainties, or when neither a full nor an empty synchronisation happened for `sync_max_age`."""
    kind = AlertKind.SOC_UNSYNCHRONISED
    if truth is None:
        return Condition(kind, False, "the battery estimate has not started", {})
    max_age_s = alerts.value("sync_max_age")
    since = truth.last_sync_utc or truth.started_utc
    age_s = None if since is None else max(0.0, (now_utc - since).total_seconds())
    values: dict[str, float | None] = {"sync_age_s": age_s, "disagreement_pct": truth.disagreement_pct}
    if truth.disagreement_pct is not None:
        message = (
            f"the voltage put the charge {truth.disagreement_pct:+.0f} % of capacity away from the shunt's count "
            "(beyond both uncertainties); the estimate follows the voltage until the next full charge or knee"
        )
        return Condition(kind, True, message, values)
    if age_s is not None and age_s > max_age_s:
        what = "synchronisation" if truth.last_sync_utc is None else f"synchronisation (last at {truth.last_sync})"
        message = (
            f"no {what} for {_days(age_s)} (limit {_days(max_age_s)}); the count drifts by the current offset "
            "and self-discharge: charge fully, or let the voltage reach the knee"
        )
        return Condition(kind, True, message, values)
    last = "none yet" if truth.last_sync is None else f"last at {truth.last_sync}"
    return Condition(kind, False, f"the shunt's count and the voltage agree ({last})", values)


def capacity_condition(truth: TruthState | None, alerts: AlertsSection, configured_ah: float) -> Condition:
    """Active while a learned capacity is below `capacity_low` percent of the configured one."""
    kind = AlertKind.CAPACITY_LOW
    if truth is None or truth.capacity_source != "learned":
        return Condition(kind, False, "no capacity learned yet: the configured one is in use", {})
    share_pct = 100.0 * truth.capacity_ah / configured_ah
    limit_pct = alerts.value("capacity_low")
    values: dict[str, float | None] = {"capacity_ah": round(truth.capacity_ah, 2), "share_pct": round(share_pct, 1)}
    words = (
        f"the capacity learned from a full-to-empty discharge is {truth.capacity_ah:.1f} Ah, {share_pct:.0f} % "
        f"of the configured {configured_ah:g} Ah"
    )
    if share_pct < limit_pct:
        return Condition(kind, True, f"{words} (alarm below {limit_pct:g} %); plans use the learned one", values)
    return Condition(kind, False, f"{words} (alarm below {limit_pct:g} %)", values)

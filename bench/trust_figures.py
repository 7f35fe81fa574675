"""The trust bench's figures from one run's ticks: what the controller said (its snapshots) next to what the
simulated battery really held (the plant), and a Victron-style estimate from the same snapshots.

`TrustWatch` is the run's `observe` callback: after every tick it keeps the few values the figures need.
The truth comes from the plant's charge through `controller.sim.truth`, never from the controller.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from controller.sim.plant import BatteryParams, PlantState
from controller.sim.truth import self_discharge_ah, stored_energy_wh
from controller.snapshot import Snapshot

BATTERY_ALERTS = frozenset(
    ("battery_low_soc", "battery_low_runtime", "deadline_at_risk", "soc_unsynchronised", "capacity_low")
)
"""The alerts that say something about the battery's energy (by value, so that kinds a newer controller adds
are counted without an edit here)."""
WARNING_ALERTS = frozenset(("deadline_at_risk", "soc_unsynchronised", "capacity_low"))
"""Of those, the ones that warn the battery is not what the plan assumed (a low-SoC alarm fires in every run)."""
DISCHARGE_POINTS = (0.25, 0.50, 0.75)
VICTRON_AVERAGE_S = 180.0


@dataclass(frozen=True, slots=True)
class RuntimeCheck:
    """At one point of the discharge: each estimate's relative error against the truth (None: no estimate)."""

    fraction: float
    hour: float
    controller_error: float | None
    victron_error: float | None


@dataclass(slots=True)
class TrustWatch:
    """Collects, tick by tick, the first battery alert and the runtime estimates at 25/50/75 % of the
    true energy spent. `snapshot` returns the controller's latest snapshot (None before the first tick)."""

    battery: BatteryParams
    """The battery as it really is (the plant's)."""
    configured_capacity_ah: float
    start_utc: datetime
    snapshot: Callable[[], Snapshot | None]
    first_alert_h: float | None = None
    first_alert_kind: str | None = None
    first_warning_h: float | None = None
    """The first of WARNING_ALERTS: what the target about a smaller battery asks for."""
    checks: list[RuntimeCheck] = field(default_factory=list)
    _start_wh: float | None = None
    _pending: tuple[float, Snapshot, float, float | None] | None = None
    _currents: collections.deque[tuple[float, float, float]] = field(default_factory=collections.deque)

    def __call__(self, state: PlantState) -> None:
        snapshot = self.snapshot()
        if snapshot is None:
            return
        self._note_alert(snapshot)
        if self._pending is not None:
            fraction, seen, left_wh, victron_s = self._pending
            self._pending = None
            if not (state.charging or state.bms_cut):
                self.checks.append(self._check(fraction, seen, left_wh, victron_s, abs(state.power_w)))
        self._currents.append((state.t_s, snapshot.current_a or 0.0, abs(state.power_w)))
        while self._currents and self._currents[0][0] < state.t_s - VICTRON_AVERAGE_S:
            self._currents.popleft()
        if len(self.checks) == len(DISCHARGE_POINTS) or state.charging or state.bms_cut:
            return
        left_wh = stored_energy_wh(self.battery, state.charge_ah)
        if self._start_wh is None:
            self._start_wh = left_wh
        spent = 1.0 - left_wh / self._start_wh if self._start_wh > 0.0 else 0.0
        fraction = DISCHARGE_POINTS[len(self.checks)]
        if spent >= fraction:
            self._pending = (fraction, snapshot, left_wh, self._victron_s(snapshot))

    def _note_alert(self, snapshot: Snapshot) -> None:
        for alert in snapshot.alerts:
            if alert.kind.value not in BATTERY_ALERTS:
                continue
            hour = (alert.raised_utc - self.start_utc).total_seconds() / 3600.0
            if self.first_alert_h is None or hour < self.first_alert_h:
                self.first_alert_h, self.first_alert_kind = hour, alert.kind.value
            warns = alert.kind.value in WARNING_ALERTS
            if warns and (self.first_warning_h is None or hour < self.first_warning_h):
                self.first_warning_h = hour

    def _check(
        self, fraction: float, snapshot: Snapshot, left_wh: float, victron_s: float | None, now_w: float
    ) -> RuntimeCheck:
        """Both estimates against the truth: the energy really left over the draw, with self-discharge.

        The truth for the controller's runtime at the current speed is the draw over the tick after its
        snapshot (the plant's state at a tick averages the step before it, under the previous command);
        the truth for the Victron-style estimate is the draw averaged over the same 3 minutes as its current."""
        discharge_w = self_discharge_ah(self.battery, 3600.0) * self.battery.nominal_v
        average_w = sum(p for _, _, p in self._currents) / len(self._currents)
        true_now_s = left_wh * 3600.0 / (now_w + discharge_w) if now_w > 0.0 else None
        true_average_s = left_wh * 3600.0 / (average_w + discharge_w) if average_w > 0.0 else None
        controller = relative_error(snapshot.runtime_now_s, true_now_s)
        victron = relative_error(victron_s, true_average_s)
        return RuntimeCheck(
            fraction, (snapshot.timestamp_utc - self.start_utc).total_seconds() / 3600.0, controller, victron
        )

    def _victron_s(self, snapshot: Snapshot) -> float | None:
        """Remaining Ah (the shunt's SoC of the configured capacity) over the 3-minute average current."""
        if snapshot.soc_pct is None:
            return None
        average_a = sum(a for _, a, _ in self._currents) / len(self._currents)
        if average_a >= -1e-6:
            return None
        return snapshot.soc_pct / 100.0 * self.configured_capacity_ah / -average_a * 3600.0

    def check_at(self, fraction: float) -> RuntimeCheck | None:
        """The check at a point of the discharge; None where the run did not get there."""
        return next((check for check in self.checks if check.fraction == fraction), None)


def relative_error(estimate: float | None, truth: float | None) -> float | None:
    """(estimate - truth) / truth, or None when either is unknown."""
    if estimate is None or truth is None or truth <= 0.0:
        return None
    return estimate / truth - 1.0


@dataclass(frozen=True, slots=True)
class Targets:
    """The issue's targets, judged for one row (None: the target does not apply to the row)."""

    deadline: bool | None
    air: bool | None
    alert: bool | None
    runtime: bool | None


def judge(
    row: dict[str, object],
    *,
    faulty: bool,
    smaller: bool,
    runtime: tuple[bool, float | None],
    tolerance: float = 0.03,
) -> Targets:
    """Every deadline met where the true energy allows it; >= 0.98 of the true bound without a scenario
    fault (where the grid returned or the deadline moved, of the bound without foresight: the true bound
    then assumes the future was known from the start); a warning (deadline at risk, capacity low, SoC
    unsynchronised) a day before the deadline when the battery is smaller than configured; the runtime at
    the current speed within 3 % at mid-discharge (`runtime`: whether the run got there, and the controller's
    error; no estimate there misses the target)."""
    reachable = row.get("deadline_reachable")
    met = row.get("deadline_met")
    ratio = row.get("ratio_to_foresight_free_bound")
    if not isinstance(ratio, float):
        ratio = row.get("ratio_to_true_bound")
    deadline_h = row.get("deadline_h")
    alert_h = row.get("first_warning_h")
    alert: bool | None = None
    if smaller and isinstance(deadline_h, float):
        alert = isinstance(alert_h, float) and alert_h <= deadline_h - 24.0
    return Targets(
        deadline=bool(met) if reachable is True else None,
        air=(isinstance(ratio, float) and ratio >= 0.98) if not faulty else None,
        alert=alert,
        runtime=None if not runtime[0] else runtime[1] is not None and abs(runtime[1]) <= tolerance,
    )

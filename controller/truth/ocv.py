"""The open-circuit-voltage curve of a battery: voltage at a state of charge and back, its slope, and the
energy a pack holds below a state of charge (the curve integrated over the charge).

The default is a 12.8 V (4-cell) LiFePO4 pack (physics.md §3: 3.2-3.3 V a cell over most of the range,
knees below ~15 % and above ~95 %), scaled for other nominal voltages. Between table points the curve is
linear, so the slope is constant on each segment and the energy integral is exact.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass, field

LFP_CELL_SOC_PCT = (0.0, 3.0, 6.0, 10.0, 15.0, 20.0, 40.0, 60.0, 80.0, 90.0, 95.0, 98.0, 100.0)
LFP_CELL_V = (2.5, 2.825, 3.025, 3.125, 3.175, 3.195, 3.2125, 3.23, 3.255, 3.28, 3.305, 3.3425, 3.4)
LFP_CELL_NOMINAL_V = 3.2


@dataclass(frozen=True, slots=True)
class OcvCurve:
    """Resting pack voltage against state of charge: strictly increasing points from 0 % to 100 %."""

    soc_pct: tuple[float, ...]
    voltage_v: tuple[float, ...]
    _area_below: tuple[float, ...] = field(init=False, repr=False, compare=False)
    """The curve's area (V x %) from 0 % up to each point: `energy_wh` runs every tick, so it sums once."""

    def __post_init__(self) -> None:
        if len(self.soc_pct) != len(self.voltage_v) or len(self.soc_pct) < 2:
            raise ValueError("an OCV curve needs at least two (state of charge, voltage) points")
        if self.soc_pct[0] != 0.0 or self.soc_pct[-1] != 100.0:
            raise ValueError(f"an OCV curve must run from 0 % to 100 %, not {self.soc_pct[0]:g}-{self.soc_pct[-1]:g} %")
        pairs = zip(self.soc_pct, self.soc_pct[1:], self.voltage_v, self.voltage_v[1:], strict=False)
        if any(s1 <= s0 or v1 <= v0 for s0, s1, v0, v1 in pairs):
            raise ValueError("an OCV curve's state of charge and voltage must both rise from point to point")
        area = [0.0]
        for i in range(len(self.soc_pct) - 1):
            width = self.soc_pct[i + 1] - self.soc_pct[i]
            area.append(area[-1] + width * (self.voltage_v[i] + self.voltage_v[i + 1]) / 2.0)
        object.__setattr__(self, "_area_below", tuple(area))

    def _segment(self, soc_pct: float) -> int:
        return min(len(self.soc_pct) - 2, max(0, bisect.bisect_right(self.soc_pct, soc_pct) - 1))

    def _slope(self, i: int) -> float:
        return (self.voltage_v[i + 1] - self.voltage_v[i]) / (self.soc_pct[i + 1] - self.soc_pct[i])

    def voltage_at(self, soc_pct: float) -> float:
        """The resting voltage at a state of charge (clamped to 0-100 %)."""
        soc = min(100.0, max(0.0, soc_pct))
        i = self._segment(soc)
        return self.voltage_v[i] + self._slope(i) * (soc - self.soc_pct[i])

    def slope_at(self, soc_pct: float) -> float:
        """dV/dSoC in V per percent on the segment holding this state of charge."""
        return self._slope(self._segment(min(100.0, max(0.0, soc_pct))))

    def soc_at(self, voltage_v: float) -> float:
        """The state of charge whose resting voltage this is (0 % below the curve, 100 % above it)."""
        if voltage_v <= self.voltage_v[0]:
            return 0.0
        if voltage_v >= self.voltage_v[-1]:
            return 100.0
        i = min(len(self.voltage_v) - 2, bisect.bisect_right(self.voltage_v, voltage_v) - 1)
        v0, v1 = self.voltage_v[i], self.voltage_v[i + 1]
        return self.soc_pct[i] + (voltage_v - v0) / (v1 - v0) * (self.soc_pct[i + 1] - self.soc_pct[i])

    def energy_wh(self, soc_pct: float, capacity_ah: float) -> float:
        """Energy between empty and this state of charge at rest: the curve integrated over the charge."""
        soc = min(100.0, max(0.0, soc_pct))
        i = self._segment(soc)
        partial = (soc - self.soc_pct[i]) * (self.voltage_v[i] + self.voltage_at(soc)) / 2.0
        return (self._area_below[i] + partial) / 100.0 * capacity_ah

    def lower_bend_pct(self, sigma_v: float, max_sigma_pct: float) -> float:
        """The state of charge below which a resting voltage known within `sigma_v` reads the state of charge
        within `max_sigma_pct` all the way down to empty: where a pack reveals how much it really holds (0
        when even the lowest segment is too flat)."""
        bend = 0.0
        for i in range(len(self.soc_pct) - 1):
            if sigma_v / self._slope(i) > max_sigma_pct:
                break
            bend = self.soc_pct[i + 1]
        return bend

    @property
    def mean_v(self) -> float:
        """The curve's mean voltage over a whole discharge."""
        return self.energy_wh(100.0, 100.0) / 100.0


@functools.lru_cache(maxsize=8)
def lifepo4_curve(nominal_v: float) -> OcvCurve:
    """The default LiFePO4 curve for a pack of this nominal voltage (4 cells at 12.8 V); the same immutable
    curve for the same voltage (the battery section asks for it every tick)."""
    cells = nominal_v / LFP_CELL_NOMINAL_V
    return OcvCurve(LFP_CELL_SOC_PCT, tuple(round(v * cells, 6) for v in LFP_CELL_V))

"""From stored energy to watts at the fan (power-paths.md): conversion losses and standing overheads.

P_source = P_fan / (product of the path's efficiencies) + standing overhead + controller draw / converter efficiency
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class PowerPath:
    """One way of wiring the fan to the stored energy, with the controller's own draw on top."""

    name: str
    store_energy_wh: float
    standing_w: float
    efficiencies: tuple[float, ...] = ()
    controller_draw_w: float = 0.0
    converter_efficiency: float = 1.0
    description: str = ""

    @property
    def efficiency(self) -> float:
        """Product of the conversion efficiencies between the store and the fan."""
        return math.prod(self.efficiencies) if self.efficiencies else 1.0

    @property
    def standing_total_w(self) -> float:
        """Everything drawn from the store whatever the fan does."""
        return self.standing_w + self.controller_draw_w / self.converter_efficiency

    def source_power_w(self, fan_power_w: float) -> float:
        """The draw on the store while the fan draws `fan_power_w`."""
        return fan_power_w / self.efficiency + self.standing_total_w

    def fan_budget_w(self, source_power_w: float) -> float:
        """The fan power a draw on the store allows (negative when the overheads alone exceed it)."""
        return (source_power_w - self.standing_total_w) * self.efficiency

    def with_controller(self, draw_w: float, converter_efficiency: float = 1.0) -> PowerPath:
        """The same path with a controller of this draw fitted."""
        return replace(self, controller_draw_w=draw_w, converter_efficiency=converter_efficiency)


PRESETS: dict[str, PowerPath] = {
    "diy-12v": PowerPath(
        "diy-12v",
        store_energy_wh=1280.0,
        standing_w=0.0,
        description="100 Ah 12.8 V LiFePO4, fan on the 12 V bus through shunt, fuse and connector",
    ),
    "station-dc": PowerPath(
        "station-dc",
        store_energy_wh=1056.0,
        standing_w=2.5,
        efficiencies=(0.93,),
        description="portable power station (Anker SOLIX C1000), fan on its 12 V car port (DC-DC 93 %)",
    ),
    "station-ac": PowerPath(
        "station-ac",
        store_energy_wh=1056.0,
        standing_w=9.5,
        efficiencies=(0.86, 0.86),
        description="the same station, fan on its AC outlet through the fan's mains adapter "
        "(inverter 86 %, adapter 86 %)",
    ),
}

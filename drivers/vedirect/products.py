"""Victron product ids (the `PID` field) and what kind of device each is.

The kind decides what a block may become: only battery monitors become shunt readings; solar chargers
become charger readings; inverters, AC chargers, DC-DC converters and unknown products are refused by
name, never counted into the battery's charge.

Sources: the product-id table of Victron's "VE.Direct Protocol" document (3.33), as transcribed in
softwarecrash/Victron2MQTT `src/VeDirectDeviceList.h` and koestler/go-iotdevice `vedirect/definitions.go`;
the newer ids (BMV-710 Smart, SmartShunt IP67) and the names of every other product from the
`MODEL_ID_MAPPING` table of the victron-ble library, which Victron's product ids share with Bluetooth.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache


class Kind(enum.StrEnum):
    """What a product is, as far as this controller cares."""

    BATTERY_MONITOR = "battery monitor"
    SOLAR_CHARGER = "solar charger"
    INVERTER = "inverter"
    AC_CHARGER = "AC charger"
    DC_DC = "DC-DC converter"
    OTHER = "product this controller does not read"


@dataclass(frozen=True, slots=True)
class Product:
    """A product id with its name and kind."""

    pid: int
    name: str
    kind: Kind

    def describe(self) -> str:
        """E.g. "Phoenix Inverter 12V 1200VA 120V (PID 0xA279, an inverter)"."""
        article = "an" if self.kind.value[0] in "aeiouAEIOU" else "a"
        return f"{self.name} (PID {self.pid:#06X}, {article} {self.kind.value})".replace("0X", "0x")


BATTERY_MONITORS: Mapping[int, str] = {
    0x0203: "BMV-700",
    0x0204: "BMV-702",
    0x0205: "BMV-700H",
    0xA380: "BMV-710 Smart",
    0xA381: "BMV-712 Smart",
    0xA382: "BMV-710H Smart",
    0xA383: "BMV-712 Smart Rev2",
    0xA389: "SmartShunt 500A/50mV",
    0xA38A: "SmartShunt 1000A/50mV",
    0xA38B: "SmartShunt 2000A/50mV",
    0xA38C: "SmartShunt IP67 500A/50mV",
    0xA38D: "SmartShunt IP67 1000A/50mV",
    0xA38E: "SmartShunt IP67 2000A/50mV",
}
"""Every battery monitor with a VE.Direct port (names as in the protocol document)."""

_MPPT_NAMES: Mapping[int, str] = {
    0x0300: "BlueSolar MPPT 70|15",
    0xA040: "BlueSolar MPPT 75|50",
    0xA041: "BlueSolar MPPT 150|35",
    0xA042: "BlueSolar MPPT 75|15",
    0xA043: "BlueSolar MPPT 100|15",
    0xA044: "BlueSolar MPPT 100|30",
    0xA045: "BlueSolar MPPT 100|50",
    0xA046: "BlueSolar MPPT 150|70",
    0xA047: "BlueSolar MPPT 150|100",
    0xA049: "BlueSolar MPPT 100|50 rev2",
    0xA04A: "BlueSolar MPPT 100|30 rev2",
    0xA04B: "BlueSolar MPPT 150|35 rev2",
    0xA04C: "BlueSolar MPPT 75|10",
    0xA04D: "BlueSolar MPPT 150|45",
    0xA04E: "BlueSolar MPPT 150|60",
    0xA04F: "BlueSolar MPPT 150|85",
    0xA050: "SmartSolar MPPT 250|100",
    0xA051: "SmartSolar MPPT 150|100",
    0xA052: "SmartSolar MPPT 150|85",
    0xA053: "SmartSolar MPPT 75|15",
    0xA054: "SmartSolar MPPT 75|10",
    0xA055: "SmartSolar MPPT 100|15",
    0xA056: "SmartSolar MPPT 100|30",
    0xA057: "SmartSolar MPPT 100|50",
    0xA058: "SmartSolar MPPT 150|35",
    0xA059: "SmartSolar MPPT 150|100 rev2",
    0xA05A: "SmartSolar MPPT 150|85 rev2",
    0xA05B: "SmartSolar MPPT 250|70",
    0xA05C: "SmartSolar MPPT 250|85",
    0xA05D: "SmartSolar MPPT 250|60",
    0xA05E: "SmartSolar MPPT 250|45",
    0xA05F: "SmartSolar MPPT 100|20",
    0xA060: "SmartSolar MPPT 100|20 48V",
    0xA061: "SmartSolar MPPT 150|45",
    0xA062: "SmartSolar MPPT 150|60",
    0xA063: "SmartSolar MPPT 150|70",
    0xA064: "SmartSolar MPPT 250|85 rev2",
    0xA065: "SmartSolar MPPT 250|100 rev2",
    0xA066: "BlueSolar MPPT 100|20",
    0xA067: "BlueSolar MPPT 100|20 48V",
    0xA068: "SmartSolar MPPT 250|60 rev2",
    0xA069: "SmartSolar MPPT 250|70 rev2",
    0xA06A: "SmartSolar MPPT 150|45 rev2",
    0xA06B: "SmartSolar MPPT 150|60 rev2",
    0xA06C: "SmartSolar MPPT 150|70 rev2",
    0xA06D: "SmartSolar MPPT 150|85 rev3",
    0xA06E: "SmartSolar MPPT 150|100 rev3",
    0xA06F: "BlueSolar MPPT 150|45 rev2",
    0xA070: "BlueSolar MPPT 150|60 rev2",
    0xA071: "BlueSolar MPPT 150|70 rev2",
    0xA072: "BlueSolar MPPT 150|45 rev3",
    0xA073: "SmartSolar MPPT 150|45 rev3",
    0xA074: "SmartSolar MPPT 75|10 rev2",
    0xA075: "SmartSolar MPPT 75|15 rev2",
    0xA076: "BlueSolar MPPT 100|30 rev3",
    0xA077: "BlueSolar MPPT 100|50 rev3",
    0xA078: "BlueSolar MPPT 150|35 rev3",
    0xA079: "BlueSolar MPPT 75|10 rev2",
    0xA07A: "BlueSolar MPPT 75|15 rev2",
    0xA07B: "BlueSolar MPPT 100|15 rev2",
    0xA07C: "BlueSolar MPPT 75|10 rev3",
    0xA07D: "BlueSolar MPPT 75|15 rev3",
    0xA07E: "SmartSolar MPPT 100|30 12V",
    0xA07F: "All-In-1 SmartSolar MPPT 75|15 12V",
}
"""The protocol document's solar chargers; other ids in the MPPT ranges below are chargers too."""

_KIND_RANGES: tuple[tuple[int, int, Kind], ...] = (
    (0x0300, 0x0300, Kind.SOLAR_CHARGER),
    (0xA040, 0xA0FF, Kind.SOLAR_CHARGER),  # BlueSolar / SmartSolar MPPT with VE.Direct
    (0xA100, 0xA1FF, Kind.SOLAR_CHARGER),  # SmartSolar / BlueSolar MPPT VE.Can
    (0xA200, 0xA2FF, Kind.INVERTER),  # Phoenix (Smart) inverters
    (0xA330, 0xA37F, Kind.AC_CHARGER),  # Blue Smart / Phoenix Smart chargers
    (0xA3C0, 0xA3DF, Kind.DC_DC),  # Orion Smart
    (0xA3F0, 0xA3F0, Kind.DC_DC),  # Smart BuckBoost
)


@cache
def _library_names() -> Mapping[int, str]:
    try:
        from victron_ble.devices.base import MODEL_ID_MAPPING
    except ImportError:  # the names are a nicety; the kinds above do not depend on them
        return {}
    return dict(MODEL_ID_MAPPING)


def product(pid: int) -> Product:
    """The product with this id (kind OTHER for an id this table does not know)."""
    if pid in BATTERY_MONITORS:
        return Product(pid, BATTERY_MONITORS[pid], Kind.BATTERY_MONITOR)
    kind = next((k for low, high, k in _KIND_RANGES if low <= pid <= high), Kind.OTHER)
    name = _MPPT_NAMES.get(pid) or _library_names().get(pid) or f"unknown Victron product {pid:#06x}"
    return Product(pid, name, kind)

"""A Victron SmartShunt or BMV-71x read from its encrypted "Instant Readout" advertisements through the
victron-ble library: no connection, just listening; the advertisement key (VictronConnect > the device >
Product info > Instant readout details > Show) decrypts them.

The scanner is bleak's (`scanner_class`, the seam a fake replaces). If the scanner cannot start (no
adapter, BlueZ down) it is started again with backoff; between advertisements the reading goes stale.
Advertisements of other products (a solar charger, an inverter) are refused by name, as on VE.Direct.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from drivers.base import DeviceUnavailable, ShuntReading
from drivers.listener import ListeningDriver
from drivers.runtime import Backoff
from drivers.vedirect.products import Kind, product

log = logging.getLogger(__name__)

VICTRON_COMPANY_ID = 0x02E1
INSTANT_READOUT = 0x10


def _bleak_scanner(**kwargs: Any) -> Any:
    from bleak import BleakScanner

    return BleakScanner(**kwargs)


class VictronBleShunt(ListeningDriver[ShuntReading]):
    """Listens for one device's Instant Readout advertisements."""

    def __init__(
        self,
        address: str,
        key: str,
        *,
        scanner_class: Callable[..., Any] = _bleak_scanner,
        clock: Callable[[], float] = time.monotonic,
        stale_after_s: float = 15.0,
        backoff: Backoff | None = None,
        name: str = "shunt (victron-ble)",
    ) -> None:
        super().__init__(
            name, log, clock=clock, stale_after_s=stale_after_s, backoff=backoff or Backoff(initial_s=1.0, max_s=60.0)
        )
        self.address = address.lower()
        self.key = key
        self._scanner_class = scanner_class
        self._parser: Any = None
        self._started_once = False
        self.wrong_product: str | None = None

    async def _session(self) -> None:
        try:
            scanner = self._scanner_class(detection_callback=self._heard)
            await scanner.start()
        except Exception as exc:  # bleak raises BleakError, OSError or D-Bus errors; all mean "retry later"
            raise DeviceUnavailable(
                f"Bluetooth scanner: {exc}; is Bluetooth on (bluetoothctl power on) and BlueZ running "
                "(systemctl status bluetooth)?"
            ) from exc
        if self._started_once:
            self._health.reconnected()
        self._started_once = True
        try:
            while True:
                await asyncio.sleep(1.0)
                self._health.check_stale()
        finally:
            with contextlib.suppress(Exception):
                await scanner.stop()

    def _heard(self, device: Any, advertisement: Any) -> None:
        if str(getattr(device, "address", "")).lower() != self.address:
            return
        data = advertisement.manufacturer_data.get(VICTRON_COMPANY_ID)
        if not data or data[0] != INSTANT_READOUT or len(data) < 8:
            return
        try:
            reading = self._decode(bytes(data))
        except Exception as exc:  # the library raises its own errors and ValueError/IndexError on bad bytes
            self._health.corrupt(f"advertisement from {self.address}: {exc}")
            return
        if reading is not None:
            self.wrong_product = None
            self._publish(reading)

    def _decode(self, data: bytes) -> ShuntReading | None:
        from victron_ble.devices import BatteryMonitor, detect_device_type
        from victron_ble.exceptions import AdvertisementKeyMismatchError

        found = product(int.from_bytes(data[2:4], "little"))
        if detect_device_type(data) is not BatteryMonitor or found.kind is not Kind.BATTERY_MONITOR:
            self.wrong_product = found.name
            self._health.count("wrong_product")
            self._health.unavailable(
                f"{self.address} is {found.describe()}, not a battery monitor: its values are not counted into the "
                "battery's charge; set the SmartShunt's or BMV's address"
            )
            return None
        if self._parser is None:
            self._parser = BatteryMonitor(self.key)
        try:
            parsed = self._parser.parse(data)
        except AdvertisementKeyMismatchError:
            self._health.count("key_mismatch")
            raise ValueError(
                "the advertisement key does not fit: copy it from VictronConnect (Product info > Instant readout "
                "details > Show)"
            ) from None
        return _reading(parsed, found.name, self._clock())


def _reading(parsed: Any, product_name: str, now: float) -> ShuntReading:
    voltage, current = parsed.get_voltage(), parsed.get_current()
    alarm = parsed.get_alarm()
    return ShuntReading(
        monotonic_s=now,
        voltage_v=voltage,
        current_a=current,
        power_w=None if voltage is None or current is None else voltage * current,
        soc_pct=parsed.get_soc(),
        consumed_ah=parsed.get_consumed_ah(),
        time_to_go_min=parsed.get_remaining_mins(),  # the library says None for "not available" (0xFFFF)
        temperature_c=parsed.get_temperature(),
        alarm=None if alarm is None else bool(getattr(alarm, "value", alarm)),
        alarm_reasons=() if not getattr(alarm, "value", 0) else (str(alarm.name).lower(),),
        product=product_name,
        aux_voltage_v=parsed.get_starter_voltage(),
        midpoint_voltage_v=parsed.get_midpoint_voltage(),
        soc_resolution_pct=0.1,
    )

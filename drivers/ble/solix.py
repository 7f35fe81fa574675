"""An Anker SOLIX power station (C300, C300 DC, C800, C1000, C1000 Gen 2) read over Bluetooth LE through the
SolixBLE library: state of charge (whole percent), power in and out, solar input, the station's own time
remaining and its temperature.

SolixBLE connects through bleak-retry-connector (whose retries and backoff cover one connect) and
reconnects by itself a few seconds after a drop; this driver reads the library's newest telemetry once a
`poll_s`, marks the reading stale when none came for `stale_after_s`, and when the link stays down for
`reconnect_after_s` (or the first connect fails) it starts a new session after its own backoff.

`client_class` replaces the `bleak.BleakClient` the library connects with (the seam the replay fake uses);
with it, no scan is made: the device is addressed directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from drivers.base import DeviceUnavailable, ShuntReading
from drivers.listener import ListeningDriver
from drivers.runtime import Backoff

log = logging.getLogger(__name__)

MODELS: Mapping[str, str] = {
    "c300": "C300",
    "c300dc": "C300DC",
    "c800": "C800",
    "c1000": "C1000",
    "c1000g2": "C1000G2",
}
"""Configuration name -> SolixBLE's class (the stations the library reads, 3.9)."""

SOC_RESOLUTION_PCT = 1.0
"""The station reports whole percent (about 10 Wh on a C1000)."""


@contextlib.contextmanager
def _library_client(client_class: Callable[..., Any] | None) -> Iterator[None]:
    """SolixBLE connects with its module's `BleakClient`; a replay swaps it for the session's lifetime."""
    if client_class is None:
        yield
        return
    import SolixBLE.device as library

    previous = library.BleakClient
    library.BleakClient = client_class
    try:
        yield
    finally:
        library.BleakClient = previous


class SolixShunt(ListeningDriver[ShuntReading]):
    """A SOLIX station as the battery monitor."""

    def __init__(
        self,
        address: str,
        *,
        model: str = "c1000",
        client_class: Callable[..., Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        stale_after_s: float = 30.0,
        reconnect_after_s: float = 60.0,
        scan_timeout_s: float = 20.0,
        poll_s: float = 0.5,
        backoff: Backoff | None = None,
        name: str = "shunt (solix)",
    ) -> None:
        super().__init__(
            name, log, clock=clock, stale_after_s=stale_after_s, backoff=backoff or Backoff(initial_s=2.0, max_s=120.0)
        )
        self.address = address
        self.model = model
        self._class_name = MODELS[model]
        self._client_class = client_class
        self._reconnect_after_s = reconnect_after_s
        self._scan_timeout_s = scan_timeout_s
        self._poll_s = poll_s
        self.sessions = 0

    async def _run(self) -> None:
        with _library_client(self._client_class):
            await super()._run()

    async def _find(self) -> Any:
        from bleak.backends.device import BLEDevice

        if self._client_class is not None:
            return BLEDevice(self.address, None, {})
        from bleak import BleakScanner

        try:
            found = await BleakScanner.find_device_by_address(self.address, timeout=self._scan_timeout_s)
        except Exception as exc:  # BleakError, D-Bus errors, no adapter: all mean "Bluetooth is not usable now"
            raise DeviceUnavailable(
                f"Bluetooth scan failed ({exc}); is Bluetooth on (bluetoothctl power on) and BlueZ running "
                "(systemctl status bluetooth)?"
            ) from exc
        if found is None:
            raise DeviceUnavailable(
                f"no SOLIX station with address {self.address} heard in {self._scan_timeout_s:g} s: is it on, in "
                "range, and not connected to the phone app?"
            )
        return found

    async def _session(self) -> None:
        import SolixBLE

        device = getattr(SolixBLE, self._class_name)(await self._find())
        try:
            if not await device.connect(max_attempts=3):
                raise DeviceUnavailable(f"could not connect to the SOLIX station {self.address} (see the log)")
            self.sessions += 1
            if self.sessions > 1:
                self._health.reconnected()
            await self._follow(device)
        finally:
            with contextlib.suppress(Exception):
                await device.disconnect()

    async def _follow(self, device: Any) -> None:
        seen: Any = None
        down_since: float | None = None
        linked = True
        while True:
            await asyncio.sleep(self._poll_s)
            now = self._clock()
            if device.negotiated:
                if not linked:
                    self._health.reconnected()
                linked, down_since = True, None
            else:
                linked = False
                down_since = now if down_since is None else down_since
                if now - down_since > self._reconnect_after_s:
                    raise DeviceUnavailable(f"the link to {self.address} stayed down for {now - down_since:.0f} s")
            if device.available and device.last_update is not None and device.last_update != seen:
                seen = device.last_update
                self._accept(device, now)
            self._health.check_stale()

    def _accept(self, device: Any, now: float) -> None:
        reading = station_reading(device, self.model, now)
        if reading.soc_pct is None:
            self._health.corrupt(f"telemetry from {self.address} without a state of charge")
            return
        self._publish(reading)


def _value(device: Any, name: str) -> float | None:
    value = getattr(device, name, None)
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        return None  # SolixBLE says -1 for a value it does not have
    return float(value)


def station_reading(device: Any, model: str, now: float) -> ShuntReading:
    """A ShuntReading from the station's telemetry: net power (in minus out, positive = charging), the
    station's time remaining as time to go while discharging (math.inf otherwise, as a Victron says)."""
    power_in, power_out = _value(device, "power_in"), _value(device, "power_out")
    net = None if power_in is None or power_out is None else power_in - power_out
    hours = _value(device, "time_remaining")
    discharging = net is not None and net < 0
    history = {}
    if hours is not None and net is not None and net > 0:
        history["time_to_full_min"] = hours * 60.0
    if (health := _value(device, "battery_health")) is not None:
        history["battery_health_pct"] = health
    return ShuntReading(
        monotonic_s=now,
        voltage_v=None,
        current_a=None,
        power_w=net,
        soc_pct=_value(device, "battery_percentage"),
        time_to_go_min=(hours * 60.0 if hours is not None else None) if discharging else math.inf,
        temperature_c=_value(device, "temperature"),
        product=f"Anker SOLIX {MODELS[model]}",
        history=history,
        soc_resolution_pct=SOC_RESOLUTION_PCT,
        solar_power_w=_value(device, "solar_power_in"),
        output_power_w=power_out,
    )

"""Modbus battery monitor, pressure transmitter and fan output, on top of ModbusLink and the maps."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path

from drivers.base import (
    DeviceError,
    DeviceState,
    DriverStats,
    FanReading,
    PressureReading,
    ProtocolError,
    ShuntReading,
)
from drivers.health import Health
from drivers.modbus.link import ModbusLink, ModbusSettings
from drivers.modbus.maps import (
    FanMap,
    PressureMap,
    ReadSpan,
    ShuntMap,
    fan_pct,
    fan_raw,
    plan_reads,
    pressure_value,
    shunt_values,
    words_for,
)
from drivers.modbus.registers import decode
from drivers.poller import PollingDriver
from drivers.runtime import Backoff, RetryPolicy, Service, TaskOwner
from drivers.serialport import BY_ID

log = logging.getLogger(__name__)


async def _read_spans(link: ModbusLink, spans: list[ReadSpan]) -> dict[ReadSpan, list[int]]:
    return {span: await link.read(span.function_code, span.address, span.count) for span in spans}


class ModbusShunt(PollingDriver[ShuntReading]):
    """A battery monitor read over Modbus RTU or TCP with a register map."""

    def __init__(
        self,
        settings: ModbusSettings,
        shunt_map: ShuntMap,
        *,
        clock: Callable[[], float] = time.monotonic,
        interval_s: float = 1.0,
        stale_after_s: float = 5.0,
        retries: int = 2,
        backoff: Backoff | None = None,
        by_id_dir: Path = BY_ID,
        name: str = "shunt (Modbus)",
    ) -> None:
        super().__init__(
            name, log, clock=clock, interval_s=interval_s, stale_after_s=stale_after_s, retries=retries, backoff=backoff
        )
        self.map = shunt_map
        self.link = ModbusLink(settings, by_id_dir=by_id_dir)
        self._spans = plan_reads(shunt_map.all_registers())

    async def _read(self) -> ShuntReading:
        values = shunt_values(self.map, await _read_spans(self.link, self._spans))
        history: dict[str, float] = {k: values[k] for k in ("remaining_ah", "capacity_ah", "energy_wh") if k in values}
        return ShuntReading(
            monotonic_s=self._clock(),
            voltage_v=values.get("voltage_v"),
            current_a=values.get("current_a"),
            power_w=values.get("power_w"),
            soc_pct=values.get("soc_pct"),
            consumed_ah=values.get("consumed_ah"),
            temperature_c=values.get("temperature_c"),
            history=history,
        )

    async def _disconnect(self) -> None:
        await self.link.close()


class ModbusPressureSensor(PollingDriver[PressureReading]):
    """A differential-pressure transmitter read over Modbus with a register map."""

    def __init__(
        self,
        settings: ModbusSettings,
        pressure_map: PressureMap,
        *,
        clock: Callable[[], float] = time.monotonic,
        interval_s: float = 0.5,
        stale_after_s: float = 5.0,
        retries: int = 2,
        backoff: Backoff | None = None,
        by_id_dir: Path = BY_ID,
        name: str = "pressure (Modbus)",
    ) -> None:
        super().__init__(
            name, log, clock=clock, interval_s=interval_s, stale_after_s=stale_after_s, retries=retries, backoff=backoff
        )
        self.map = pressure_map
        self.link = ModbusLink(settings, by_id_dir=by_id_dir)
        self._spans = plan_reads(pressure_map.all_registers())

    async def _read(self) -> PressureReading:
        spans = await _read_spans(self.link, self._spans)
        temperature = None
        if self.map.temperature is not None:
            temperature = decode(self.map.temperature, words_for(self.map.temperature, spans), "temperature_c")
        return PressureReading(self._clock(), pressure_value(self.map, spans), temperature)

    async def _disconnect(self) -> None:
        await self.link.close()


class ModbusFan(Service):
    """A fan driven by a Modbus analogue output module or a Modbus-controlled DC supply.

    set_command only hands the command to the driver's own task (a latest-wins mailbox) and returns at
    once, so that a device that stops answering never holds up the caller's loop. The task writes the
    output (and the enable register, if mapped) with retries, reads the output register back, and keeps
    applying the newest command with backoff until it sticks; failures land in the driver's health.
    Nothing raises out of set_command.
    """

    def __init__(
        self,
        settings: ModbusSettings,
        fan_map: FanMap,
        *,
        clock: Callable[[], float] = time.monotonic,
        retries: int = 2,
        refresh_s: float = 5.0,
        stale_after_s: float = 15.0,
        backoff: Backoff | None = None,
        by_id_dir: Path = BY_ID,
        close_timeout_s: float = 2.0,
        name: str = "fan (Modbus)",
    ) -> None:
        self.map = fan_map
        self.link = ModbusLink(settings, by_id_dir=by_id_dir)
        self._clock = clock
        self._health = Health(name, log, clock, stale_after_s)
        self.stats: DriverStats = self._health.stats
        self._retry = RetryPolicy(retries, backoff or Backoff())
        self._backoff = self._retry.backoff
        self.refresh_s = refresh_s
        self._wanted: float | None = None
        self._applied: float | None = None
        self._latest: FanReading | None = None
        self.close_timeout_s = close_timeout_s
        self._wake = asyncio.Event()
        self._settled = asyncio.Event()
        self._settled.set()
        self._tasks = TaskOwner(name)

    @property
    def retries(self) -> int:
        """Retries of a write before the task waits a backoff delay and tries the newest command again."""
        return self._retry.retries

    async def start(self) -> None:
        """Start the task that applies commands and refreshes the read-back."""
        if not self._tasks.running:
            await self._tasks.start()
            self._tasks.spawn(self._run)

    async def close(self) -> None:
        """Give the newest command up to close_timeout_s to stick, then stop the task and close the link
        (the output keeps its last value)."""
        if self._tasks.running and not await self.settled(self.close_timeout_s):
            log.error(
                "%s: command %.0f %% not confirmed within %.1f s of closing",
                self._health.name,
                self._wanted or 0.0,
                self.close_timeout_s,
            )
        await self._tasks.close()
        await self.link.close()

    def latest(self) -> FanReading | None:
        """The command the device last confirmed."""
        self._check_health()
        return self._latest

    def _check_health(self) -> None:
        """A fan output that confirmed no command for stale_after_s is failing, not merely stale: its
        driver says unavailable, which is what raises the fan-fault alert."""
        self._health.check_stale()
        if self.stats.state is DeviceState.STALE:
            self._health.unavailable(
                f"no command confirmed for more than {self._health.stale_after_s:g} s ({self.stats.last_error})"
            )

    async def set_command(self, command_pct: float) -> None:
        """Hand the command to the driver's task (the newest command wins) and return at once."""
        wanted = min(100.0, max(0.0, command_pct)) if math.isfinite(command_pct) else None
        if wanted is None:
            self._health.corrupt(f"command {command_pct!r} is not a number; keeping {self._wanted}")
            return
        if wanted != self._applied:
            self._settled.clear()
        self._wanted = wanted
        self._wake.set()

    async def settled(self, timeout_s: float) -> bool:
        """Wait up to timeout_s until the newest command is confirmed by the device; whether it was."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._settled.wait()
        return self._settled.is_set()

    async def _apply(self) -> bool:
        wanted = self._wanted
        if wanted is None:
            return True
        confirmed = await self._retry.run(lambda: self._write_and_confirm(wanted), self._health, self.link.close)
        if confirmed is None:
            return False
        self._latest = FanReading(self._clock(), confirmed)
        self._applied = wanted
        if wanted == self._wanted:
            self._settled.set()
        return True

    async def _write_and_confirm(self, pct: float) -> float:
        fan_map = self.map
        words = fan_raw(fan_map, pct)
        if fan_map.enable is not None and pct <= 0.0:
            await self.link.write(fan_map.enable.address, [fan_map.enable_off])
        await self.link.write(fan_map.output.address, words)
        if fan_map.enable is not None and pct > 0.0:
            await self.link.write(fan_map.enable.address, [fan_map.enable_on])
        back = await self.link.read(3, fan_map.output.address, fan_map.output.count)
        if back != words:
            raise ProtocolError(f"output register reads back {back}, wrote {words}")
        return round(fan_pct(fan_map, back), 6)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.refresh_s):
                    await self._wake.wait()
            self._wake.clear()
            try:
                ok = await self._apply()
            except DeviceError as exc:  # _apply handles these; belt and braces for the daemon's sake
                self._health.unavailable(str(exc))
                ok = False
            if not ok:
                self._check_health()
                await asyncio.sleep(self._backoff.next_delay())
                self._wake.set()
            elif self._wanted != self._applied:
                self._wake.set()

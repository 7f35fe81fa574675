"""The control loop's shell: every tick it reads the drivers, calls the pure `step`, applies the fan
command, publishes the snapshot and carries out the step's effects (save the battery belief, run the
shutdown action). Every decision lives in `controller.step`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from controller.clock import Clock
from controller.command_bus import CommandBus, PendingCommand
from controller.daemon_settings import DaemonSettings
from controller.hub import SnapshotHub
from controller.loop_timing import LoopTiming
from controller.snapshot import AlertKind, Event, EventKind, Mode, Severity, Snapshot
from controller.state_store import load_battery, save_battery
from controller.step import (
    ControlState,
    Effect,
    FanInput,
    PressureInput,
    RunShutdown,
    SaveBattery,
    ShuntInput,
    SourcedCommand,
    StepInputs,
    StepResult,
    initial_state,
    step,
)
from controller.step.views import fresh_shunt, measured_fan_w
from drivers.base import Fan, PowerWatchedFan, PressureSensor, Shunt

log = logging.getLogger(__name__)

SHUTDOWN_ACTION_TIMEOUT_S = 60.0
STOP_HANDOFF_TIMEOUT_S = 1.0
"""Bound on handing the safe speed to the fan and on waiting for a running shutdown action when stopping."""
DEVICE_CLOSE_TIMEOUT_S = 3.0
"""Bound on closing the devices (a Modbus fan spends up to its close_timeout_s confirming the safe speed)."""


@dataclass(slots=True)
class RunTotals:
    """What a run did, for the simulator's summary."""

    ticks: int = 0
    elapsed_s: float = 0.0
    clean_air_ft3: float = 0.0
    below_floor_s: float = 0.0
    pressure_known_s: float = 0.0
    first_usable_wh: float | None = None
    energy_drawn_wh: float = 0.0
    last_snapshot: Snapshot | None = None
    events: list[Event] = field(default_factory=list)


class Daemon:
    """One controller: drivers in, fan command out, a snapshot per tick to the hub."""

    def __init__(
        self,
        settings: DaemonSettings,
        *,
        shunt: Shunt,
        pressure: PressureSensor,
        fan: Fan,
        clock: Clock,
        hub: SnapshotHub,
        commands: CommandBus,
        keep_events: bool = False,
    ) -> None:
        self.settings = settings
        self.shunt = shunt
        self.pressure = pressure
        self.fan = fan
        # isinstance against a runtime-checkable Protocol walks its members: asked once, not every tick.
        self._watched_fan = fan if isinstance(fan, PowerWatchedFan) else None
        self.clock = clock
        self.hub = hub
        self.commands = commands
        self.keep_events = keep_events
        self.state: ControlState = initial_state(settings, clock.monotonic(), clock.utc_now())
        self.totals = RunTotals()
        self.timing = LoopTiming(settings.tick_s)
        self._shell_events: list[Event] = []
        self._shutdown: asyncio.Task[None] | None = None

    @property
    def mode(self) -> Mode:
        """The control mode now."""
        return self.state.setpoints.mode

    async def start(self) -> None:
        """Restore the battery belief, set the deadline from the configuration, open the devices."""
        now_s, now_utc = self.clock.monotonic(), self.clock.utc_now()
        path = self.settings.state_path
        restored = load_battery(path) if path is not None else None
        self.state = initial_state(self.settings, now_s, now_utc, restored)
        for device in (self.shunt, self.pressure, self.fan):
            await device.start()
        deadline = self.state.setpoints.deadline_utc(now_s, now_utc)
        log.info(
            "controller %s started in %s mode (deadline %s)",
            self.settings.controller_id,
            self.mode.value,
            deadline or "none",
        )

    async def stop(self) -> None:
        """Leave the fan at the safe speed, save the battery belief, release the devices; every wait is
        bounded, so that a device that hangs cannot keep the process from stopping."""
        safe = self.settings.fan.safe_speed_pct
        log.info("stopping: fan to the safe speed %.0f %%", safe)
        await self._bounded(self.fan.set_command(safe), STOP_HANDOFF_TIMEOUT_S, "handing the safe speed to the fan")
        self.state = replace(self.state, command_pct=safe)
        if self._shutdown is not None:
            await asyncio.wait({self._shutdown}, timeout=STOP_HANDOFF_TIMEOUT_S)
        if self._shell_events:
            events, self._shell_events = tuple(self._shell_events), []
            if self.keep_events:
                self.totals.events.extend(events)
            self._publish_events(*events)
        self._save(SaveBattery(self.state.setpoints.battery, self.clock.utc_now()))
        devices = (self.shunt, self.pressure, self.fan)
        closing = {asyncio.ensure_future(self._close(device)): device for device in devices}
        _done, hung = await asyncio.wait(closing, timeout=DEVICE_CLOSE_TIMEOUT_S)
        for task in hung:
            task.cancel()
        if hung:
            names = ", ".join(sorted(type(closing[task]).__name__ for task in hung))
            log.error("%s did not close within %.0f s; leaving them", names, DEVICE_CLOSE_TIMEOUT_S)

    @staticmethod
    async def _close(device: Shunt | PressureSensor | Fan) -> None:
        try:
            await device.close()
        except Exception:  # a device that fails to close must not keep the others open
            log.exception("closing %s failed", type(device).__name__)

    @staticmethod
    async def _bounded(work: Coroutine[Any, Any, None], timeout_s: float, what: str) -> None:
        task = asyncio.ensure_future(work)
        _done, pending = await asyncio.wait({task}, timeout=timeout_s)
        if pending:
            task.cancel()
            log.error("%s took longer than %.0f s; going on", what, timeout_s)
        elif task.exception() is not None:
            log.error("%s failed: %s", what, task.exception())

    async def run(
        self,
        *,
        duration_s: float | None = None,
        stop: asyncio.Event | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> RunTotals:
        """Tick until `duration_s` has passed, `stop` is set or `should_stop()` says so (checked after each
        tick; the simulator stops when the battery's BMS cuts the controller's power); then stop and close
        the hub."""
        await self.start()
        start_s = self.clock.monotonic()
        next_tick = start_s
        try:
            while stop is None or not stop.is_set():
                self.timing.started(self.clock.monotonic())
                await self.tick()
                if duration_s is not None and self.clock.monotonic() - start_s >= duration_s - 1e-9:
                    break
                if should_stop is not None and should_stop():
                    break
                next_tick += self.settings.tick_s
                await self.clock.sleep(max(0.0, next_tick - self.clock.monotonic()))
        finally:
            log.info("%s", self.timing.summary())
            await self.stop()
            stopping = "controller stopped; fan left at the safe speed"
            self._publish_events(Event(EventKind.STOPPING, stopping, self.clock.utc_now()))
            self.hub.close()
        return self.totals

    def deadline_utc(self, now_s: float, now_utc: datetime) -> datetime | None:
        """The deadline as wall time (it lives on the monotonic clock, so NTP jumps cannot move it)."""
        return self.state.setpoints.deadline_utc(now_s, now_utc)

    async def tick(self) -> Snapshot:
        """Read, step, actuate, carry out the effects, publish."""
        pending = self.commands.take_pending()
        inputs = self._inputs(pending)
        result = step(self.settings, self.state, inputs)
        self.state = result.state
        self._answer(pending, result)
        await self.fan.set_command(result.command_pct)
        self._watch_fan_power(inputs)
        for effect in result.effects:
            self._carry_out(effect)
        self._record(result)
        self.hub.publish(result.snapshot)
        return result.snapshot

    def _inputs(self, pending: list[PendingCommand]) -> StepInputs:
        shunt, pressure, fan = self.shunt.latest(), self.pressure.latest(), self.fan.latest()
        shell_events, self._shell_events = tuple(self._shell_events), []
        return StepInputs(
            now_s=self.clock.monotonic(),
            now_utc=self.clock.utc_now(),
            shunt=None
            if shunt is None
            else ShuntInput(
                shunt.monotonic_s,
                shunt.voltage_v,
                shunt.current_a,
                shunt.power_w,
                shunt.soc_pct,
                shunt.consumed_ah,
                shunt.history.get("since_full_charge_s"),
                None if shunt.time_to_go_min is None else shunt.time_to_go_min * 60.0,
            ),
            pressure=None if pressure is None else PressureInput(pressure.monotonic_s, pressure.pressure_pa),
            fan=None if fan is None else FanInput(fan.monotonic_s, fan.rpm, fan.stalled),
            shunt_status=self.shunt.stats.state.value,
            pressure_status=self.pressure.stats.state.value,
            fan_status=self.fan.stats.state.value,
            conditions=self.hub.conditions,
            commands=tuple(SourcedCommand(p.source, p.command) for p in pending),
            shell_events=shell_events,
        )

    def _watch_fan_power(self, inputs: StepInputs) -> None:
        """Hand a fan that verifies itself by its power (a pressed purifier) the fan's measured watts."""
        watched = self._watched_fan
        if watched is not None:
            shunt = fresh_shunt(self.settings, inputs.shunt, inputs.now_s)
            when = inputs.now_s if shunt is None else shunt.monotonic_s
            watched.observe_power(measured_fan_w(self.settings, shunt), when)
            self.hub.report(AlertKind.FAN_UNVERIFIED, watched.open_loop, watched.message)

    def _answer(self, pending: list[PendingCommand], result: StepResult) -> None:
        for waiting, answer in zip(pending, result.command_results, strict=True):
            if not waiting.result.done():
                waiting.result.set_result(answer)
            if answer.accepted:
                log.info("command from %s: %s", waiting.source, answer.message)
            else:
                log.warning("command from %s rejected: %s", waiting.source, answer.message)

    def _carry_out(self, effect: Effect) -> None:
        if isinstance(effect, SaveBattery):
            self._save(effect)
        elif isinstance(effect, RunShutdown) and self._shutdown is None:
            self._shutdown = asyncio.create_task(self._run_shutdown(effect.argv), name="shutdown-action")

    def _save(self, effect: SaveBattery) -> None:
        if self.settings.state_path is not None and effect.battery.soc_pct is not None:
            save_battery(self.settings.state_path, effect.battery, effect.now_utc)

    async def _run_shutdown(self, argv: tuple[str, ...]) -> None:
        """The shutdown action runs beside the loop; its outcome is an event in a later snapshot."""
        log.error("battery at the shutdown level: running %s", " ".join(argv))
        try:
            process = await asyncio.create_subprocess_exec(*argv)
            code = await asyncio.wait_for(process.wait(), SHUTDOWN_ACTION_TIMEOUT_S)
            message = f"shutdown action {' '.join(argv)} exited with {code}"
        except (OSError, TimeoutError) as exc:
            message = f"shutdown action {' '.join(argv)} failed: {exc}"
        self._shell_events.append(Event(EventKind.SHUTDOWN_ACTION, message, self.clock.utc_now(), Severity.CRITICAL))

    def _record(self, result: StepResult) -> None:
        counted = result.state.totals
        totals = self.totals
        totals.ticks, totals.elapsed_s = counted.ticks, counted.elapsed_s
        totals.clean_air_ft3, totals.energy_drawn_wh = counted.clean_air_ft3, counted.energy_drawn_wh
        totals.below_floor_s, totals.pressure_known_s = counted.below_floor_s, counted.pressure_known_s
        totals.first_usable_wh = counted.first_usable_wh
        totals.last_snapshot = result.snapshot
        if self.keep_events:
            totals.events.extend(result.snapshot.events)

    def _publish_events(self, *events: Event) -> None:
        latest = self.hub.latest
        if latest is None or self.hub.closed:
            return
        self.hub.publish(replace(latest, timestamp_utc=events[-1].timestamp_utc, events=events))

"""The whole daemon on the simulated plant: the shell that `cleanroom sim` and the benchmarks share."""

from __future__ import annotations

import asyncio
import bisect
import sys
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from controller.clock import Clock, SimulatedClock
from controller.command_bus import CommandBus
from controller.commands import CommandResult, SetDeadline
from controller.config.loader import Config
from controller.daemon import Daemon, RunTotals
from controller.daemon_settings import DaemonSettings
from controller.hub import Sink, SnapshotHub
from controller.service import serve
from controller.sim.buttons import PressedPurifier, pressed_purifier, purifier_buttons
from controller.sim.devices import SimulatedPlant
from controller.sim.plant import BatteryParams, PlantParams, PlantState
from controller.sim.rig import SimRoom, simulated_plant, simulated_rig
from controller.sim.scenario import Scenario, TimedCommand, grid_spans
from controller.sim.summary import SimSummary, Truth, summarize
from controller.units import format_duration
from drivers.base import Fan


@dataclass(slots=True)
class Simulation:
    """A daemon wired to a simulated plant on a simulated clock."""

    config: Config
    room: SimRoom
    scenario: Scenario
    duration_s: float
    speed: float | None
    seed: int = 0
    state_path: Path | None = None
    start_utc: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    keep_events: bool = False
    fan_driver: str = "simulated"
    """"simulated" (the plant's own fan), or "buttons"/"ir": the real driver pressing a simulated purifier's
    buttons through the gpiod fake, or sending its remote's codes through the ir-ctl fake."""
    daemon: Daemon | None = field(default=None, init=False)
    pressed: PressedPurifier | None = field(default=None, init=False)

    def plant_params(self) -> PlantParams:
        """The plant that matches the configuration, in the simulated room."""
        return simulated_plant(self.config, self.room)

    async def run(
        self,
        sinks: Callable[[Clock], list[Sink]] | None = None,
        progress: bool = False,
        observe: Callable[[PlantState], None] | None = None,
    ) -> SimSummary:
        """Run to the end (or until the BMS cuts the controller's power) and summarise. `sinks` builds the
        sinks on the simulation's clock; `observe` sees the plant's true state after every tick (benchmarks
        compare it with what the controller believed). The scenario's timed commands go through the
        daemon's command bus, as a user's would."""
        rig = simulated_rig(
            self.plant_params(), self.scenario, start_utc=self.start_utc, speed=self.speed, seed=self.seed
        )
        clock, devices = rig.clock, rig.devices
        hub, commands = SnapshotHub(), CommandBus()
        daemon = Daemon(
            DaemonSettings.from_config(self.config, self.state_path),
            shunt=devices.shunt,
            pressure=devices.pressure,
            fan=self._fan(devices.plant, devices.fan, clock),
            clock=clock,
            hub=hub,
            commands=commands,
            keep_events=self.keep_events,
        )
        self.daemon = daemon
        watch = _Watch(self.scenario, commands, self.config.controller.tick_s)

        def after_tick() -> bool:
            state = devices.plant.state
            watch.tick(state)
            if observe is not None:
                observe(state)
            return state.bms_cut and not state.charging

        reporter = _Progress(daemon, self.duration_s) if progress else None
        built = sinks(clock) if sinks else []
        totals = await serve(daemon, built, duration_s=self.duration_s, should_stop=after_tick, progress=reporter)
        if reporter is not None:
            reporter.done()
        return self._summary(totals, watch, devices.plant.params.battery)

    def _deadline_s(self, totals: RunTotals) -> float | None:
        """The deadline in force at the end (a timed command may have moved it), from the run's start."""
        last = totals.last_snapshot
        if last is not None:
            deadline = last.deadline_utc
            return None if deadline is None else round((deadline - self.start_utc).total_seconds(), 3)
        return self._configured_deadline_s()

    def _configured_deadline_s(self) -> float | None:
        """The configuration's deadline (relative, or absolute in UTC), from the run's start."""
        control = self.config.control
        if control.deadline_in_s is None and control.deadline_utc is not None:
            return (control.deadline_utc - self.start_utc).total_seconds()
        return control.deadline_in_s

    def _deadline_turns(self) -> tuple[tuple[float, float], ...]:
        """The configured deadline from the start, then each deadline a timed command sets, from its time."""
        first = self._configured_deadline_s()
        turns = [] if first is None else [(0.0, first)]
        for timed in self.scenario.commands:
            command = timed.command
            if isinstance(command, SetDeadline) and command.in_s is not None:
                turns.append((timed.at_s, timed.at_s + command.in_s))
            elif isinstance(command, SetDeadline) and command.deadline_utc is not None:
                turns.append((timed.at_s, (command.deadline_utc - self.start_utc).total_seconds()))
        return tuple(turns)

    def _summary(self, totals: RunTotals, watch: _Watch, battery: BatteryParams) -> SimSummary:
        control = self.config.control
        deadline_s = self._deadline_s(totals)
        horizon_s = totals.elapsed_s if deadline_s is None else deadline_s
        truth = Truth(
            battery=battery,
            grid_spans=grid_spans(self.scenario, horizon_s),
            clean_air_ft3=watch.air.until(horizon_s),
            commands=watch.answers(),
            deadlines=self._deadline_turns(),
        )
        return summarize(
            totals,
            mode=control.mode,
            scenario=self.scenario.name,
            deadline_s=deadline_s,
            curve=self.config.fan.curve,
            path=self.config.power_path,
            room_c_cfm=self.room.leakage_c_cfm,
            room_n=self.room.leakage_n,
            floor_pa=control.pressure_floor_pa,
            cap_pa=control.pressure_cap_pa,
            bms_cut_s=watch.cut_s,
            delivered_ft3=watch.air.total_ft3,
            truth=truth,
        )

    def _fan(self, plant: SimulatedPlant, simulated: Fan, clock: SimulatedClock) -> Fan:
        """The plant's own fan, or with `fan_driver="buttons"` the real driver pressing a simulated purifier."""
        if self.fan_driver not in ("buttons", "ir"):
            return simulated
        buttons = purifier_buttons(self.config.devices.fan, self.config.fan, self.fan_driver)
        self.pressed = pressed_purifier(
            plant, self.config.fan, buttons, clock, miss_probability=self.scenario.missed_press, seed=self.seed
        )
        return self.pressed.fan


class AirLog:
    """The air the simulated room really got: the plant's flow (which lags the fan's command) over time,
    kept cumulatively per tick so that it can be counted up to a deadline that moved during the run."""

    def __init__(self) -> None:
        self.times_s = array("d")
        self.totals_ft3 = array("d")

    @property
    def total_ft3(self) -> float:
        """All the air so far."""
        return self.totals_ft3[-1] if self.totals_ft3 else 0.0

    def add(self, t_s: float, flow_mean_cfm: float) -> None:
        """Count the flow averaged over the plant's last step (one step per tick)."""
        if self.times_s:
            self.totals_ft3.append(self.total_ft3 + flow_mean_cfm * (t_s - self.times_s[-1]) / 60.0)
        else:
            self.totals_ft3.append(0.0)
        self.times_s.append(t_s)

    def until(self, t_s: float) -> float:
        """The air up to t_s (interpolated inside a tick; all of it when t_s is past the end)."""
        times, totals = self.times_s, self.totals_ft3
        index = bisect.bisect_right(times, t_s)
        if index == 0:
            return 0.0
        if index == len(times):
            return self.total_ft3
        t0, t1 = times[index - 1], times[index]
        return totals[index - 1] + (totals[index] - totals[index - 1]) * (t_s - t0) / (t1 - t0)


class _Watch:
    """The simulator's side of each tick: counts the real air, notes the BMS cut, and sends the scenario's
    timed commands so that the tick at or after their time applies them."""

    def __init__(self, scenario: Scenario, commands: CommandBus, tick_s: float) -> None:
        self.air = AirLog()
        self.cut_s: float | None = None
        self._due = list(scenario.commands)
        self._bus = commands
        self._tick_s = tick_s
        self._sent: list[tuple[TimedCommand, asyncio.Future[CommandResult]]] = []

    def tick(self, state: PlantState) -> None:
        self.air.add(state.t_s, state.flow_mean_cfm)
        if state.bms_cut and self.cut_s is None:
            self.cut_s = state.t_s
        while self._due and self._due[0].at_s <= state.t_s + self._tick_s + 1e-9:
            timed = self._due.pop(0)
            self._sent.append((timed, self._bus.submit_nowait(timed.command, "scenario")))

    def answers(self) -> tuple[str, ...]:
        """Each sent command and the loop's answer."""
        lines = []
        for timed, future in self._sent:
            answer = future.result() if future.done() else None
            verdict = "not applied (the run ended)" if answer is None else answer.message
            accepted = "" if answer is None else ("accepted: " if answer.accepted else "rejected: ")
            lines.append(f"at {format_duration(timed.at_s)}: {timed.text}: {accepted}{verdict}")
        return tuple(lines)


class _Progress:
    """One line on standard error, refreshed twice a second: simulated time, SoC, flow, pressure."""

    def __init__(self, daemon: Daemon, duration_s: float, out: Callable[[str], object] = sys.stderr.write) -> None:
        self.daemon = daemon
        self.duration_s = duration_s
        self.out = out
        self.started = time.monotonic()
        self.tty = sys.stderr.isatty()
        self.last_line = -1.0

    def __call__(self) -> None:
        snapshot = self.daemon.hub.latest
        if snapshot is None:
            return
        done = self.daemon.totals.elapsed_s
        fraction = done / self.duration_s if self.duration_s else 1.0
        if not self.tty and fraction - self.last_line < 0.1:
            return
        self.last_line = fraction
        soc = "—" if snapshot.soc_pct is None else f"{snapshot.soc_pct:.0f} %"
        pressure = "—" if snapshot.pressure_pa is None else f"{snapshot.pressure_pa:.1f} Pa"
        line = (
            f"sim {format_duration(done)} of {format_duration(self.duration_s)} ({100 * fraction:.0f} %)"
            f"  SoC {soc}  {snapshot.flow_cfm:.0f} CFM  {pressure}  [{time.monotonic() - self.started:.0f} s]"
        )
        self.out(f"\r{line}\033[K" if self.tty else f"{line}\n")

    def done(self) -> None:
        self()
        if self.tty:
            self.out("\n")

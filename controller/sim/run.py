"""The whole daemon on the simulated plant: the shell that `cleanroom sim` and the benchmarks share."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from controller.clock import Clock, SimulatedClock
from controller.command_bus import CommandBus
from controller.config.loader import Config
from controller.daemon import Daemon
from controller.daemon_settings import DaemonSettings
from controller.hub import Sink, SnapshotHub
from controller.service import serve
from controller.sim.buttons import PressedPurifier, pressed_purifier, purifier_buttons
from controller.sim.devices import SimulatedPlant
from controller.sim.plant import PlantParams, PlantState
from controller.sim.rig import SimRoom, simulated_plant, simulated_rig
from controller.sim.scenario import Scenario
from controller.sim.summary import SimSummary, summarize
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
        compare it with what the controller believed)."""
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
        cut_at: list[float] = []
        delivered = _Delivered()

        def bms_cut() -> bool:
            state = devices.plant.state
            delivered.add(state.t_s, state.flow_mean_cfm)
            if observe is not None:
                observe(state)
            if state.bms_cut and not cut_at:
                cut_at.append(state.t_s)
            return state.bms_cut and not state.charging

        reporter = _Progress(daemon, self.duration_s) if progress else None
        built = sinks(clock) if sinks else []
        totals = await serve(daemon, built, duration_s=self.duration_s, should_stop=bms_cut, progress=reporter)
        if reporter is not None:
            reporter.done()
        control = self.config.control
        deadline_s = control.deadline_in_s
        if deadline_s is None and control.deadline_utc is not None:
            deadline_s = (control.deadline_utc - self.start_utc).total_seconds()
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
            bms_cut_s=cut_at[0] if cut_at else None,
            delivered_ft3=delivered.ft3,
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


class _Delivered:
    """The air the simulated room really got: the plant's flow (which lags the fan's command) over time."""

    def __init__(self) -> None:
        self.ft3 = 0.0
        self.last_t_s: float | None = None

    def add(self, t_s: float, flow_mean_cfm: float) -> None:
        """Count the flow averaged over the plant's last step (one step per tick)."""
        if self.last_t_s is not None:
            self.ft3 += flow_mean_cfm * (t_s - self.last_t_s) / 60.0
        self.last_t_s = t_s


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

"""The imperative shell around the simulated plant: a `SimulatedPlant` that follows an injected clock, and
simulated devices that implement the driver Protocols of drivers/base.py on top of it.

The plant advances lazily: whenever a device is read or commanded, it integrates from its last time to
`clock.monotonic()` with the last fan command, in sub-steps no longer than `max_step_s` and cut at the
scenario's changes, so the result does not depend on how often the devices are polled.
"""

from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass

from controller.clock import Clock
from controller.sim.plant import ChargeStage, PlantParams, PlantState, initial_state, step
from controller.sim.scenario import (
    Scenario,
    disturbances_at,
    next_change_s,
    pressure_available,
    shunt_available,
    shunt_start_soc_pct,
    true_plant,
)
from drivers.base import DeviceState, DriverStats, FanReading, PressureReading, ShuntReading

log = logging.getLogger(__name__)


class SimulatedPlant:
    """Owns the plant's state and advances it to the clock's time on demand."""

    def __init__(
        self,
        params: PlantParams,
        scenario: Scenario,
        clock: Clock,
        seed: int = 0,
        max_step_s: float = 10.0,
    ) -> None:
        if not max_step_s > 0.0:
            raise ValueError(f"max_step_s must be positive, got {max_step_s!r}")
        self.params = params
        self.scenario = scenario
        self.clock = clock
        self.max_step_s = max_step_s
        self._rng = random.Random(seed)
        self._origin_s = clock.monotonic()
        self._state = initial_state(params)
        self._command_pct = 0.0
        self._disturbances = disturbances_at(scenario, 0.0)
        self._segment_end_s = -math.inf
        self.steps = 0

    @property
    def elapsed_s(self) -> float:
        """Seconds of the scenario elapsed at the clock's current time."""
        return self.clock.monotonic() - self._origin_s

    @property
    def command_pct(self) -> float:
        """The fan command currently applied to the plant."""
        return self._command_pct

    @property
    def state(self) -> PlantState:
        """The plant's state now (advances first)."""
        return self.advance()

    def monotonic_at(self, t_s: float) -> float:
        """The clock's monotonic time at a scenario time."""
        return self._origin_s + t_s

    def advance(self) -> PlantState:
        """Integrate from the last time to now with the last command; returns the new state."""
        target = self.elapsed_s
        state = self._state
        params = self.params
        scenario = self.scenario
        rng = self._rng
        command = self._command_pct
        max_step = self.max_step_s
        segment_end = self._segment_end_s
        disturbances = self._disturbances
        steps = 0
        while target - state.t_s > 1e-9:
            t = state.t_s
            if t >= segment_end:
                disturbances = disturbances_at(scenario, t)
                segment_end = next_change_s(scenario, t)
            dt = min(max_step, target - t, segment_end - t)
            state = step(state, params, dt, command, disturbances, rng)
            steps += 1
        self.steps += steps
        self._segment_end_s = segment_end
        self._disturbances = disturbances
        self._state = state
        return state

    def set_command(self, command_pct: float) -> None:
        """Apply a new fan command from now on (the time up to now ran with the previous one)."""
        if not math.isfinite(command_pct):
            raise ValueError(f"fan command must be a finite percentage, got {command_pct!r}")
        self.advance()
        self._command_pct = min(100.0, max(0.0, command_pct))


class _Health:
    """A simulated device's DriverStats with the house's logging rules (one line per state change)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.stats = DriverStats()

    def ok(self) -> None:
        if self.stats.state in (DeviceState.STALE, DeviceState.UNAVAILABLE):
            log.info("%s: recovered", self.name)
        self.stats.state = DeviceState.OK
        self.stats.readings += 1

    def lost(self, state: DeviceState, reason: str) -> None:
        if self.stats.state is state:
            return
        self.stats.errors += 1
        self.stats.last_error = reason
        if state is DeviceState.UNAVAILABLE:
            self.stats.timeouts += 1
            log.error("%s: unavailable: %s", self.name, reason)
        else:
            log.warning("%s: %s; keeping the last reading", self.name, reason)
        self.stats.state = state


class SimulatedShunt:
    """A SmartShunt-like battery monitor on the simulated battery.

    Its state of charge is its own coulomb count against `capacity_ah` (the configured capacity, which the
    battery may not really have), synchronised to 100 % when the charger floats, so it drifts from the true
    charge by the battery's self-discharge, like a real shunt. The scenario adds its errors: a state of
    charge off by `soc_offset_pct` at the start, a current offset (reported and counted), or no state of
    charge at all. Time-to-go follows Victron: remaining charge down to `discharge_floor_pct` over the
    current averaged for `averaging_s`. During a dropout `latest()` keeps returning the last reading (which
    ages); the BMS cutting the battery off leaves the shunt unpowered (UNAVAILABLE).
    """

    def __init__(
        self,
        plant: SimulatedPlant,
        discharge_floor_pct: float = 10.0,
        averaging_s: float = 180.0,
        name: str = "simulated shunt",
        capacity_ah: float | None = None,
    ) -> None:
        self.plant = plant
        self.discharge_floor_pct = discharge_floor_pct
        self.averaging_s = averaging_s
        battery = plant.params.battery
        self.capacity_ah = battery.capacity_ah if capacity_ah is None else capacity_ah
        scenario = plant.scenario
        true_start = min(100.0, max(0.0, battery.initial_soc_pct))
        counted_start_ah = (shunt_start_soc_pct(true_start, scenario) / 100.0 - 1.0) * self.capacity_ah
        self._count_error_ah = counted_start_ah - (true_start / 100.0 - 1.0) * battery.capacity_ah
        self._offset_since_s = 0.0
        self._health = _Health(name)
        self.stats = self._health.stats
        self._reading: ShuntReading | None = None
        self._average_a: float | None = None
        self._average_t_s = 0.0
        self._running = False

    async def start(self) -> None:
        """Start answering."""
        self._running = True

    async def close(self) -> None:
        """Stop answering (latest() keeps the last reading)."""
        self._running = False

    def latest(self) -> ShuntReading | None:
        """A fresh reading of the simulated battery, or the last one while the shunt is silent."""
        if not self._running:
            return self._reading
        plant = self.plant
        state = plant.advance()
        if state.bms_cut:
            self._health.lost(DeviceState.UNAVAILABLE, "no power (the BMS disconnected the battery)")
            return self._reading
        if not shunt_available(plant.scenario, state.t_s):
            self._health.lost(DeviceState.STALE, "no data (simulated dropout)")
            return self._reading
        if self._reading is not None and self._reading.monotonic_s == plant.monotonic_at(state.t_s):
            return self._reading
        self._reading = self._read(state)
        self._health.ok()
        return self._reading

    def _count_ah(self, state: PlantState) -> float:
        """The shunt's own count of the charge consumed since full (<= 0): the true count plus its start
        error and what its current offset added since the last synchronisation (a charger float)."""
        offset_a = self.plant.scenario.current_offset_a
        if state.charge_stage is ChargeStage.FLOAT:
            self._count_error_ah = 0.0
            self._offset_since_s = state.t_s
        drift_ah = offset_a * (state.t_s - self._offset_since_s) / 3600.0
        return min(0.0, max(-self.capacity_ah, state.consumed_ah + self._count_error_ah + drift_ah))

    def _read(self, state: PlantState) -> ShuntReading:
        capacity = self.capacity_ah
        current = state.current_a + self.plant.scenario.current_offset_a
        if self._average_a is None or self.averaging_s <= 0.0:
            self._average_a = current
        else:
            weight = 1.0 - math.exp(-(state.t_s - self._average_t_s) / self.averaging_s)
            self._average_a += weight * (current - self._average_a)
        self._average_t_s = state.t_s
        consumed = self._count_ah(state)
        soc = min(100.0, max(0.0, 100.0 * (1.0 + consumed / capacity)))
        ttg = math.inf  # what a Victron monitor says (TTG -1) when the battery is not discharging
        if not state.charging and self._average_a < -1e-6:
            left_ah = max(0.0, (soc - self.discharge_floor_pct) / 100.0 * capacity)
            ttg = left_ah / -self._average_a * 60.0
        counts = self.plant.scenario.shunt_reports_soc
        return ShuntReading(
            monotonic_s=self.plant.monotonic_at(state.t_s),
            voltage_v=state.voltage_v,
            current_a=current,
            power_w=state.voltage_v * current,
            soc_pct=soc if counts else None,
            consumed_ah=consumed if counts else None,
            time_to_go_min=ttg if counts else None,
            alarm=False,
            relay=None,
            product="SmartShunt (simulated)" if counts else "voltage and current monitor (simulated)",
        )


class SimulatedPressureSensor:
    """A differential-pressure sensor on the simulated room, with white measurement noise."""

    def __init__(
        self, plant: SimulatedPlant, noise_pa: float = 0.05, seed: int = 1, name: str = "simulated pressure"
    ) -> None:
        self.plant = plant
        self.noise_pa = noise_pa
        self._rng = random.Random(seed)
        self._health = _Health(name)
        self.stats = self._health.stats
        self._reading: PressureReading | None = None
        self._running = False

    async def start(self) -> None:
        """Start answering."""
        self._running = True

    async def close(self) -> None:
        """Stop answering."""
        self._running = False

    def latest(self) -> PressureReading | None:
        """A fresh pressure reading, or the last one during a dropout."""
        if not self._running:
            return self._reading
        plant = self.plant
        state = plant.advance()
        if not pressure_available(plant.scenario, state.t_s):
            self._health.lost(DeviceState.STALE, "no data (simulated dropout)")
            return self._reading
        now = plant.monotonic_at(state.t_s)
        if self._reading is not None and self._reading.monotonic_s == now:
            return self._reading
        noise = self._rng.gauss(0.0, self.noise_pa) if self.noise_pa > 0.0 else 0.0
        self._reading = PressureReading(monotonic_s=now, pressure_pa=state.pressure_pa + noise, temperature_c=None)
        self._health.ok()
        return self._reading


class SimulatedFan:
    """The simulated fan: commands go to the plant; readings carry its tachometer.

    `stalled` is what a tachometer-watching driver would say: the rotor has stayed near 0 rpm for
    `stall_detect_s` while the command asks it to turn.
    """

    def __init__(
        self,
        plant: SimulatedPlant,
        stall_detect_s: float = 5.0,
        stall_rpm: float = 30.0,
        name: str = "simulated fan",
    ) -> None:
        self.plant = plant
        self.stall_detect_s = stall_detect_s
        self.stall_rpm = stall_rpm
        self._health = _Health(name)
        self.stats = self._health.stats
        self._commanded = False
        self._still_since_s: float | None = None

    async def start(self) -> None:
        """Nothing to open."""

    async def close(self) -> None:
        """Leave the fan at its last command."""

    async def set_command(self, command_pct: float) -> None:
        """Apply a command to the plant (clamped to 0-100 %); a non-finite command is counted and ignored."""
        if not math.isfinite(command_pct):
            self.stats.errors += 1
            self.stats.last_error = f"rejected command {command_pct!r}"
            log.warning(
                "%s: rejected a non-finite command %r; keeping %.1f %%",
                self._health.name,
                command_pct,
                self.plant.command_pct,
            )
            return
        self._track(self.plant.advance())
        self.plant.set_command(command_pct)
        self._commanded = True
        self._health.ok()

    def latest(self) -> FanReading | None:
        """The applied command, the rotor's rpm and whether it looks stalled."""
        if not self._commanded:
            return None
        plant = self.plant
        state = plant.advance()
        self._track(state)
        stalled = self._still_since_s is not None and state.t_s - self._still_since_s >= self.stall_detect_s
        return FanReading(
            monotonic_s=plant.monotonic_at(state.t_s),
            command_pct=plant.command_pct,
            rpm=state.fan_rpm,
            stalled=stalled,
        )

    def _track(self, state: PlantState) -> None:
        expected_rpm = self.plant.command_pct / 100.0 * self.plant.params.fan_max_rpm
        if expected_rpm > 2.0 * self.stall_rpm and state.fan_rpm < self.stall_rpm:
            if self._still_since_s is None:
                self._still_since_s = state.t_s
        else:
            self._still_since_s = None


@dataclass(frozen=True, slots=True)
class SimulatedDevices:
    """One simulated plant and the three devices that read and drive it."""

    plant: SimulatedPlant
    shunt: SimulatedShunt
    pressure: SimulatedPressureSensor
    fan: SimulatedFan


def simulated_devices(
    params: PlantParams,
    scenario: Scenario,
    clock: Clock,
    seed: int = 0,
    pressure_noise_pa: float = 0.05,
    max_step_s: float = 10.0,
) -> SimulatedDevices:
    """Build a plant on the clock and its shunt, pressure sensor and fan (random streams derived from seed).

    `params` are the configured plant; the scenario decides how the real one differs (its capacity, its
    charge at the start, its self-discharge), and the shunt counts against the configured capacity."""
    plant = SimulatedPlant(true_plant(params, scenario), scenario, clock, seed=seed, max_step_s=max_step_s)
    return SimulatedDevices(
        plant=plant,
        shunt=SimulatedShunt(plant, capacity_ah=params.battery.capacity_ah),
        pressure=SimulatedPressureSensor(plant, noise_pa=pressure_noise_pa, seed=seed + 1),
        fan=SimulatedFan(plant),
    )

"""The shell that drives a calibration: commands the fan, samples the battery monitor, the pressure sensor
and the tachometer on an injected clock, waits for each step to settle, averages it, and saves the
results after every step.

Safety: a sensor that stops answering (no fresh reading for `stale_after_s`, an unavailable device, a
non-finite value) or a stalled fan aborts the run with the fan at the safe speed and the partial results
saved; so does cancellation (Ctrl-C, SIGTERM). The fan is off on purpose only while the baseline is
measured.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from controller.calibration.model import Baseline, Calibration, StepResult
from controller.calibration.pressed import feed_fan_power, missed_press
from controller.calibration.settling import (
    MeasureCriteria,
    Sample,
    Settling,
    SettlingCriteria,
    WindowStats,
    assess,
    precise_enough,
    window_stats,
)
from controller.calibration.sweep import SweepStep
from controller.clock import Clock
from controller.errors import CleanroomError
from drivers.base import DeviceState, Fan, PressureSensor, Shunt

log = logging.getLogger(__name__)

CHARGING_CURRENT_A = 0.05


class CalibrationRefused(CleanroomError):
    """The calibration did not start (the fan was not touched)."""


class CalibrationAborted(CleanroomError):
    """The calibration stopped on a fault; the fan is at the safe speed and the partial results are saved."""

    def __init__(self, message: str, partial: Calibration) -> None:
        super().__init__(message)
        self.partial = partial


class SensorFault(Exception):
    """A reading the calibration cannot do without is missing, stale or invalid."""


@dataclass(frozen=True, slots=True)
class Devices:
    """The three devices a calibration drives and reads."""

    shunt: Shunt
    pressure: PressureSensor
    fan: Fan


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """How a calibration samples, settles, averages and stays safe."""

    safe_speed_pct: float
    sample_s: float = 1.0
    settling: SettlingCriteria = field(default_factory=SettlingCriteria)
    measure: MeasureCriteria = field(default_factory=MeasureCriteria)
    stale_after_s: float = 10.0
    first_reading_s: float = 30.0
    min_soc_pct: float = 30.0
    force: bool = False
    kick_start_pct: float = 0.0
    kick_start_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a calibration is: `step` 0 is the baseline (fan off), then 1..`total`."""

    phase: str
    step: int
    total: int
    setting: str
    command_pct: float
    elapsed_s: float
    settling: Settling | None = None
    stats: WindowStats | None = None


@dataclass(frozen=True, slots=True)
class _Measured:
    settled: bool
    settle_s: float
    stats: WindowStats


class CalibrationSession:
    """One run over a calibration's remaining steps (all of them, or the rest of a resumed one)."""

    def __init__(
        self,
        devices: Devices,
        clock: Clock,
        settings: SessionSettings,
        calibration: Calibration,
        save: Callable[[Calibration], None] | None = None,
        progress: Callable[[Progress], None] | None = None,
    ) -> None:
        self.devices = devices
        self.clock = clock
        self.settings = settings
        self.calibration = calibration
        self._save = save
        self._progress = progress
        self._command_pct = 0.0
        self._command_at_s = -math.inf
        self._after_command = False
        """Whether the last sample's power and pressure readings were both taken after the last command
        (drivers deliver readings with a delay; older ones describe the previous step)."""

    async def run(self) -> Calibration:
        """Measure what is left, fit the room, leave the fan at the safe speed, return the calibration.

        Raises CalibrationRefused before touching the fan, CalibrationAborted after a fault, FitError when
        too few steps reached the fit's minimum pressure, and re-raises cancellation after making safe."""
        devices = self.devices
        for device in (devices.shunt, devices.pressure, devices.fan):
            await device.start()
        try:
            await self._preflight()
            try:
                await self._sweep()
                if (doubt := missed_press(devices.fan, self.calibration)) is not None:
                    raise SensorFault(doubt)
            except SensorFault as fault:
                await self._make_safe()
                self.save()
                raise CalibrationAborted(
                    f"calibration aborted: {fault}; the fan is at the safe speed "
                    f"({self.settings.safe_speed_pct:g} %) and the {len(self.calibration.steps)} step(s) measured "
                    "so far are saved (fix the fault and run again with --resume)",
                    self.calibration,
                ) from fault
            except asyncio.CancelledError:
                await asyncio.shield(self._make_safe())
                self.save()
                log.warning(
                    "calibration interrupted: fan at the safe speed (%g %%), %d step(s) saved",
                    self.settings.safe_speed_pct,
                    len(self.calibration.steps),
                )
                raise
            except Exception:
                log.exception("calibration failed unexpectedly: fan to the safe speed, partial results saved")
                await self._make_safe()
                self.save()
                raise
            await self._make_safe()
            self.save()
            self.calibration = self.calibration.fitted(self.clock.utc_now().isoformat())
            self.save()
            return self.calibration
        finally:
            for device in (devices.shunt, devices.pressure, devices.fan):
                await device.close()

    def save(self) -> None:
        """Hand the calibration as it stands to the saver (after every step, on abort and at the end)."""
        if self._save is not None:
            self._save(self.calibration)

    async def _make_safe(self) -> None:
        await self.devices.fan.set_command(self.settings.safe_speed_pct)
        self._command_pct = self.settings.safe_speed_pct

    async def _preflight(self) -> None:
        """Wait for the first readings; refuse on a low or unknown state of charge, or while charging."""
        s = self.settings
        deadline = self.clock.monotonic() + s.first_reading_s
        while True:
            await self.clock.sleep(s.sample_s)
            shunt, pressure = self.devices.shunt.latest(), self.devices.pressure.latest()
            if shunt is not None and pressure is not None:
                break
            if self.clock.monotonic() >= deadline:
                missing = " and ".join(
                    name
                    for name, reading in (("battery monitor", shunt), ("pressure sensor", pressure))
                    if reading is None
                )
                raise CalibrationRefused(
                    f"calibration not started: no reading from the {missing} within {s.first_reading_s:g} s "
                    "(check the wiring with `cleanroom probe`)"
                )
        soc = shunt.soc_pct
        if soc is None and not s.force:
            raise CalibrationRefused(
                "calibration not started: the battery monitor does not report a state of charge; "
                "check the battery yourself and pass --force to run anyway"
            )
        if soc is not None and soc < s.min_soc_pct:
            raise CalibrationRefused(
                f"calibration not started: the battery is at {soc:.0f} % state of charge, below --min-soc "
                f"{s.min_soc_pct:g} %; charge it first (a calibration runs the fan at every setting)"
            )
        if shunt.current_a is not None and shunt.current_a > CHARGING_CURRENT_A:
            raise CalibrationRefused(
                f"calibration not started: the battery is charging ({shunt.current_a:.2f} A in); the draw of "
                "the fan cannot be measured while a charger feeds the bus: unplug the charger first"
            )
        if self.calibration.soc_start_pct is None:
            self.calibration = replace(self.calibration, soc_start_pct=soc)

    async def _sweep(self) -> None:
        plan = self.calibration.plan
        total = len(plan)
        if self.calibration.baseline is None:
            await self._command(0.0)
            measured = await self._hold(Progress("baseline", 0, total, "off", 0.0, 0.0), measure_pressure=False)
            self.calibration = replace(
                self.calibration,
                baseline=Baseline(
                    power_w=measured.stats.power.value,
                    power_stderr_w=measured.stats.power.stderr,
                    pressure_pa=measured.stats.pressure.value,
                    pressure_stderr_pa=measured.stats.pressure.stderr,
                    settled=measured.settled,
                    settle_s=measured.settle_s,
                    measure_s=measured.stats.duration_s,
                    samples=measured.stats.count,
                    measured_utc=self.clock.utc_now().isoformat(),
                ),
            )
            self.save()
        baseline = self.calibration.baseline
        assert baseline is not None
        for step in self.calibration.remaining():
            await self._command(step.command_pct)
            position = plan.index(step) + 1
            measured = await self._hold(
                Progress("settling", position, total, step.setting, step.command_pct, 0.0), measure_pressure=True
            )
            self.calibration = self.calibration.with_step(self._result(step, baseline, measured))
            self.save()

    def _result(self, step: SweepStep, baseline: Baseline, measured: _Measured) -> StepResult:
        stats = measured.stats
        source_w = stats.power.value - baseline.power_w
        return StepResult(
            index=step.index,
            setting=step.setting,
            command_pct=step.command_pct,
            rated_flow_cfm=step.rated_flow_cfm,
            source_w=source_w,
            fan_w=source_w * self.calibration.path_efficiency,
            power_stderr_w=math.hypot(stats.power.stderr, baseline.power_stderr_w),
            pressure_pa=stats.pressure.value,
            pressure_stderr_pa=stats.pressure.stderr,
            rpm=stats.rpm,
            settled=measured.settled,
            settle_s=measured.settle_s,
            measure_s=stats.duration_s,
            samples=stats.count,
            measured_utc=self.clock.utc_now().isoformat(),
        )

    async def _command(self, command_pct: float) -> None:
        """Apply a command, kick-starting a standing fan when its start duty is above the command."""
        s = self.settings
        fan = self.devices.fan
        if command_pct > 0.0 and self._command_pct <= 0.0 and s.kick_start_pct > command_pct and s.kick_start_s > 0:
            await fan.set_command(s.kick_start_pct)
            await self.clock.sleep(s.kick_start_s)
        await fan.set_command(command_pct)
        self._command_pct = command_pct
        self._command_at_s = self.clock.monotonic()

    async def _hold(self, where: Progress, measure_pressure: bool) -> _Measured:
        """Sample until power and pressure have settled (or the settling timeout), then average until the
        power (and, with `measure_pressure`, the pressure) is known precisely enough."""
        s = self.settings
        criteria = s.settling
        started = self.clock.monotonic()
        window: deque[Sample] = deque()
        settling = Settling(False, 0.0, None, None, None, None)
        while True:
            await self.clock.sleep(s.sample_s)
            sample = self._sample()
            if self._after_command:
                window.append(sample)
            while window and window[0].t_s < sample.t_s - criteria.window_s - s.sample_s:
                window.popleft()
            settling = replace(assess(list(window), criteria), elapsed_s=sample.t_s - started)
            self._report(replace(where, phase="settling", elapsed_s=settling.elapsed_s, settling=settling))
            if settling.settled:
                break
            if settling.elapsed_s >= criteria.timeout_s:
                log.warning(
                    "%s: not settled after %.0f s (power drift %s W, pressure drift %s Pa); measuring anyway",
                    "baseline" if where.step == 0 else f"setting {where.setting}",
                    settling.elapsed_s,
                    _fmt(settling.power_drift_w),
                    _fmt(settling.pressure_drift_pa),
                )
                break
        settle_s = self.clock.monotonic() - started
        measure = s.measure
        samples: list[Sample] = []
        check_every = max(1, int(measure.batch_s / s.sample_s))
        checked = 0
        while True:
            await self.clock.sleep(s.sample_s)
            samples.append(self._sample())
            elapsed = samples[-1].t_s - samples[0].t_s
            if len(samples) < 2 or elapsed < measure.min_s:
                continue
            if checked and len(samples) - checked < check_every and elapsed < measure.max_s:
                continue
            checked = len(samples)
            stats = window_stats(samples, measure.batch_s)
            self._report(replace(where, phase="measuring", elapsed_s=self.clock.monotonic() - started, stats=stats))
            if precise_enough(stats, measure, measure_pressure):
                return _Measured(settling.settled, settle_s, stats)

    def _report(self, progress: Progress) -> None:
        if self._progress is not None:
            self._progress(progress)

    def _sample(self) -> Sample:
        """One reading of everything now; a SensorFault when a reading is missing, stale or invalid."""
        s = self.settings
        now = self.clock.monotonic()
        devices = self.devices
        shunt = devices.shunt.latest()
        _check_fresh(
            "battery monitor",
            devices.shunt.stats.state,
            devices.shunt.stats.last_error,
            None if shunt is None else shunt.monotonic_s,
            now,
            s.stale_after_s,
        )
        assert shunt is not None
        # Voltage times current before the monitor's own power: VE.Direct reports P in whole watts.
        power = shunt.power_w
        if shunt.voltage_v is not None and shunt.current_a is not None:
            power = shunt.voltage_v * shunt.current_a
        if power is None or not math.isfinite(power):
            raise SensorFault(f"the battery monitor reports no usable power ({power!r})")
        feed_fan_power(devices.fan, -power, self.calibration, shunt.monotonic_s)
        pressure = devices.pressure.latest()
        _check_fresh(
            "pressure sensor",
            devices.pressure.stats.state,
            devices.pressure.stats.last_error,
            None if pressure is None else pressure.monotonic_s,
            now,
            s.stale_after_s,
        )
        assert pressure is not None
        if not math.isfinite(pressure.pressure_pa):
            raise SensorFault(f"the pressure sensor reports {pressure.pressure_pa!r}")
        fan = devices.fan.latest()
        rpm: float | None = None
        if fan is not None:
            if fan.stalled and self._command_pct > 0.0:
                raise SensorFault(f"the fan stalled at {self._command_pct:g} % (its tachometer reads no rotation)")
            # Only a tachometer reading taken after the command: drivers refresh it every second or so.
            fresh = fan.monotonic_s > self._command_at_s
            rpm = fan.rpm if fresh and fan.rpm is not None and math.isfinite(fan.rpm) else None
        self._after_command = min(shunt.monotonic_s, pressure.monotonic_s) > self._command_at_s
        since = now - self._command_at_s
        fan_s = -math.inf if fan is None else fan.monotonic_s - self._command_at_s
        log.debug("sample %.2f s after the command: %.4f W, %.3f Pa, %s rpm (fan reading at %.2f s)", since, -power,
                  pressure.pressure_pa, rpm, fan_s)  # fmt: skip
        return Sample(now, -power, pressure.pressure_pa, rpm)


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}"


def _check_fresh(
    name: str, state: DeviceState, last_error: str | None, stamped_s: float | None, now_s: float, stale_after_s: float
) -> None:
    reason = f" ({last_error})" if last_error else ""
    if state is DeviceState.UNAVAILABLE:
        raise SensorFault(f"the {name} is unavailable{reason}")
    if stamped_s is None:
        raise SensorFault(f"the {name} gave no reading{reason}")
    age = now_s - stamped_s
    if age > stale_after_s:
        raise SensorFault(f"the {name}'s newest reading is {age:.0f} s old (stale after {stale_after_s:g} s){reason}")

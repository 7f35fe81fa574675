"""A calibration as data: the baseline, the measured steps, the fitted room, and its JSON form.

The JSON file is what `[calibration] file = ...` points at. `fan.points` is a fan curve like the CSV
(setting, watts at the fan, rated CFM); `steps` keeps every raw measurement so a later fit can be redone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from controller.calibration.fit import FlowPressure, RoomFit, fit_leakage
from controller.calibration.sweep import SweepStep
from controller.errors import MISSING_VALUE, ConfigError
from controller.models.fan import FanCurve, parse_curve_rows

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Baseline:
    """The draw on the battery with the fan off: the controller and everything else that stands by."""

    power_w: float
    power_stderr_w: float
    pressure_pa: float
    pressure_stderr_pa: float
    settled: bool
    settle_s: float
    measure_s: float
    samples: int
    measured_utc: str


@dataclass(frozen=True, slots=True)
class StepResult:
    """One settled fan command and what it did."""

    index: int
    setting: str
    command_pct: float
    rated_flow_cfm: float
    source_w: float
    """Battery draw minus the baseline: what the fan takes from the store."""
    fan_w: float
    """The same at the fan, after the power path's conversion losses (the fan curve's watts)."""
    power_stderr_w: float
    pressure_pa: float
    pressure_stderr_pa: float
    rpm: float | None
    settled: bool
    settle_s: float
    measure_s: float
    samples: int
    measured_utc: str


@dataclass(frozen=True, slots=True)
class Calibration:
    """A calibration run, complete or partial (then `room` is None and steps may be missing)."""

    fan_name: str
    continuous: bool
    plan: tuple[SweepStep, ...]
    path_efficiency: float
    standing_w: float
    min_fit_pressure_pa: float
    started_utc: str
    soc_start_pct: float | None
    baseline: Baseline | None = None
    steps: tuple[StepResult, ...] = ()
    room: RoomFit | None = None
    finished_utc: str | None = None

    @property
    def complete(self) -> bool:
        """Every planned step measured and the room fitted."""
        return self.room is not None and len(self.steps) == len(self.plan)

    def remaining(self) -> tuple[SweepStep, ...]:
        """The planned steps not measured yet."""
        done = {s.index for s in self.steps}
        return tuple(step for step in self.plan if step.index not in done)

    def with_step(self, step: StepResult) -> Calibration:
        """This calibration with one more step (replacing an earlier measurement of the same step)."""
        others = tuple(s for s in self.steps if s.index != step.index)
        return replace(self, steps=tuple(sorted((*others, step), key=lambda s: s.index)))

    def fitted(self, finished_utc: str) -> Calibration:
        """Fit the room over the measured steps; raises FitError with too few usable steps."""
        room = fit_leakage(
            [FlowPressure(s.rated_flow_cfm, s.pressure_pa, s.pressure_stderr_pa) for s in self.steps],
            self.min_fit_pressure_pa,
        )
        return replace(self, room=room, finished_utc=finished_utc)

    def fan_curve(self, source: str) -> FanCurve:
        """The measured fan curve: each step's watts at the fan and its rated flow (validated like a CSV)."""
        rows = [(s.setting, round(s.fan_w, 4), s.rated_flow_cfm) for s in self.steps]
        return parse_curve_rows(rows, source, continuous=self.continuous, name=f"{self.fan_name} (calibrated)")


def _step_dict(step: StepResult) -> dict[str, object]:
    return {
        "index": step.index,
        "setting": step.setting,
        "command_pct": step.command_pct,
        "rated_flow_cfm": step.rated_flow_cfm,
        "source_w": step.source_w,
        "fan_w": step.fan_w,
        "power_stderr_w": step.power_stderr_w,
        "pressure_pa": step.pressure_pa,
        "pressure_stderr_pa": step.pressure_stderr_pa,
        "rpm": step.rpm,
        "settled": step.settled,
        "settle_s": step.settle_s,
        "measure_s": step.measure_s,
        "samples": step.samples,
        "measured_utc": step.measured_utc,
    }


def to_dict(calibration: Calibration) -> dict[str, object]:
    """The calibration file's JSON object."""
    c = calibration
    baseline = c.baseline
    return {
        "format": "cleanroom-calibration",
        "version": FORMAT_VERSION,
        "complete": c.complete,
        "started_utc": c.started_utc,
        "finished_utc": c.finished_utc,
        "soc_start_pct": c.soc_start_pct,
        "baseline_w": None if baseline is None else baseline.power_w,
        "baseline": None
        if baseline is None
        else {
            "power_w": baseline.power_w,
            "power_stderr_w": baseline.power_stderr_w,
            "pressure_pa": baseline.pressure_pa,
            "pressure_stderr_pa": baseline.pressure_stderr_pa,
            "settled": baseline.settled,
            "settle_s": baseline.settle_s,
            "measure_s": baseline.measure_s,
            "samples": baseline.samples,
            "measured_utc": baseline.measured_utc,
        },
        "path": {"efficiency": c.path_efficiency, "standing_w": c.standing_w},
        "fan": {
            "name": c.fan_name,
            "kind": "continuous" if c.continuous else "discrete",
            "points": [
                {"setting": s.setting, "command_pct": s.command_pct, "watts": s.fan_w, "cfm": s.rated_flow_cfm}
                for s in c.steps
            ],
        },
        "room": None
        if c.room is None
        else {
            "c_cfm": c.room.c_cfm,
            "n": c.room.n,
            "steps_used": c.room.steps_used,
            "min_pressure_pa": c.room.min_pressure_pa,
            "rms_log_residual": c.room.rms_log_residual,
        },
        "min_fit_pressure_pa": c.min_fit_pressure_pa,
        "plan": [
            {"index": p.index, "setting": p.setting, "command_pct": p.command_pct, "rated_flow_cfm": p.rated_flow_cfm}
            for p in c.plan
        ],
        "steps": [_step_dict(s) for s in c.steps],
    }


class _Reader:
    """Typed access to a parsed JSON object, with errors that name the file and the key."""

    def __init__(self, data: object, source: str, prefix: str = "") -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(source, prefix.rstrip(".") or "(file)", data, "a JSON object")
        self.data: Mapping[str, Any] = data
        self.source = source
        self.prefix = prefix

    def _get(self, key: str) -> Any:
        if key not in self.data:
            raise ConfigError(self.source, self.prefix + key, MISSING_VALUE, "a value (is this a calibration file?)")
        return self.data[key]

    def number(self, key: str) -> float:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ConfigError(self.source, self.prefix + key, value, "a finite number")
        return float(value)

    def optional_number(self, key: str) -> float | None:
        return None if self.data.get(key) is None else self.number(key)

    def string(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str):
            raise ConfigError(self.source, self.prefix + key, value, "a string")
        return value

    def optional_string(self, key: str) -> str | None:
        return None if self.data.get(key) is None else self.string(key)

    def boolean(self, key: str) -> bool:
        value = self._get(key)
        if not isinstance(value, bool):
            raise ConfigError(self.source, self.prefix + key, value, "true or false")
        return value

    def integer(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(self.source, self.prefix + key, value, "an integer")
        return value

    def sub(self, key: str) -> _Reader:
        return _Reader(self._get(key), self.source, f"{self.prefix}{key}.")

    def optional_sub(self, key: str) -> _Reader | None:
        return None if self.data.get(key) is None else self.sub(key)

    def items(self, key: str) -> list[_Reader]:
        value = self._get(key)
        if not isinstance(value, list):
            raise ConfigError(self.source, self.prefix + key, value, "a list")
        return [_Reader(item, self.source, f"{self.prefix}{key}[{i}].") for i, item in enumerate(value)]


def _baseline_from(base: _Reader) -> Baseline:
    return Baseline(
        power_w=base.number("power_w"),
        power_stderr_w=base.number("power_stderr_w"),
        pressure_pa=base.number("pressure_pa"),
        pressure_stderr_pa=base.number("pressure_stderr_pa"),
        settled=base.boolean("settled"),
        settle_s=base.number("settle_s"),
        measure_s=base.number("measure_s"),
        samples=base.integer("samples"),
        measured_utc=base.string("measured_utc"),
    )


def _step_from(s: _Reader) -> StepResult:
    return StepResult(
        index=s.integer("index"),
        setting=s.string("setting"),
        command_pct=s.number("command_pct"),
        rated_flow_cfm=s.number("rated_flow_cfm"),
        source_w=s.number("source_w"),
        fan_w=s.number("fan_w"),
        power_stderr_w=s.number("power_stderr_w"),
        pressure_pa=s.number("pressure_pa"),
        pressure_stderr_pa=s.number("pressure_stderr_pa"),
        rpm=s.optional_number("rpm"),
        settled=s.boolean("settled"),
        settle_s=s.number("settle_s"),
        measure_s=s.number("measure_s"),
        samples=s.integer("samples"),
        measured_utc=s.string("measured_utc"),
    )


def _room_from(room: _Reader) -> RoomFit:
    return RoomFit(
        c_cfm=room.number("c_cfm"),
        n=room.number("n"),
        steps_used=room.integer("steps_used"),
        min_pressure_pa=room.number("min_pressure_pa"),
        rms_log_residual=room.number("rms_log_residual"),
    )


def from_dict(data: object, source: str) -> Calibration:
    """Read a calibration file's JSON object; errors name the file, the key, the value and what was expected."""
    top = _Reader(data, source)
    if top.data.get("format") != "cleanroom-calibration":
        raise ConfigError(source, "format", top.data.get("format"), '"cleanroom-calibration" (a calibration file)')
    if top.integer("version") != FORMAT_VERSION:
        raise ConfigError(source, "version", top.data["version"], f"{FORMAT_VERSION}")
    fan = top.sub("fan")
    kind = fan.string("kind")
    if kind not in ("discrete", "continuous"):
        raise ConfigError(source, "fan.kind", kind, '"discrete" or "continuous"')
    path = top.sub("path")
    base = top.optional_sub("baseline")
    baseline = None if base is None else _baseline_from(base)
    plan = tuple(
        SweepStep(p.integer("index"), p.string("setting"), p.number("command_pct"), p.number("rated_flow_cfm"))
        for p in top.items("plan")
    )
    steps = tuple(_step_from(s) for s in top.items("steps"))
    room_data = top.optional_sub("room")
    room = None if room_data is None else _room_from(room_data)
    planned = {p.index for p in plan}
    for number, step in enumerate(steps):
        if step.index not in planned:
            raise ConfigError(source, f"steps[{number}].index", step.index, "the index of a planned step")
    return Calibration(
        fan_name=fan.string("name"),
        continuous=kind == "continuous",
        plan=plan,
        path_efficiency=path.number("efficiency"),
        standing_w=path.number("standing_w"),
        min_fit_pressure_pa=top.number("min_fit_pressure_pa"),
        started_utc=top.string("started_utc"),
        soc_start_pct=top.optional_number("soc_start_pct"),
        baseline=baseline,
        steps=steps,
        room=room,
        finished_utc=top.optional_string("finished_utc"),
    )

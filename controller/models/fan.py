"""The fan's operating points (command -> watts, CFM) and the curve between them.

A discrete fan (a purifier with speed settings) only has its points. A continuous fan (PWM duty points)
follows the affinity laws between measured points: flow grows linearly with speed (and duty), power grows
with the cube of speed on top of a fixed electronics overhead, so between neighbours
P(Q) = P1 + (P2 - P1) * (Q^3 - Q1^3) / (Q2^3 - Q1^3).
"""

from __future__ import annotations

import bisect
import csv
import io
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path

from controller.errors import ConfigError

CSV_COLUMNS = ("setting", "watts", "cfm")


@dataclass(frozen=True, slots=True)
class OperatingPoint:
    """One way to run the fan: its label, command in percent, electrical draw and free-air flow."""

    setting: str
    command_pct: float
    power_w: float
    flow_cfm: float

    @property
    def cfm_per_w(self) -> float:
        """Airflow per watt (0 for 'off')."""
        return self.flow_cfm / self.power_w if self.power_w > 0 else 0.0


OFF = OperatingPoint("off", 0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class FanCurve:
    """A fan's measured or rated points, ordered by command. `continuous` fans interpolate between them."""

    points: tuple[OperatingPoint, ...]
    continuous: bool
    name: str = "fan"
    commands: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.points:
            raise ValueError("a fan curve needs at least one operating point")
        commands = tuple(p.command_pct for p in self.points)
        if list(commands) != sorted(commands) or len(set(commands)) != len(commands):
            raise ValueError("fan curve points must have distinct, increasing commands")
        object.__setattr__(self, "commands", commands)

    @property
    def max_point(self) -> OperatingPoint:
        """The highest setting."""
        return self.points[-1]

    @property
    def min_point(self) -> OperatingPoint:
        """The lowest running setting."""
        return self.points[0]

    def point_at(self, command_pct: float) -> OperatingPoint:
        """The operating point at a command: interpolated for a continuous fan, the nearest setting at or
        below the command for a discrete one ('off' below the lowest setting)."""
        if command_pct <= 0.0:
            return OFF
        points = self.points
        commands = self.commands
        if not self.continuous:
            index = bisect.bisect_right(commands, command_pct + 1e-9) - 1
            return OFF if index < 0 else points[index]
        if command_pct < points[0].command_pct:
            return OFF
        if command_pct >= points[-1].command_pct:
            return points[-1]
        index = bisect.bisect_right(commands, command_pct) - 1
        return interpolate(points[index], points[index + 1], command_pct)

    def power_w(self, command_pct: float) -> float:
        """Electrical draw of the fan at a command."""
        return self.point_at(command_pct).power_w

    def flow_cfm(self, command_pct: float) -> float:
        """Free-air flow of the fan at a command."""
        return self.point_at(command_pct).flow_cfm

    def command_for_flow(self, flow_cfm: float) -> float:
        """The lowest command that delivers at least this flow (the top command if none does)."""
        if flow_cfm <= 0.0:
            return 0.0
        points = self.points
        if flow_cfm <= points[0].flow_cfm:
            return points[0].command_pct
        for low, high in itertools.pairwise(points):
            if high.flow_cfm >= flow_cfm:
                if not self.continuous:
                    return high.command_pct
                share = (flow_cfm - low.flow_cfm) / (high.flow_cfm - low.flow_cfm)
                return low.command_pct + share * (high.command_pct - low.command_pct)
        return points[-1].command_pct

    def candidates(self, resolution: int = 16) -> tuple[OperatingPoint, ...]:
        """Points to plan with: the settings of a discrete fan; for a continuous fan the measured points and
        `resolution` interpolated points between each pair (the curve is concave between them)."""
        if not self.continuous:
            return self.points
        out: list[OperatingPoint] = [self.points[0]]
        for low, high in zip(self.points, self.points[1:], strict=False):
            for i in range(1, resolution):
                command = low.command_pct + (high.command_pct - low.command_pct) * i / resolution
                out.append(interpolate(low, high, command))
            out.append(high)
        return tuple(out)


def interpolate(low: OperatingPoint, high: OperatingPoint, command_pct: float) -> OperatingPoint:
    """Affinity-law interpolation between two duty points of a continuous fan."""
    span = high.command_pct - low.command_pct
    share = (command_pct - low.command_pct) / span if span > 0 else 0.0
    flow = low.flow_cfm + share * (high.flow_cfm - low.flow_cfm)
    cube_span = high.flow_cfm**3 - low.flow_cfm**3
    if cube_span > 0:
        power = low.power_w + (high.power_w - low.power_w) * (flow**3 - low.flow_cfm**3) / cube_span
    else:
        power = low.power_w + share * (high.power_w - low.power_w)
    return OperatingPoint(f"{command_pct:.4g}%", command_pct, power, flow)


def _number(source: str, key: str, text: str, expected: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise ConfigError(source, key, text, expected) from exc
    if not math.isfinite(value):
        raise ConfigError(source, key, text, expected)
    return value


def parse_curve_rows(
    rows: list[tuple[str, float, float]], source: str, continuous: bool | None = None, name: str = "fan"
) -> FanCurve:
    """Build a curve from (setting, watts, cfm) rows. Settings written as 'NN%' make a continuous fan
    (the number is the duty); other labels are discrete settings, evenly spread over 0-100 %."""
    if not rows:
        raise ConfigError(source, "points", "(none)", "at least one row of setting,watts,cfm")
    is_duty = [label.strip().endswith("%") for label, _, _ in rows]
    if continuous is None:
        continuous = all(is_duty)
    points: list[OperatingPoint] = []
    for index, (label, watts, cfm) in enumerate(rows):
        key = f"row {index + 1}"
        if watts <= 0:
            raise ConfigError(source, f"{key}.watts", watts, "a power above 0 W")
        if cfm <= 0:
            raise ConfigError(source, f"{key}.cfm", cfm, "a flow above 0 CFM")
        if continuous:
            if not is_duty[index]:
                raise ConfigError(source, f"{key}.setting", label, 'a duty cycle such as "40%" for a continuous fan')
            command = _number(source, f"{key}.setting", label.strip().rstrip("%"), "a duty cycle from 0% to 100%")
            if not 0 < command <= 100:
                raise ConfigError(source, f"{key}.setting", label, "a duty cycle above 0% and at most 100%")
        else:
            command = 100.0 * (index + 1) / len(rows)
        points.append(OperatingPoint(label.strip(), command, watts, cfm))
    if continuous:
        points.sort(key=lambda p: p.command_pct)
        for a, b in itertools.pairwise(points):
            if a.command_pct == b.command_pct:
                raise ConfigError(source, "setting", b.setting, "each duty cycle only once")
            if b.flow_cfm < a.flow_cfm or b.power_w < a.power_w:
                raise ConfigError(
                    source,
                    f"setting {b.setting}",
                    f"{b.power_w:g} W, {b.flow_cfm:g} CFM",
                    f"at least the flow and power of the lower duty {a.setting} ({a.power_w:g} W, {a.flow_cfm:g} CFM)",
                )
    labels = [p.setting for p in points]
    if len(set(labels)) != len(labels):
        raise ConfigError(source, "setting", labels, "each setting only once")
    return FanCurve(tuple(points), continuous, name)


def load_curve_csv(text: str, source: str, continuous: bool | None = None) -> FanCurve:
    """Parse a `setting,watts,cfm` table; `#` starts a comment line."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    reader = csv.reader(io.StringIO("\n".join(lines)))
    header = next(reader, None)
    if header is None or tuple(h.strip().lower() for h in header) != CSV_COLUMNS:
        raise ConfigError(source, "header", ",".join(header or []), "the columns setting,watts,cfm")
    rows: list[tuple[str, float, float]] = []
    for number, row in enumerate(reader, start=1):
        if len(row) != 3:
            raise ConfigError(source, f"row {number}", ",".join(row), "three values: setting,watts,cfm")
        label, watts, cfm = (cell.strip() for cell in row)
        rows.append(
            (
                label,
                _number(source, f"row {number}.watts", watts, "a number of watts"),
                _number(source, f"row {number}.cfm", cfm, "a number of CFM"),
            )
        )
    return parse_curve_rows(rows, source, continuous, name=Path(source).stem)


def load_curve_file(path: Path, continuous: bool | None = None) -> FanCurve:
    """Read a fan curve CSV file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), "(file)", str(path), f"a readable CSV file ({exc.strerror})") from exc
    return load_curve_csv(text, str(path), continuous)

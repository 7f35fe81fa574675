"""What a calibration means on this battery: draw, flow, pressure and runtime per setting, and the cheapest
way to hold a target pressure (the one that holds it longest). Pure functions.

Holding a pressure needs at least the flow the fitted room passes at that pressure, all the time: every
phase of a time-shared mix must hold it on its own (physics.md), and a mix of the cheapest such point with
any other only draws more. So the answer is one point: the cheapest setting whose flow holds the target,
or for a continuous fan the duty (interpolated on the measured curve) that gives exactly that flow.
"""

from __future__ import annotations

from dataclasses import dataclass

from controller.calibration.model import Calibration
from controller.config.plant import BatterySection
from controller.models.fan import FanCurve, OperatingPoint
from controller.models.power_path import PowerPath
from controller.planner import candidates_for

HOURS = 3600.0


@dataclass(frozen=True, slots=True)
class Energy:
    """The energy the plan may spend: from a full battery, and from the charge it has now (both above the
    reserve)."""

    full_wh: float
    now_wh: float | None


def usable_energy(battery: BatterySection, path: PowerPath, soc_pct: float | None) -> Energy:
    """Stored energy above the reserve, when full and at `soc_pct`."""
    full = path.store_energy_wh * (100.0 - battery.reserve_pct) / 100.0
    now = None if soc_pct is None else path.store_energy_wh * max(0.0, soc_pct - battery.reserve_pct) / 100.0
    return Energy(full, now)


def _hours(energy_wh: float | None, source_w: float) -> float | None:
    if energy_wh is None or source_w <= 0.0:
        return None
    return round(energy_wh / source_w, 2)


def _point_row(point: OperatingPoint, path: PowerPath, energy: Energy) -> dict[str, object]:
    source_w = path.source_power_w(point.power_w)
    return {
        "setting": point.setting,
        "command_pct": round(point.command_pct, 3),
        "fan_w": round(point.power_w, 3),
        "source_w": round(source_w, 3),
        "cfm": round(point.flow_cfm, 1),
        "runtime_full_h": _hours(energy.full_wh, source_w),
        "runtime_now_h": _hours(energy.now_wh, source_w),
    }


def cheapest_holding(curve: FanCurve, flow_cfm: float) -> OperatingPoint | None:
    """The point with the least draw whose flow is at least `flow_cfm` (None when even the top falls short)."""
    candidates = candidates_for(curve, min_flow_cfm=flow_cfm)
    if not candidates.floor_reachable:
        return None
    if curve.continuous:
        return curve.point_at(curve.command_for_flow(flow_cfm))
    return min(candidates.points, key=lambda p: p.power_w)


def build_report(
    calibration: Calibration,
    curve: FanCurve,
    battery: BatterySection,
    path: PowerPath,
    target_pressure_pa: float,
    soc_pct: float | None,
) -> dict[str, object]:
    """The report as data (part of `cleanroom calibrate --json`). `curve` is the measured curve and `path`
    carries the measured baseline as its standing draw."""
    room = calibration.room
    if room is None or calibration.baseline is None:
        raise ValueError("a report needs a complete calibration")
    energy = usable_energy(battery, path, soc_pct)
    measured = {s.setting: s for s in calibration.steps}
    settings: list[dict[str, object]] = []
    needed_cfm = room.flow_for_pressure(target_pressure_pa)
    for point in curve.points:
        step = measured[point.setting]
        row = _point_row(point, path, energy)
        row.update(
            {
                "pressure_pa": round(step.pressure_pa, 2),
                "pressure_stderr_pa": round(step.pressure_stderr_pa, 3),
                "pressure_fit_pa": round(room.pressure_for_flow(point.flow_cfm), 2),
                "rpm": None if step.rpm is None else round(step.rpm),
                "settled": step.settled,
                "holds_target": point.flow_cfm >= needed_cfm,
            }
        )
        settings.append(row)
    best = cheapest_holding(curve, needed_cfm)
    best_row: dict[str, object] | None = None
    if best is not None:
        best_row = _point_row(best, path, energy)
        best_row["pressure_fit_pa"] = round(room.pressure_for_flow(best.flow_cfm), 2)
    return {
        "target_pressure_pa": target_pressure_pa,
        "target_flow_cfm": round(needed_cfm, 1),
        "soc_pct": None if soc_pct is None else round(soc_pct, 1),
        "energy_full_wh": round(energy.full_wh, 1),
        "energy_now_wh": None if energy.now_wh is None else round(energy.now_wh, 1),
        "standing_w": round(path.standing_total_w, 3),
        "settings": settings,
        "holds_target_longest": best_row,
    }


def render(report: dict[str, object], calibration: Calibration) -> str:
    """The report as text for a person."""
    room = calibration.room
    baseline = calibration.baseline
    if room is None or baseline is None:
        raise ValueError("a report needs a complete calibration")
    lines = [
        f"Baseline (fan off): {baseline.power_w:.3f} W ± {baseline.power_stderr_w:.3f} W "
        "(the controller and everything else on the battery)",
        f"Room leakage: Q = {room.c_cfm:.2f} CFM x dP^{room.n:.3f} "
        f"(fitted over {room.steps_used} steps at {room.min_pressure_pa:g} Pa or more; "
        f"scatter {100.0 * room.rms_log_residual:.1f} %)",
        "",
    ]
    header = ("setting", "fan W", "battery W", "CFM", "Pa measured", "Pa fit", "rpm", "runtime full", "runtime now")
    rows: list[tuple[str, ...]] = [header]
    settings = report["settings"]
    assert isinstance(settings, list)
    for row in settings:
        rows.append(
            (
                str(row["setting"]) + ("" if row["settled"] else " (unsettled)"),
                f"{row['fan_w']:.2f}",
                f"{row['source_w']:.2f}",
                f"{row['cfm']:.0f}",
                f"{row['pressure_pa']:.2f} ± {row['pressure_stderr_pa']:.2f}",
                f"{row['pressure_fit_pa']:.2f}",
                "—" if row["rpm"] is None else f"{row['rpm']:.0f}",
                "—" if row["runtime_full_h"] is None else f"{row['runtime_full_h']:.1f} h",
                "—" if row["runtime_now_h"] is None else f"{row['runtime_now_h']:.1f} h",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for r in rows:
        lines.append("  ".join(cell.rjust(width) for cell, width in zip(r, widths, strict=True)))
    lines.append("")
    energy_now = report["energy_now_wh"]
    lines.append(
        f"Runtimes on {report['energy_full_wh']} Wh (a full battery above the reserve)"
        + ("" if energy_now is None else f" and on {energy_now} Wh (now, at {report['soc_pct']} % SoC)")
        + "."
    )
    best = report["holds_target_longest"]
    target = report["target_pressure_pa"]
    if isinstance(best, dict):
        runtime = best["runtime_full_h"]
        lines.append(
            f"Holding {target:g} Pa needs {report['target_flow_cfm']} CFM: setting {best['setting']} "
            f"({best['fan_w']:.2f} W at the fan, {best['cfm']:.0f} CFM, {best['pressure_fit_pa']:.1f} Pa) "
            f"holds it longest: {runtime} h on a full battery. Any mix with another setting draws more."
        )
    else:
        lines.append(
            f"No setting holds {target:g} Pa: it needs {report['target_flow_cfm']} CFM, more than the fan's top "
            "setting delivers into this room."
        )
    return "\n".join(lines)

"""The plan report as data (the `--json` object) and as a readable table; pure functions."""

from __future__ import annotations

from typing import Any

from controller.models.fan import FanCurve
from controller.models.power_path import PowerPath
from controller.planner import Candidates, Plan

HOURS = 3600.0


def settings_rows(
    curve: FanCurve, path: PowerPath, energy_wh: float, candidates: Candidates
) -> list[dict[str, object]]:
    """One row per fan setting: draw, flow, efficiency, draw on the store, runtime, and whether it is on
    the hull the plan uses."""
    on_hull = {p.setting for p in candidates.hull}
    rows: list[dict[str, object]] = []
    for point in curve.points:
        source_w = path.source_power_w(point.power_w)
        rows.append(
            {
                "setting": point.setting,
                "command_pct": round(point.command_pct, 3),
                "fan_w": point.power_w,
                "cfm": point.flow_cfm,
                "cfm_per_w": round(point.cfm_per_w, 3),
                "source_w": round(source_w, 4),
                "runtime_h": round(energy_wh / source_w, 3) if source_w > 0 else None,
                "on_hull": point.setting in on_hull,
            }
        )
    return rows


def target_object(result: Plan) -> dict[str, object]:
    """The `target` object of `cleanroom plan --json`."""
    return {
        "hours": round(result.duration_s / HOURS, 4),
        "budget_w": round(result.budget_w, 4),
        "fan_budget_w": round(result.fan_budget_w, 4),
        "schedule": [
            {
                "setting": s.point.setting,
                "share": round(s.share, 6),
                "hours": round(s.share * result.duration_s / HOURS, 3),
            }
            for s in result.schedule
        ],
        "average_cfm": round(result.average_cfm, 3),
        "average_source_w": round(result.average_source_w, 4),
        "clean_air_ft3": round(result.clean_air_ft3, 1),
        "feasible": result.feasible,
        "lasts_h": round(result.lasts_s / HOURS, 3) if result.lasts_s != float("inf") else None,
        "best_fixed": (
            {"setting": result.best_fixed.setting, "cfm": result.best_fixed.flow_cfm} if result.best_fixed else None
        ),
        "gain_over_best_fixed_pct": (
            round(100.0 * (result.average_cfm / result.best_fixed.flow_cfm - 1.0), 2) if result.best_fixed else None
        ),
    }


def _label(setting: object) -> str:
    return "fan off" if setting == "off" else f"setting {setting}"


def unreachable_message(report: dict[str, object]) -> str | None:
    """What to tell first when the report's target cannot be met; None when it can (or there is none)."""
    target = report.get("target")
    if not isinstance(target, dict) or target["feasible"]:
        return None
    lasts = target["lasts_h"]
    reach = f"the lowest allowed setting lasts only {lasts:,.1f} h" if lasts is not None else "no setting is allowed"
    return (
        f"the target cannot be met: {target['hours']:,g} h ({target['hours'] / 24:,.1f} days) asked, {reach} "
        f"on {report['usable_wh']:,g} Wh; try a bigger battery, a lower --reserve, --allow-off or a shorter target"
    )


def render_table(report: dict[str, object], path: PowerPath) -> str:
    """The human form of the report (a target that cannot be met is said on its first line)."""
    problem = unreachable_message(report)
    lines = [problem[0].upper() + problem[1:], ""] if problem is not None else []
    lines += [
        f"Stored energy {report['source_wh']:g} Wh on {path.name} "
        f"({path.description or 'custom'}); standing draw {path.standing_total_w:g} W",
        f"Planned on {report['usable_wh']:g} Wh: the {report['reserve_pct']:g} % reserve stays unspent "
        "(as run and sim keep it; --reserve changes it)",
        "",
        f"{'setting':>8} {'fan W':>8} {'CFM':>7} {'CFM/W':>7} {'draw W':>8} {'runtime h':>10} {'days':>6}  hull",
    ]
    settings = report["settings"]
    assert isinstance(settings, list)
    for row in settings:
        runtime = row["runtime_h"]
        hours = f"{runtime:10.1f}" if runtime is not None else f"{'∞':>10}"
        days = f"{runtime / 24:6.2f}" if runtime is not None else f"{'∞':>6}"
        lines.append(
            f"{row['setting']:>8} {row['fan_w']:8.2f} {row['cfm']:7.0f} {row['cfm_per_w']:7.1f} "
            f"{row['source_w']:8.2f} {hours} {days}  {'*' if row['on_hull'] else ''}"
        )
    lines.append("(* = on the upper concave hull: worth running; others are beaten by a mix of two hull points)")
    target = report.get("target")
    if isinstance(target, dict):
        lines += ["", *_target_lines(target)]
    return "\n".join(lines)


def _target_lines(target: dict[str, Any]) -> list[str]:
    lines = [
        f"Target {target['hours']:g} h ({target['hours'] / 24:.2f} days):",
        f"  average power budget {target['budget_w']:.2f} W on the store, {target['fan_budget_w']:.2f} W for the fan",
    ]
    if not target["feasible"]:
        if target["lasts_h"] is not None and target["schedule"]:
            lowest = _label(target["schedule"][0]["setting"])
            lines.append(f"  the longest run: {lowest} all the time, {target['lasts_h']:,.1f} h")
        return lines
    phases = ", then ".join(
        f"{_label(s['setting'])} for {100 * s['share']:.1f} % of the time ({s['hours']:.1f} h)"
        for s in target["schedule"]
    )
    lines.append(f"  best schedule: {phases}")
    lines.append(f"  average {target['average_cfm']:.1f} CFM, {target['clean_air_ft3']:,.0f} ft³ of clean air")
    best = target["best_fixed"]
    if best is None:
        lines.append("  no single setting lasts that long")
    else:
        gain = target["gain_over_best_fixed_pct"]
        lines.append(
            f"  best single setting that lasts: {best['setting']} ({best['cfm']:g} CFM); "
            f"the schedule gives {gain:+.1f} % more clean air"
        )
    return lines

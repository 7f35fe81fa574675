"""The reference week on a purifier driven by its buttons: the whole daemon with the real `buttons` driver
pressing a simulated purifier (one button cycling off, 1, ..., 6) through the gpiod fake, its presses
verified by the simulated shunt, with 0 % and 5 % of the presses missed.

Rows: clean air against the planner's concave-hull bound for the energy the run drew (target >= 0.98),
deadline met, presses per day, presses the purifier missed, corrections the driver made from the power
signature, and the share of the week the purifier ran on another setting than the one the loop asked for
(measured on the simulated purifier itself, not on the driver's belief).

Run: .venv/bin/python -m bench.outage_buttons [--quick]   (also part of bench.outage)
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from controller.config.loader import parse_config
from controller.config.reader import Table
from controller.sim.plant import PlantState
from controller.sim.rig import SimRoom
from controller.sim.run import Simulation
from controller.sim.scenario import parse_scenario

DAY_S = 86400.0
MISSES = (0.0, 0.05)


def button_run(args: tuple[float, float, float]) -> dict[str, object]:
    """One reference run in auto mode with the given share of missed presses and controller draw."""
    missed, draw_w, days = args
    config = parse_config(
        Table(
            {
                "controller": {"tick": "10 s"},
                "battery": {"capacity": "100 Ah", "nominal_voltage": "12.8 V"},
                "power_path": {"preset": "diy-12v", "controller_draw": f"{draw_w} W"},
                "control": {"mode": "auto", "deadline": f"{days} days", "pressure_floor": "5 Pa"},
                "devices": {
                    "fan": {
                        "driver": "buttons",
                        "cycle": ["off", "1", "2", "3", "4", "5", "6"],
                        "power_up": "off",
                        "lines": {"cycle": 17},
                    }
                },
            },
            "bench",
        ),
        Path.cwd(),
    )
    simulation = Simulation(
        config=config,
        room=SimRoom(39.0, 0.65, 1.0),
        scenario=parse_scenario(f"outage, missed-press={100 * missed:g}%", days * DAY_S),
        duration_s=days * DAY_S,
        speed=None,
        seed=1,
        fan_driver="buttons",
    )
    wrong = _WrongSetting(simulation)
    started = time.process_time()
    summary = asyncio.run(simulation.run(observe=wrong.observe))
    pressed = simulation.pressed
    assert pressed is not None
    row = summary.to_dict()
    row.update(
        missed_share=missed,
        draw_w=draw_w,
        cpu_s=time.process_time() - started,
        presses_per_day=pressed.fan.presses * 24.0 / summary.hours if summary.hours else None,
        missed=pressed.purifier.missed,
        corrections=pressed.fan.stats.counters.get("corrections", 0),
        wrong_pct=100.0 * wrong.wrong_s / wrong.total_s if wrong.total_s else None,
        share_period_min=config.control.share_period_s / 60.0,
    )
    return row


class _WrongSetting:
    """Time the simulated purifier spent on another setting than the one the loop commanded: the loop's
    wish changes at its ticks, the purifier's setting at the presses it registers (timed on the plant's
    clock), and the time between is integrated exactly."""

    def __init__(self, simulation: Simulation) -> None:
        self.simulation = simulation
        self.changes: list[tuple[float, int, int]] = []
        """(time, 0 = the loop's wish / 1 = the purifier's setting, setting)"""
        self.end_s = 0.0

    def observe(self, state: PlantState) -> None:
        pressed, daemon = self.simulation.pressed, self.simulation.daemon
        if pressed is None or daemon is None:
            return
        if not self.changes:
            plant = pressed.clock.monotonic
            apply = pressed.purifier.apply
            origin = plant() - state.t_s

            def recorded(setting: int) -> None:
                self.changes.append((plant() - origin, 1, setting))
                apply(setting)

            pressed.purifier.apply = recorded
            self.changes.append((state.t_s, 1, pressed.purifier.setting))
        self.changes.append((state.t_s, 0, pressed.fan.setting_for(daemon.state.command_pct)))
        self.end_s = state.t_s

    @property
    def wrong_s(self) -> float:
        wanted = actual = -1
        wrong, last_t = 0.0, None
        for t, kind, setting in sorted(self.changes, key=lambda c: (c[0], c[1])):
            if last_t is not None and wanted != actual:
                wrong += t - last_t
            last_t = t
            if kind == 0:
                wanted = setting
            else:
                actual = setting
        if last_t is not None and wanted != actual:
            wrong += self.end_s - last_t
        return wrong

    @property
    def total_s(self) -> float:
        return self.end_s - self.changes[0][0] if self.changes else 0.0


def _num(row: dict[str, object], key: str, fmt: str, scale: float = 1.0) -> str:
    value = row[key]
    if isinstance(value, bool):
        return format(str(value), fmt)
    if isinstance(value, float | int):
        return format(value * scale if scale != 1.0 else value, fmt)
    return format("—", fmt.rstrip("dfg,.") or ">")


def print_rows(rows: list[dict[str, object]], days: float) -> None:
    """The table of button runs."""
    print(f"\nbutton purifier ({days:g} days, auto, one cycling button: off,1..6; verified by the shunt)")
    print(
        f"{'draw':>5} {'missed':>7} {'/bound':>7} {'met':>5} {'presses/day':>11} {'missed':>6} "
        f"{'corrected':>9} {'wrong %':>7} {'<floor %':>8} {'share':>6} {'CPU s':>6}"
    )
    columns = (
        ("draw_w", ">4g", 1.0, "W"),
        ("missed_share", ">6.0f", 100.0, "%"),
        ("ratio_to_bound", ">7.4f", 1.0, ""),
        ("deadline_met", ">5", 1.0, ""),
        ("presses_per_day", ">11.1f", 1.0, ""),
        ("missed", ">6d", 1.0, ""),
        ("corrections", ">9d", 1.0, ""),
        ("wrong_pct", ">7.3f", 1.0, ""),
        ("below_floor_pct", ">8.2f", 1.0, ""),
        ("share_period_min", ">4.0f", 1.0, "mn"),
        ("cpu_s", ">6.1f", 1.0, ""),
    )
    for row in rows:
        print(" ".join(_num(row, key, fmt, scale) + suffix for key, fmt, scale, suffix in columns))


def jobs(days: float) -> list[tuple[float, float, float]]:
    """The button runs: each missed-press share at 0.9 W of controller draw."""
    return [(missed, 0.9, days) for missed in MISSES]


def main() -> None:
    days = 2.0 if "--quick" in sys.argv else 7.0
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=2) as pool:
        rows = list(pool.map(button_run, jobs(days)))
    print_rows(rows, days)


if __name__ == "__main__":
    main()

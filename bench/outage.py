"""The 7-day reference outage: 1280 Wh, the reference AirFanta fan on diy-12v, controller draw 0 W and
0.9 W; the `runtime`, `auto` and `eco` modes, and every fixed setting as a baseline. Each run is the
whole daemon on the simulated plant (accelerated, 10 s ticks), with wind noise.

Prints average CFM, clean air, hours lasted, deadline met, time below the 5 Pa floor, the ratio to the
planner's concave-hull bound (for the energy the run drew) and to the best fixed setting, and the CPU
time each simulated week took. Target: auto and runtime within 1 % of the bound, deadline met, never
below the floor where the floor is reachable.

Then the same week on a purifier driven by its buttons (bench.outage_buttons): the real `buttons` driver
pressing a simulated purifier, with 0 % and 5 % of its presses missed: clean air against the bound,
deadline met, presses per day and the time it ran on a wrong setting.

Run: .venv/bin/python -m bench.outage [--quick]   (--quick: 2 days instead of 7)
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench import outage_buttons
from controller.config.loader import parse_config
from controller.config.reader import Table
from controller.sim.rig import SimRoom
from controller.sim.run import Simulation
from controller.sim.scenario import parse_scenario
from controller.snapshot import Mode

DAY_S = 86400.0


def one_run(args: tuple[str, float | None, float, float]) -> dict[str, object]:
    mode, setting_pct, draw_w, days = args
    control: dict[str, object] = {"mode": mode, "deadline": f"{days} days", "pressure_floor": "5 Pa"}
    if setting_pct is not None:
        control["manual_speed"] = f"{setting_pct} %"
    config = parse_config(
        Table(
            {
                "controller": {"tick": "10 s"},
                "battery": {"capacity": "100 Ah", "nominal_voltage": "12.8 V"},
                "power_path": {"preset": "diy-12v", "controller_draw": f"{draw_w} W"},
                "control": control,
            },
            "bench",
        ),
        Path.cwd(),
    )
    simulation = Simulation(
        config=config,
        room=SimRoom(39.0, 0.65, 1.0),
        scenario=parse_scenario("outage", days * DAY_S),
        duration_s=days * DAY_S,
        speed=None,
        seed=1,
    )
    started = time.process_time()
    summary = asyncio.run(simulation.run())
    cpu_s = time.process_time() - started
    row = summary.to_dict()
    row["cpu_s"] = cpu_s
    row["label"] = mode if setting_pct is None else f"fixed {config.fan.curve.point_at(setting_pct).setting}"
    row["draw_w"] = draw_w
    return row


def _formatter(row: dict[str, object]) -> Callable[[str, str], str]:
    def num(key: str, fmt: str) -> str:
        value = row[key]
        return format(value, fmt) if isinstance(value, float | int) and not isinstance(value, bool) else "—"

    return num


def main() -> None:
    days = 2.0 if "--quick" in sys.argv else 7.0
    settings = [p.command_pct for p in parse_config(Table({}, "b"), Path.cwd()).fan.curve.points]
    jobs: list[tuple[str, float | None, float, float]] = []
    for draw in (0.0, 0.9):
        jobs += [(m.value, None, draw, days) for m in (Mode.RUNTIME, Mode.AUTO, Mode.ECO)]
        jobs += [(Mode.MANUAL.value, pct, draw, days) for pct in settings]
    started = time.monotonic()
    with ProcessPoolExecutor(max_workers=2) as pool:
        pending_buttons = pool.map(outage_buttons.button_run, outage_buttons.jobs(days))
        rows = list(pool.map(one_run, jobs))
        button_rows = list(pending_buttons)
    wall = time.monotonic() - started
    header = (
        f"{'draw':>5} {'run':>10} {'avg CFM':>8} {'clean air ft3':>14} {'hours':>7} {'met':>5} "
        f"{'<floor %':>8} {'/bound':>7} {'/best fixed':>11} {'CPU s':>6}"
    )
    print(f"reference outage ({days:g} days): 1280 Wh, reference fan, diy-12v, floor 5 Pa, room C 39 CFM at 1 Pa")
    print(header)
    for row in rows:
        num = _formatter(row)
        print(
            f"{row['draw_w']:>4g}W {row['label']!s:>10} {num('average_cfm', '8.1f')} {num('clean_air_ft3', '14,.0f')} "
            f"{num('hours', '7.1f')} {row['deadline_met']!s:>5} {num('below_floor_pct', '8.2f')} "
            f"{num('ratio_to_bound', '7.4f')} {num('ratio_to_best_fixed', '11.3f')} {num('cpu_s', '6.1f')}"
        )
    outage_buttons.print_rows(button_rows, days)
    week_cpu = [cpu_s for r in rows if isinstance(cpu_s := r["cpu_s"], float)]
    print(f"CPU per simulated run: min {min(week_cpu):.1f} s, max {max(week_cpu):.1f} s; wall {wall:.0f} s, 2 workers")


if __name__ == "__main__":
    main()

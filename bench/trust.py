"""Battery truth: can the controller be trusted to say whether the battery lasts until the deadline?

A scenario matrix, each run the whole daemon on the simulated plant (accelerated, 10 s ticks, reference
fan on diy-12v, floor 5 Pa, room C 39 CFM at 1 Pa) with reserve 0 (all energy may be spent): the reference
week; 3, 10 and 21 days with 640, 1280 and 2560 Wh; a battery with 80 % of its configured capacity; a
shunt reading 20 points high or low; a shunt without state of charge; a shunt current offset; the grid
back for a while; the deadline moved earlier and later mid-run.

For each: the deadline met or missed (by how many hours), the clean air up to the deadline as a fraction
of the bound for the energy the battery REALLY held (real capacity, real charge, self-discharge; computed
from the simulated battery, independent of the run) and, where the grid returned or the deadline moved,
as a fraction of the bound without foresight (the best plan for what was known at each moment, from the
same simulated battery and scenario: controller.sim.foresight), which the air target then uses; the hour
of the first battery alert and of the first warning that the battery is not what the plan assumed
(deadline at risk, capacity low, SoC unsynchronised); and the error of the runtime at the current speed
at 25/50/75 % of the true discharge, next to a Victron-style estimate (remaining Ah over the 3-minute
average current) from the same snapshots. Targets are printed beside.

Run: .venv/bin/python -m bench.trust [--quick] [--mode auto] [--workers 2] [--only TEXT,TEXT]
(--quick: every run 1/7 as long with 1/7 of the energy; --scale FACTOR for any other factor)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from bench.trust_figures import DISCHARGE_POINTS, Targets, TrustWatch, judge
from controller.config.loader import parse_config
from controller.config.reader import Table
from controller.sim.rig import SimRoom
from controller.sim.run import Simulation
from controller.sim.scenario import latest_deadline_s, parse_scenario, true_plant

DAY_S = 86400.0
TARGETS = (
    "deadline: met wherever the true energy allows it",
    "air: >= 0.98 of the true bound where no scenario fault applies (of the bound without foresight where the "
    "grid returned or the deadline moved)",
    "alert: a warning (deadline_at_risk, capacity_low, soc_unsynchronised) >= 24 h before the deadline when the "
    "battery is smaller than configured",
    "runtime: the runtime at the current speed within 3 % at mid-discharge",
)


@dataclass(frozen=True, slots=True)
class Case:
    """One run of the matrix."""

    label: str
    days: float
    energy_wh: float
    scenario: str = "outage"
    faulty: bool = False
    """A scenario fault (the battery or its shunt is not what the configuration says)."""
    smaller: bool = False
    """The battery really holds less than configured."""


def cases(scale: float = 1.0) -> list[Case]:
    """The matrix, every duration and energy times `scale` (so the power budget stays the same)."""
    week, wh = 7.0 * scale, 1280.0 * scale

    def hours(h: float) -> str:
        return f"{h * scale:g}h"

    matrix = [Case("reference week", week, wh)]
    matrix += [Case(f"{d:g} d {e:g} Wh", d * scale, e * scale) for d in (3, 10, 21) for e in (640, 1280, 2560)]
    matrix += [
        Case("capacity=80%", week, wh, "capacity=80%", faulty=True, smaller=True),
        Case("soc-offset=+20%", week, wh, "soc-offset=+20%", faulty=True),
        Case("soc-offset=-20%", week, wh, "soc-offset=-20%", faulty=True),
        Case("no-soc", week, wh, "no-soc", faulty=True),
        Case("current-offset=0.05 A", week, wh, "current-offset=0.05 A", faulty=True),
        Case("grid=60h+12h", week, wh, f"grid={hours(60)}+{hours(12)}"),
        Case("grid twice", week, wh, f"grid={hours(30)}+{hours(6)}, grid={hours(100)}+{hours(6)}"),
        Case("deadline earlier", week, wh, f"at={hours(84)}:deadline={hours(24)}"),
        Case("deadline later", week, wh, f"at={hours(84)}:deadline={hours(120)}"),
    ]
    return matrix


def one_run(job: tuple[Case, str]) -> dict[str, object]:
    """Run one case and return its summary with the trust figures."""
    case, mode = job
    deadline_s = case.days * DAY_S
    config = parse_config(
        Table(
            {
                "controller": {"tick": "10 s"},
                "battery": {"capacity": f"{case.energy_wh / 12.8} Ah", "nominal_voltage": "12.8 V", "reserve": "0 %"},
                "power_path": {"preset": "diy-12v", "controller_draw": "0 W"},
                "control": {"mode": mode, "deadline": f"{deadline_s} s", "pressure_floor": "5 Pa"},
            },
            "bench",
        ),
        Path.cwd(),
    )
    scenario = parse_scenario(case.scenario, deadline_s, source=case.label)
    simulation = Simulation(
        config=config,
        room=SimRoom(39.0, 0.65, 1.0),
        scenario=scenario,
        duration_s=latest_deadline_s(scenario, deadline_s) or deadline_s,
        speed=None,
        seed=1,
    )
    watch = TrustWatch(
        battery=true_plant(simulation.plant_params(), scenario).battery,
        configured_capacity_ah=config.battery.capacity_ah,
        start_utc=simulation.start_utc,
        snapshot=lambda: simulation.daemon.hub.latest if simulation.daemon else None,
    )
    started = time.process_time()
    summary = asyncio.run(simulation.run(observe=watch))
    row = summary.to_dict()
    row.update(label=case.label, cpu_s=time.process_time() - started)
    row.update(first_alert_h=watch.first_alert_h, first_alert_kind=watch.first_alert_kind)
    row.update(first_warning_h=watch.first_warning_h)
    for fraction in DISCHARGE_POINTS:
        check = watch.check_at(fraction)
        key = f"{round(fraction * 100)}"
        row[f"controller_error_{key}"] = check.controller_error if check else None
        row[f"victron_error_{key}"] = check.victron_error if check else None
        row[f"reached_{key}"] = check is not None
    return row


def _pct(value: object) -> str:
    return f"{100 * value:+.1f}" if isinstance(value, float) else "—"


def _num(value: object, fmt: str) -> str:
    if isinstance(value, float | int) and not isinstance(value, bool):
        return format(value, fmt)
    width = fmt.split(".")[0].rstrip(",")
    return "—".rjust(int(width) if width.isdigit() else 1)


def _mark(verdict: bool | None) -> str:
    return "n/a" if verdict is None else ("ok" if verdict else "MISS")


def targets_of(case: Case, row: dict[str, object]) -> Targets:
    """The row judged against the targets."""
    reached = row.get("reached_50") is True
    error = row.get("controller_error_50")
    return judge(
        row, faulty=case.faulty, smaller=case.smaller, runtime=(reached, error if isinstance(error, float) else None)
    )


def table(rows: list[tuple[Case, dict[str, object]]]) -> str:
    """The figures and the targets, one line a run."""
    lines = [
        f"{'case':<22} {'days':>5} {'Wh':>6} {'met':>5} {'miss h':>6} {'air/true':>8} {'air/now':>7} {'alert h':>7} "
        f"{'first alert':<19} {'warn h':>6} {'ctrl err % 25/50/75':>20} {'Victron err % 25/50/75':>23}  "
        "targets (deadline air alert runtime)"
    ]
    for case, row in rows:
        marks = targets_of(case, row)
        ctrl = "/".join(_pct(row.get(f"controller_error_{p}")) for p in ("25", "50", "75"))
        victron = "/".join(_pct(row.get(f"victron_error_{p}")) for p in ("25", "50", "75"))
        lines.append(
            f"{case.label:<22} {case.days:>5.3g} {case.energy_wh:>6.0f} {row.get('deadline_met')!s:>5} "
            f"{_num(row.get('deadline_miss_h'), '6.1f')} {_num(row.get('ratio_to_true_bound'), '8.3f')} "
            f"{_num(row.get('ratio_to_foresight_free_bound'), '7.3f')} "
            f"{_num(row.get('first_alert_h'), '7.1f')} {row.get('first_alert_kind') or '—'!s:<19} "
            f"{_num(row.get('first_warning_h'), '6.1f')} "
            f"{ctrl:>20} {victron:>23}  {_mark(marks.deadline)} {_mark(marks.air)} {_mark(marks.alert)} "
            f"{_mark(marks.runtime)}"
        )
    return "\n".join(lines)


def tally(rows: list[tuple[Case, dict[str, object]]]) -> str:
    """How many rows meet each target, of those it applies to."""
    judged = [targets_of(case, row) for case, row in rows]
    parts = []
    for name, text in zip(("deadline", "air", "alert", "runtime"), TARGETS, strict=True):
        verdicts = [getattr(t, name) for t in judged if getattr(t, name) is not None]
        parts.append(f"  {sum(verdicts)}/{len(verdicts)} {text}")
    return "targets met:\n" + "\n".join(parts)


def run_matrix(matrix: list[Case], mode: str, workers: int) -> list[tuple[Case, dict[str, object]]]:
    """Run every case (in `workers` processes), reporting progress on standard error."""
    results: dict[int, dict[str, object]] = {}
    started = time.monotonic()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(one_run, (case, mode)): i for i, case in enumerate(matrix)}
        for done, future in enumerate(as_completed(futures), start=1):
            index = futures[future]
            results[index] = future.result()
            print(
                f"[{done}/{len(matrix)}] {matrix[index].label}: {results[index]['cpu_s']:.0f} s CPU, "
                f"{time.monotonic() - started:.0f} s so far",
                file=sys.stderr,
                flush=True,
            )
    return [(case, results[i]) for i, case in enumerate(matrix)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.trust", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="every run 1/7 as long, with 1/7 of the energy")
    parser.add_argument("--scale", type=float, help="every run this factor as long, with as much less energy")
    parser.add_argument("--mode", default="auto", choices=("auto", "runtime", "eco"), help="control mode (auto)")
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--only", help="comma-separated parts of case names to run (default: all)")
    args = parser.parse_args(argv)
    scale = args.scale if args.scale is not None else (1.0 / 7.0 if args.quick else 1.0)
    matrix = cases(scale)
    if args.only:
        wanted = [part.strip() for part in args.only.split(",") if part.strip()]
        matrix = [case for case in matrix if any(part in case.label for part in wanted)]
    started = time.monotonic()
    rows = run_matrix(matrix, args.mode, args.workers)
    print(
        f"battery truth, mode {args.mode}, reserve 0, scale {scale:.3g}: reference fan, diy-12v, floor 5 Pa, "
        "room C 39 CFM at 1 Pa, 10 s ticks"
    )
    print("air/true: clean air up to the deadline over the bound for the energy the battery really held")
    print(
        "air/now: where the grid returned or the deadline moved, over the bound without foresight (a reference, "
        "not an upper bound: it may exceed 1)"
    )
    print("err %: (estimate - truth) / truth of the runtime at the current draw, at 25/50/75 % of the true energy")
    print(table(rows))
    print(tally(rows))
    print(f"wall {time.monotonic() - started:.0f} s, {args.workers} worker(s)")


if __name__ == "__main__":
    main()

"""Room truth: how quickly and how honestly the controller reports what happens to the room.

Five runs of the whole daemon on the simulated plant (auto mode, 10 s ticks, wind 1 Pa rms, a 2-day
deadline on 2/7 of 1280 Wh, so the average power allowed is the 7-day reference's 7.6 W; floor 2.5 Pa):

- `fan-stall`: the rotor is blocked from 30 % of the run for 5 % of it;
- `door`: the door opens for a minute at 25 %, 50 % and 75 % of the run;
- `door left open`: the door opens at 40 % of the run for an hour (a door hold defers `pressure_low` to
  `door_hold` after it opened);
- `sensor-dropouts`: the shunt goes silent at 20 %, the pressure sensor at 50 %, each for 5 % of the run;
- `leaky room`: C = 60 CFM at 1 Pa (the controller is configured for 39), nothing else happens.

For each: the alarm latency from each disturbance's onset (from the scenario) to the alert or event that
reports it; the time below the floor that the controller reported against the truth (the plant's own
pressure through a gust filter of the controller's time constant, and without wind and instantaneous);
the evidence `fan_stalled` named; and the clean air the room really got (the plant's flow) against the
planner's concave-hull bound for the energy the plant's battery really gave over the configured deadline
(the most any schedule of the fan's points within the floor and the cap could have moved with it). The
truth comes from the simulated plant, never from the controller.

Run: .venv/bin/python -m bench.room [--quick]   (--quick: 6 h runs instead of 2 days)
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from controller.config.loader import Config, parse_config
from controller.config.reader import Table
from controller.estimators import ewma_alpha, flow_for_pressure
from controller.planner import candidates_for, plan
from controller.sim.plant import PlantState, RoomParams, static_pressure_pa
from controller.sim.rig import SimRoom
from controller.sim.run import Simulation
from controller.sim.scenario import Scenario, parse_scenario
from controller.snapshot import AlertKind, Event, EventKind

DAY_S = 86400.0
FLOOR_PA = 2.5
START = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Case:
    """One run: a scenario in a room, and which onsets to time which reports against."""

    label: str
    scenario: str
    room_c_cfm: float = 39.0
    reports: tuple[tuple[str, str], ...] = ()
    """(onset kind, report): onsets are `stall`, `door`, `shunt`, `pressure`; reports an AlertKind value
    or `door_open` (the event)."""


CASES = (
    Case("fan-stall", "fan-stall", reports=(("stall", "fan_stalled"), ("stall", "pressure_low"))),
    Case("door", "door", reports=(("door", "door_open"), ("door", "pressure_low"))),
    Case("door left open", "door=40%+1h", reports=(("door", "door_open"), ("door", "pressure_low"))),
    Case(
        "sensor-dropouts",
        "sensor-dropouts",
        reports=(("shunt", "shunt_stale"), ("pressure", "pressure_sensor_stale")),
    ),
    Case("leaky room", "outage", room_c_cfm=60.0),
)


@dataclass(slots=True)
class Truth:
    """What the plant really did, tick by tick."""

    floor_pa: float
    room: SimRoom
    filter_s: float
    ticks: int = 0
    below_static: int = 0
    below_windy: int = 0
    below_filtered: int = 0
    filtered_pa: float | None = None
    last_s: float | None = None
    drawn_wh: float = 0.0
    """The energy the plant's battery really gave (its power averaged over each step)."""

    def observe(self, state: PlantState) -> None:
        """Count one tick of the plant's truth: its pressure without wind, with wind, and with wind through
        a gust filter of the controller's time constant (the plant's pressure, not the sensor's)."""
        room = RoomParams(leakage_c_cfm=self.room.leakage_c_cfm, leakage_n=self.room.leakage_n)
        static = static_pressure_pa(state.flow_cfm, room, state.door_open)
        if self.filtered_pa is None or self.last_s is None:
            self.filtered_pa = state.pressure_pa
        else:
            weight = ewma_alpha(state.t_s - self.last_s, self.filter_s)
            self.filtered_pa += weight * (state.pressure_pa - self.filtered_pa)
            self.drawn_wh += max(0.0, -state.power_w) * (state.t_s - self.last_s) / 3600.0
        self.last_s = state.t_s
        self.ticks += 1
        self.below_static += static < self.floor_pa
        self.below_windy += state.pressure_pa < self.floor_pa
        self.below_filtered += self.filtered_pa < self.floor_pa


def bench_config(duration_s: float) -> Config:
    """Auto mode, a deadline at the end of the run, the 7-day reference's average power."""
    days = duration_s / DAY_S
    config = parse_config(
        Table(
            {
                "controller": {"tick": "10 s"},
                "control": {"mode": "auto", "deadline": f"{duration_s:g} s", "pressure_floor": f"{FLOOR_PA:g} Pa"},
            },
            "bench",
        ),
        Path.cwd(),
    )
    energy_wh = 1280.0 * days / 7.0
    battery = replace(config.battery, capacity_ah=energy_wh / config.battery.nominal_v)
    return replace(config, battery=battery, power_path=replace(config.power_path, store_energy_wh=energy_wh))


def true_bound_cfm(config: Config, room: SimRoom, energy_wh: float, horizon_s: float) -> float:
    """The concave-hull bound: the most average airflow any schedule of the fan's points between the
    floor's and the cap's flows in the simulated room gives for `energy_wh` over `horizon_s`."""
    control = config.control
    floor_cfm = flow_for_pressure(room.leakage_c_cfm, room.leakage_n, control.pressure_floor_pa)
    cap_cfm = flow_for_pressure(room.leakage_c_cfm, room.leakage_n, control.pressure_cap_pa)
    candidates = candidates_for(config.fan.curve, min_flow_cfm=floor_cfm, max_flow_cfm=cap_cfm)
    return plan(energy_wh, horizon_s, candidates, config.power_path).clean_air_ft3 * 60.0 / horizon_s


def stall_evidence(events: list[Event]) -> list[str]:
    """The evidence each raised `fan_stalled` named."""
    raised = [e for e in events if e.kind is EventKind.ALERT_RAISED and e.alert_kind is AlertKind.FAN_STALLED]
    return [e.message.partition("evidence: ")[2].partition(":")[0] for e in raised]


def onsets(scenario: Scenario) -> dict[str, list[float]]:
    """When each kind of disturbance starts (seconds from the start)."""
    return {
        "stall": [start for start, _ in scenario.fan_stalls],
        "door": [start for start, _ in scenario.door_openings],
        "shunt": [start for start, _ in scenario.shunt_dropouts],
        "pressure": [start for start, _ in scenario.pressure_dropouts],
    }


def report_times(events: list[Event], report: str) -> list[float]:
    """When the controller reported this (seconds from the start)."""
    if report == "door_open":
        chosen = [e for e in events if e.kind is EventKind.DOOR_OPEN]
    else:
        kind = AlertKind(report)
        chosen = [e for e in events if e.kind is EventKind.ALERT_RAISED and e.alert_kind is kind]
    return [(e.timestamp_utc - START).total_seconds() for e in chosen]


def latency(onset_s: float, times: list[float], before_s: float) -> float | None:
    """Seconds from the onset to the first report after it (None when none came before `before_s`)."""
    after = [t for t in times if onset_s <= t < before_s]
    return min(after) - onset_s if after else None


async def run_case(case: Case, duration_s: float) -> dict[str, object]:
    """One run and its figures."""
    room = SimRoom(case.room_c_cfm, 0.65, 1.0)
    scenario = parse_scenario(case.scenario, duration_s)
    simulation = Simulation(
        config=bench_config(duration_s),
        room=room,
        scenario=scenario,
        duration_s=duration_s,
        speed=None,
        seed=7,
        start_utc=START,
        keep_events=True,
    )
    config = simulation.config
    truth = Truth(FLOOR_PA, room, config.control.pressure_filter_s)
    summary = await simulation.run(observe=truth.observe)
    assert simulation.daemon is not None
    events = simulation.daemon.totals.events
    starts = onsets(scenario)
    latencies: dict[str, list[float | None]] = {}
    for onset, report in case.reports:
        times = report_times(events, report)
        edges = [*starts[onset], duration_s]
        latencies[f"{onset} -> {report}"] = [latency(t, times, edges[i + 1]) for i, t in enumerate(starts[onset])]
    bound = true_bound_cfm(config, room, truth.drawn_wh, duration_s)
    return {
        "case": case.label,
        "latency_s": latencies,
        "stall_evidence": stall_evidence(events),
        "pressure_low_raised": len(report_times(events, "pressure_low")),
        "below_floor_reported_pct": summary.below_floor_pct,
        "below_floor_true_pct": 100.0 * truth.below_static / max(1, truth.ticks),
        "below_floor_true_with_wind_pct": 100.0 * truth.below_windy / max(1, truth.ticks),
        "below_floor_true_filtered_pct": 100.0 * truth.below_filtered / max(1, truth.ticks),
        "clean_air_ft3": summary.clean_air_ft3,
        "average_cfm": summary.average_cfm,
        "drawn_wh": truth.drawn_wh,
        "bound_cfm": bound,
        "ratio_to_bound": summary.average_cfm / bound,
        "deadline_met": summary.deadline_met,
    }


def _fmt(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


def render(row: dict[str, object]) -> str:
    """One case as a few lines."""
    lines = [f"{row['case']}:"]
    latencies = row["latency_s"]
    assert isinstance(latencies, dict)
    for name, values in latencies.items():
        lines.append(f"  latency {name}: {_fmt(values)} s")
    lines.append(f"  pressure_low raised: {row['pressure_low_raised']}")
    evidence = row["stall_evidence"]
    if isinstance(evidence, list) and evidence:
        lines.append(f"  fan_stalled evidence: {', '.join(evidence)}")
    lines.append(
        f"  below floor: reported {_fmt(row['below_floor_reported_pct'])} %; true, gust-filtered "
        f"{_fmt(row['below_floor_true_filtered_pct'])} % (without wind {_fmt(row['below_floor_true_pct'])} %, "
        f"instantaneous {_fmt(row['below_floor_true_with_wind_pct'])} %)"
    )
    lines.append(
        f"  clean air: {_fmt(row['average_cfm'])} CFM average against a bound of {_fmt(row['bound_cfm'])} CFM"
        f" for the {_fmt(row['drawn_wh'])} Wh really drawn (ratio {_fmt(row['ratio_to_bound'])}); deadline met:"
        f" {row['deadline_met']}"
    )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Run every case and print its figures."""
    duration_s = 6 * 3600.0 if "--quick" in argv else 2 * DAY_S
    for case in CASES:
        print(render(asyncio.run(run_case(case, duration_s))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

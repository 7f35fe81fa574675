"""The control step's values: what the shell reads in, what the step remembers between ticks, and what it
hands back (the fan command, the snapshot, and effects for the shell to carry out)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from controller.alerts import AlertState
from controller.battery import BatteryState
from controller.commands import Command, CommandResult
from controller.condition import Condition
from controller.estimators import EnergyState
from controller.planner import Plan, TightRoom
from controller.policy import PolicyState
from controller.room_pressure import RoomEstimate, RoomPressureState
from controller.setpoints import Setpoints
from controller.snapshot import Event, Snapshot
from controller.truth import TruthState


@dataclass(frozen=True, slots=True)
class ShuntInput:
    """The shunt's newest reading, in SI units (None where the device does not say)."""

    monotonic_s: float
    voltage_v: float | None
    current_a: float | None
    power_w: float | None = None
    soc_pct: float | None = None
    consumed_ah: float | None = None
    since_full_charge_s: float | None = None
    time_to_go_s: float | None = None
    """The device's own time to go: math.inf when it says infinite (not discharging), None when unknown."""


@dataclass(frozen=True, slots=True)
class PressureInput:
    """The pressure sensor's newest reading: room minus outside, in Pa."""

    monotonic_s: float
    pressure_pa: float


@dataclass(frozen=True, slots=True)
class FanInput:
    """What the fan driver reports: its tachometer, and whether it saw the fan stall."""

    monotonic_s: float
    rpm: float | None = None
    stalled: bool = False


@dataclass(frozen=True, slots=True)
class SourcedCommand:
    """A command with where it came from (`mqtt`, `http`, ...)."""

    source: str
    command: Command


@dataclass(frozen=True, slots=True)
class StepInputs:
    """Everything the shell read this tick. Readings are the drivers' newest (the step judges staleness);
    statuses are the drivers' health states (`ok`, `degraded`, `unavailable`, ...)."""

    now_s: float
    now_utc: datetime
    shunt: ShuntInput | None
    pressure: PressureInput | None
    fan: FanInput | None
    shunt_status: str = "ok"
    pressure_status: str = "ok"
    fan_status: str = "ok"
    conditions: tuple[Condition, ...] = ()
    commands: tuple[SourcedCommand, ...] = ()
    shell_events: tuple[Event, ...] = ()


@dataclass(frozen=True, slots=True)
class BendWarning:
    """What the curve's lower bend would tell, were the pack as small as the configured confidence allows.

    `low_case_wh`: the energy above the reserve if the real capacity sat at the confidence's bound below the
    capacity in use, the capacity's error taken on the whole pack (a pack counted down from full carries the
    whole error to the end, not a share of what is left). `bend_wh`: what that pack would still hold when
    its voltage reaches the lower bend and shows the truth."""

    low_case_wh: float
    bend_wh: float


@dataclass(frozen=True, slots=True)
class PlanState:
    """The energy schedule in force and when it was made."""

    plan: Plan | None = None
    meets_deadline: bool = False
    holds_floor: bool = True
    planned_at_s: float | None = None
    replan_now: bool = True
    tight_room: TightRoom | None = None
    """Set when the pressure cap keeps the plan from spending its energy by the deadline."""
    on_charger: bool = False
    """A charger carried the load at the last tick (the battery plan is set aside until it stops)."""
    slowest_w: float | None = None
    """The draw on the store of the plan's slowest point, for `spendable_wh` between re-plans."""


@dataclass(frozen=True, slots=True)
class Totals:
    """What the run has done so far (the simulator's summary reads these)."""

    ticks: int = 0
    elapsed_s: float = 0.0
    clean_air_ft3: float = 0.0
    below_floor_s: float = 0.0
    pressure_known_s: float = 0.0
    first_usable_wh: float | None = None
    energy_drawn_wh: float = 0.0


@dataclass(frozen=True, slots=True)
class ControlState:
    """Everything the step remembers between ticks. Build the first one with `initial_state`."""

    setpoints: Setpoints
    energy: EnergyState
    pressure: RoomPressureState
    room: RoomEstimate
    policy: PolicyState
    alerts: AlertState
    planning: PlanState
    command_pct: float = 0.0
    command_since_s: float = 0.0
    plan_power_w: float | None = None
    last_tick_s: float | None = None
    last_save_s: float | None = None
    shutdown_done: bool = False
    totals: Totals = Totals()
    truth: TruthState | None = None
    """The battery estimator's belief (None until a reading says anything about the charge)."""


@dataclass(frozen=True, slots=True)
class RunShutdown:
    """Run the configured shutdown action (the battery reached the shutdown level)."""

    argv: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SaveBattery:
    """Persist the battery belief, so that a restart does not forget it."""

    battery: BatteryState
    now_utc: datetime


Effect = RunShutdown | SaveBattery


@dataclass(frozen=True, slots=True)
class StepResult:
    """One tick's answer: the new state, the fan command, the snapshot, the commands' answers (in the order
    they came in) and the effects for the shell."""

    state: ControlState
    command_pct: float
    snapshot: Snapshot
    command_results: tuple[CommandResult, ...] = ()
    effects: tuple[Effect, ...] = ()

"""The room's pressure as the controller should believe it, and what it means.

- The filtered value is an exponential average of the raw readings (time constant `filter_s`): it rejects
  wind gusts and follows any sustained change within a few time constants. It is never held: a door, a
  stopped fan or a leak show in it as they are.
- A door is a collapse: two consecutive readings `door_drop_pa` below the level before them and under
  30 % of it, where the level is the filtered value or, when lower, what the room curve expects at the
  fan's flow now (so a fall that the fan's own flow explains is no door, nor one while the fan draws far
  less than its setting). Pressure alarms are held while the collapse still looks like a door: until the
  pressure returns, the fan is seen to stop, or `door_hold_s` has passed. One collapse is one door,
  however long it lasts. A hold defers the alarms without restarting their delays; a door that closes
  (the pressure returned) starts them again.
- The fan has stopped when its tachometer says so, when its measured draw stays far below its setting's
  watts, or, with neither to ask, when a collapse outlasts the door hold (flow the model expects but the
  pressure does not show).
- A loss is a sustained shortfall against the learned room curve (a leak, a door left open).
- The room curve Q = C * dP^n is learned online from steady readings, with the spread of those readings
  as its uncertainty (`controller.room_curve`).

Pure functions over frozen dataclasses: the control step passes the time and the readings in.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace

from controller.estimators import ewma_alpha, pressure_for_flow
from controller.room_curve import RoomEstimate as RoomEstimate
from controller.room_curve import learn_room as learn_room


class RoomCondition(enum.StrEnum):
    """What the pressure says about the room right now."""

    UNKNOWN = "unknown"
    NORMAL = "normal"
    FAN_OFF = "fan_off"
    DOOR = "door"
    FAN_STOPPED = "fan_stopped"
    LOSS = "loss"


class StallEvidence(enum.StrEnum):
    """What says the fan has stopped although it is commanded to run."""

    TACHOMETER = "tachometer"
    POWER = "power"
    PRESSURE = "pressure"


@dataclass(frozen=True, slots=True)
class RoomSettings:
    """How the pressure is filtered and classified (the first four are configuration keys)."""

    filter_s: float
    door_drop_pa: float
    door_window_s: float
    """Kept for the configuration: as before, two consecutive fresh readings make a collapse however far
    apart the ticks are (the old window always stretched to a tick and a half)."""
    door_hold_s: float
    leakage_n: float = 0.65
    collapse_fraction: float = 0.3
    """A collapsed reading is under this share of the level before it."""
    stall_power_fraction: float = 0.5
    """A fan drawing less than this share of its setting's watts is not turning."""
    min_fan_power_w: float = 1.0
    """Below this setting power, a draw is too small to tell a stall by."""
    evidence_s: float = 10.0
    """A low draw must last this long to count as a stall."""
    loss_fraction: float = 0.6
    """A filtered pressure under this share of what the curve allows (C plus one spread) is a shortfall..."""
    loss_margin_pa: float = 1.0
    """...when it is also this far below it."""
    loss_confirm_s: float = 60.0
    trust_curve_after_s: float = 600.0
    """The curve judges shortfalls only after learning this long."""
    relearn_after_s: float = 3600.0
    """A shortfall that lasts this long is the room's new normal: the curve learns it."""
    learn_tau_s: float = 1800.0


@dataclass(frozen=True, slots=True)
class RoomReading:
    """This tick's inputs: the fresh raw pressure (None while stale) and what is known about the fan at the
    command in force since the last tick."""

    now_s: float
    raw_pa: float | None
    expected_flow_cfm: float
    """The flow the fan model gives at the command (0 while the fan is commanded off)."""
    fan_model_w: float
    """The fan's watts at that command, from its curve."""
    fan_power_w: float | None = None
    """The fan's measured draw (from the battery shunt), None when unknown (stale, charging)."""
    tach_present: bool = False
    tach_stalled: bool = False
    flow_steady_s: float = math.inf
    """How long the command has been unchanged (the curve learns only from a steady fan)."""
    dt_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Sample:
    """One fresh reading, the filtered level just before it, and the fan's expected flow then."""

    t_s: float
    raw_pa: float
    level_pa: float
    flow_cfm: float


@dataclass(frozen=True, slots=True)
class Collapse:
    """A collapse in progress: since when, from which level, at which flow; whether it still looks like a
    door, and until when a door may hold the alarms."""

    started_s: float
    level_pa: float
    flow_cfm: float
    hold_until_s: float
    door: bool = True


@dataclass(frozen=True, slots=True)
class RoomPressureState:
    """Everything the estimator remembers between ticks."""

    filtered_pa: float | None = None
    last_s: float | None = None
    recent: tuple[Sample, ...] = ()
    collapse: Collapse | None = None
    low_power_since_s: float | None = None
    shortfall_since_s: float | None = None

    def door_open(self, now_s: float) -> bool:
        """Whether a door hold is in force (pressure loop frozen, pressure alarms held)."""
        c = self.collapse
        return c is not None and c.door and now_s < c.hold_until_s


@dataclass(frozen=True, slots=True)
class RoomVerdict:
    """What the room's pressure means this tick. `pressure_pa` is the filtered value (None while stale)."""

    pressure_pa: float | None
    raw_pa: float | None
    condition: RoomCondition
    stall: StallEvidence | None
    held: bool
    door_opened: bool
    expected_pa: float | None
    reason: str
    door_closed: bool = False
    """A door hold ended at this tick because the pressure returned."""
    evidence: str | None = None
    """What says the fan has stopped, in words (None while it is not seen stopped)."""
    fan_doubted: bool = False
    """The fan is seen stopped or its draw is already far below its setting's (not yet for long enough to
    call it a stall): its measured power says nothing about the fan model."""

    @property
    def fan_stopped(self) -> bool:
        """The fan is commanded to run but does not."""
        return self.stall is not None

    @property
    def hold_reason(self) -> str | None:
        """Why pressure alarms are held (None when they are not)."""
        return self.reason if self.held else None


PLAUSIBLE_PA = 2000.0
"""No room differential beyond this is real (sensors for it span 125-1500 Pa): a reading beyond it, or not a
number, is garbage and counts as no reading."""


def plausible_pa(pressure_pa: float | None) -> bool:
    """Whether a raw reading is a number a room's pressure can be."""
    return pressure_pa is not None and math.isfinite(pressure_pa) and abs(pressure_pa) <= PLAUSIBLE_PA


def _power_low(reading: RoomReading, settings: RoomSettings) -> bool | None:
    """Whether the fan's measured draw is far below its setting's (None when the draw cannot tell)."""
    if reading.fan_power_w is None or reading.fan_model_w < settings.min_fan_power_w:
        return None
    return reading.fan_power_w < settings.stall_power_fraction * reading.fan_model_w


def _collapsed(pressure_pa: float, level_pa: float, settings: RoomSettings) -> bool:
    return (
        level_pa > 0.0
        and level_pa - pressure_pa >= settings.door_drop_pa
        and pressure_pa <= settings.collapse_fraction * level_pa
    )


def _returned(pressure_pa: float, level_pa: float, settings: RoomSettings) -> bool:
    """Back near the level a collapse fell from: within door_drop_pa of it and above half of it."""
    return pressure_pa >= max(level_pa - settings.door_drop_pa, 0.5 * level_pa)


def _recent(state: RoomPressureState, sample: Sample) -> tuple[Sample, ...]:
    """The last two fresh readings: a collapse is two in a row."""
    return (*state.recent[-1:], sample)


def track_collapse(
    collapse: Collapse | None,
    recent: tuple[Sample, ...],
    reading: RoomReading,
    fan_doubted: bool,
    expected_pa: float | None,
    settings: RoomSettings,
) -> tuple[Collapse | None, bool, bool]:
    """The collapse in force after this reading, whether a door opened with it, and whether a door closed
    (the pressure returned while the collapse still looked like a door).

    The level a collapse is measured from is the filtered level before it, or what the room curve expects
    at the fan's flow now when that is lower (after the fan's flow fell, the filtered level still lags it).
    A collapse ends when the pressure returns or the fan is commanded off; when the fan's flow changes (the
    policy time-sharing two settings), the level it fell from moves with it along the room curve. It stops
    looking like a door when the fan is seen or suspected to stop (`fan_doubted`) or the
    door hold has run out, and never looks like one again."""
    latest = recent[-1]
    flow = reading.expected_flow_cfm
    if collapse is not None:
        if flow <= 0.0:
            return None, False, False
        level = collapse.level_pa * (flow / collapse.flow_cfm) ** (1.0 / settings.leakage_n)
        returned = all(_returned(s.raw_pa, level, settings) for s in recent[-2:])
        door = collapse.door and not fan_doubted and reading.now_s < collapse.hold_until_s
        if returned:
            return None, False, door
        return replace(collapse, level_pa=level, flow_cfm=flow, door=door), False, False
    if len(recent) < 2 or flow <= 0.0:
        return None, False, False
    first = recent[-2]
    level = first.level_pa if expected_pa is None else min(first.level_pa, expected_pa)
    if not (_collapsed(first.raw_pa, level, settings) and _collapsed(latest.raw_pa, level, settings)):
        return None, False, False
    door = not fan_doubted
    return Collapse(first.t_s, level, flow, first.t_s + settings.door_hold_s, door), door, False


def _expected_pa(curve: RoomEstimate, flow_cfm: float, settings: RoomSettings, spreads: float) -> float | None:
    if flow_cfm <= 0.0:
        return None
    return pressure_for_flow(curve.c_cfm * math.exp(spreads * math.sqrt(curve.log_var)), settings.leakage_n, flow_cfm)


def _shortfall_since(
    state: RoomPressureState, curve: RoomEstimate, reading: RoomReading, filtered_pa: float, settings: RoomSettings
) -> tuple[float | None, bool]:
    """Since when the filtered pressure has fallen short of the trusted curve, and whether it is a deep
    shortfall (a collapse-sized one)."""
    if curve.learned_s < settings.trust_curve_after_s:
        return None, False
    allowed = _expected_pa(curve, reading.expected_flow_cfm, settings, spreads=1.0)
    if allowed is None or allowed - filtered_pa < settings.loss_margin_pa:
        return None, False
    if filtered_pa >= settings.loss_fraction * allowed:
        return None, False
    since = state.shortfall_since_s if state.shortfall_since_s is not None else reading.now_s
    return since, filtered_pa <= settings.collapse_fraction * allowed


def _explain(condition: RoomCondition, stall: StallEvidence | None, reading: RoomReading, collapse: Collapse | None,
             filtered_pa: float, expected_pa: float | None, settings: RoomSettings) -> str:  # fmt: skip
    flow = reading.expected_flow_cfm
    if condition is RoomCondition.DOOR and collapse is not None:
        return (
            f"door open: pressure fell from {collapse.level_pa:.1f} Pa to {reading.raw_pa or 0.0:.1f} Pa with the "
            f"fan's flow unchanged; held until it returns, at most {settings.door_hold_s:g} s after it opened"
        )
    if stall is not None:
        return f"fan stopped ({stall_words(stall, reading, filtered_pa)})"
    if condition is RoomCondition.LOSS:
        expected = f"the {expected_pa:.1f} Pa the room curve expects" if expected_pa is not None else "its level"
        return f"pressure loss: {filtered_pa:.1f} Pa, far below {expected} at {flow:.0f} CFM (a leak or an open door)"
    if condition is RoomCondition.FAN_OFF:
        return "the fan is off"
    return ""


def stall_words(stall: StallEvidence, reading: RoomReading, filtered_pa: float) -> str:
    """The evidence that the fan has stopped, named and in words."""
    if stall is StallEvidence.TACHOMETER:
        return "tachometer: it reads standstill"
    if stall is StallEvidence.POWER:
        drawn, setting = reading.fan_power_w or 0.0, reading.fan_model_w
        return f"power signature: it draws {drawn:.1f} W, far below its setting's {setting:.1f} W"
    flow = reading.expected_flow_cfm
    return (
        f"pressure evidence: {filtered_pa:.1f} Pa shows none of the {flow:.0f} CFM the fan should move "
        "(nothing else tells a stopped fan from a door left open)"
    )


def _classify(
    reading: RoomReading,
    collapse: Collapse | None,
    stall: StallEvidence | None,
    suspicion: StallEvidence | None,
    shortfall: tuple[float | None, bool],
    settings: RoomSettings,
) -> tuple[RoomCondition, StallEvidence | None]:
    """`suspicion`: what would say the fan stopped if the pressure collapses (None: it is seen running)."""
    if stall is not None:
        return RoomCondition.FAN_STOPPED, stall
    if reading.expected_flow_cfm <= 0.0:
        return RoomCondition.FAN_OFF, None
    if collapse is not None and collapse.door and reading.now_s < collapse.hold_until_s:
        return RoomCondition.DOOR, None
    since, deep = shortfall
    sustained = since is not None and reading.now_s - since >= settings.loss_confirm_s
    if collapse is not None or (sustained and deep):
        return (RoomCondition.LOSS, None) if suspicion is None else (RoomCondition.FAN_STOPPED, suspicion)
    if sustained:
        return RoomCondition.LOSS, None
    return RoomCondition.NORMAL, None


def _may_learn(condition: RoomCondition, shortfall_since_s: float | None, reading: RoomReading,
               settings: RoomSettings) -> bool:  # fmt: skip
    """Learn from a steady fan in a room that matches its curve; a shortfall that has lasted
    `relearn_after_s` is the room's new normal and is learned too."""
    steady = reading.flow_steady_s >= 3 * settings.filter_s + 10.0 and reading.expected_flow_cfm > 0.0
    if not steady or condition not in (RoomCondition.NORMAL, RoomCondition.LOSS):
        return False
    if shortfall_since_s is None:
        return condition is RoomCondition.NORMAL
    return reading.now_s - shortfall_since_s >= settings.relearn_after_s


def update_room(
    state: RoomPressureState, curve: RoomEstimate, reading: RoomReading, settings: RoomSettings
) -> tuple[RoomPressureState, RoomEstimate, RoomVerdict]:
    """Filter, classify and learn from one tick's reading. A stale reading (None) leaves the filter as it
    is and the verdict unknown; a door hold still runs out on time."""
    now = reading.now_s
    power_low = _power_low(reading, settings)
    low_since = (state.low_power_since_s if state.low_power_since_s is not None else now) if power_low else None
    stall: StallEvidence | None = None
    if reading.tach_stalled:
        stall = StallEvidence.TACHOMETER
    elif low_since is not None and now - low_since >= settings.evidence_s:
        stall = StallEvidence.POWER
    running = (reading.tach_present and not reading.tach_stalled) or power_low is False
    suspicion = None if running else StallEvidence.POWER if power_low else StallEvidence.PRESSURE
    doubted = stall is not None or bool(power_low)
    if reading.raw_pa is None or not plausible_pa(reading.raw_pa):
        return _stale(replace(state, low_power_since_s=low_since), curve, reading, stall, doubted, settings)
    raw = reading.raw_pa
    if state.filtered_pa is None or state.last_s is None:
        level = filtered = raw
    else:
        level = state.filtered_pa
        filtered = level + ewma_alpha(now - state.last_s, settings.filter_s) * (raw - level)
    recent = _recent(state, Sample(now, raw, level, reading.expected_flow_cfm))
    expected = _expected_pa(curve, reading.expected_flow_cfm, settings, spreads=0.0)
    collapse, opened, closed = track_collapse(state.collapse, recent, reading, doubted, expected, settings)
    shortfall = _shortfall_since(state, curve, reading, filtered, settings)
    condition, stall = _classify(reading, collapse, stall, suspicion, shortfall, settings)
    if _may_learn(condition, shortfall[0], reading, settings):
        curve = learn_room(curve, reading.expected_flow_cfm, filtered, settings.leakage_n, reading.dt_s,
                           settings.learn_tau_s)  # fmt: skip
    state = RoomPressureState(filtered, now, recent, collapse, low_since, shortfall[0])
    reason = _explain(condition, stall, reading, collapse, filtered, expected, settings)
    held = condition is RoomCondition.DOOR
    evidence = stall_words(stall, reading, filtered) if stall is not None else None
    verdict = RoomVerdict(filtered, raw, condition, stall, held, opened, expected, reason, closed, evidence,
                          doubted or stall is not None)  # fmt: skip
    return state, curve, verdict


def _stale(state: RoomPressureState, curve: RoomEstimate, reading: RoomReading, stall: StallEvidence | None,
           doubted: bool, settings: RoomSettings) -> tuple[RoomPressureState, RoomEstimate, RoomVerdict]:  # fmt: skip
    """No fresh reading: the filter stays as it is; a door hold still runs out on time, and ends when the
    fan is seen or suspected to stop."""
    collapse = state.collapse
    if collapse is not None and doubted:
        state = replace(state, collapse=replace(collapse, door=False))
    held = state.door_open(reading.now_s)
    if stall is None:
        return state, curve, RoomVerdict(None, None, RoomCondition.UNKNOWN, None, held, False, None,
                                         "no fresh, valid pressure reading", fan_doubted=doubted)  # fmt: skip
    words = stall_words(stall, reading, 0.0)
    verdict = RoomVerdict(None, None, RoomCondition.FAN_STOPPED, stall, held, False, None,
                          f"fan stopped ({words})", evidence=words, fan_doubted=True)  # fmt: skip
    return state, curve, verdict

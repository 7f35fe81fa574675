"""The pure control step and its values (no I/O, no clock: the shell reads, calls `step`, and acts)."""

from controller.step.core import apply_commands, initial_state, step
from controller.step.state import (
    ControlState,
    Effect,
    FanInput,
    PressureInput,
    RunShutdown,
    SaveBattery,
    ShuntInput,
    SourcedCommand,
    StepInputs,
    StepResult,
    Totals,
)

__all__ = [
    "ControlState",
    "Effect",
    "FanInput",
    "PressureInput",
    "RunShutdown",
    "SaveBattery",
    "ShuntInput",
    "SourcedCommand",
    "StepInputs",
    "StepResult",
    "Totals",
    "apply_commands",
    "initial_state",
    "step",
]

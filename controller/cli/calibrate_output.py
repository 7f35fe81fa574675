"""What `cleanroom calibrate` shows and writes: progress lines on standard error, the `--json` result, and
where the calibration file goes."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from controller.calibration.model import Calibration
    from controller.calibration.session import Progress


CALIBRATION_FILE = "calibration.json"


def output_path(output: str | None, state_dir: str, simulated: bool) -> Path:
    """--output, else calibration.json in the state directory ([controller] state_dir; with --sim and no
    configuration, the simulator's own), never the working directory by surprise. Checked writable before
    the sweep starts, so a long run does not end on a file it cannot write."""
    if output:
        path = Path(output).expanduser().absolute()
    elif simulated:
        base = Path(os.environ.get("XDG_STATE_HOME") or "~/.local/state").expanduser() / "cleanroom-sim"
        path = base.absolute() / CALIBRATION_FILE
    else:
        path = Path(state_dir).expanduser().absolute() / CALIBRATION_FILE
    from controller.errors import ConfigError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        writable = os.access(path.parent, os.W_OK)
    except OSError:
        writable = False
    if not writable:
        raise ConfigError(
            "command line", "--output", str(path), "a file in a directory this user can write (give --output FILE)"
        )
    return path


class ProgressLine:
    """Progress on standard error: one line per phase (and a refreshed line on a terminal)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.last: tuple[int, str] | None = None
        self.last_refresh = 0.0

    def __call__(self, progress: Progress) -> None:
        if self.quiet:
            return
        key = (progress.step, progress.phase)
        changed = key != self.last
        now = time.monotonic()
        if not changed and not (self.tty and now - self.last_refresh >= 0.2):
            return
        self.last = key
        self.last_refresh = now
        line = describe_progress(progress)
        if self.tty:
            sys.stderr.write(("\n" if changed and progress.phase == "settling" else "") + f"\r{line}\033[K")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def done(self) -> None:
        if self.tty and not self.quiet:
            sys.stderr.write("\n")


def describe_progress(progress: Progress) -> str:
    """One line: which step, which setting, settling or measuring and how it goes."""
    where = (
        "baseline (fan off)"
        if progress.step == 0
        else f"step {progress.step} of {progress.total}: setting {progress.setting} ({progress.command_pct:.4g} %)"
    )
    text = f"{where}: {progress.phase} {progress.elapsed_s:.0f} s"
    settling = progress.settling
    if settling is not None and settling.power_drift_w is not None:
        text += f", power drift {settling.power_drift_w:.3f}/{settling.power_allowed_w:.3f} W"
        if settling.pressure_drift_pa is not None:
            text += f", pressure drift {settling.pressure_drift_pa:.2f}/{settling.pressure_allowed_pa:.2f} Pa"
    elif settling is not None:
        text += " (filling the window)"
    stats = progress.stats
    if stats is not None:
        text += (
            f", {stats.power.value:.3f} ± {stats.power.stderr:.3f} W"
            f", {stats.pressure.value:.2f} ± {stats.pressure.stderr:.2f} Pa"
        )
    return text


def json_result(calibration: Calibration, output: Path, report: dict[str, object]) -> dict[str, object]:
    """The `--json` object."""
    room = calibration.room
    assert room is not None
    return {
        "file": str(output),
        "baseline_w": calibration.baseline.power_w if calibration.baseline else None,
        "fan": [
            {
                "setting": s.setting,
                "command": s.command_pct,
                "power_w": s.source_w,
                "fan_w": s.fan_w,
                "cfm": s.rated_flow_cfm,
                "pressure_pa": s.pressure_pa,
                "pressure_stderr_pa": s.pressure_stderr_pa,
                "rpm": s.rpm,
                "settled": s.settled,
            }
            for s in calibration.steps
        ],
        "room": {
            "c": room.c_cfm,
            "n": room.n,
            "steps_used": room.steps_used,
            "min_pressure_pa": room.min_pressure_pa,
            "rms_log_residual": room.rms_log_residual,
        },
        "report": report,
    }

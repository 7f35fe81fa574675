"""A purifier driven by pressing its buttons: GPIO lines (libgpiod v2, `/dev/gpiochipN`) drive an
optocoupler or a small relay across each button's contacts, or the kernel's IR transmitter sends its
remote's codes (drivers.buttons.pressers).

set_command only picks the target setting and wakes the driver's own task, which plans the shortest
press sequence from what it believes the purifier is on and presses one button at a time (press, hold
`press_s`, release, wait `release_s`), re-planning after each press so the newest command wins. The
daemon hands it the fan's measured power every tick (`observe_power`); the pure verifier
(drivers.buttons.verify) checks the belief against it, corrects missed and doubled presses, identifies
an unknown state and tells a purifier that ignores its presses (the driver then says unavailable, which
raises the fan-fault alert, stops pressing and, every `fault_retry_s`, tries once for the safe setting).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from drivers.base import DriverStats, FanReading
from drivers.buttons.plan import OFF, Belief, Layout, after, at_setting, nearest_reachable, plan, setting_of
from drivers.buttons.pressers import Presser, PressFailed
from drivers.buttons.verify import PowerSignature, Rules, Verdict, Watch, assume, judge
from drivers.health import Health
from drivers.runtime import Backoff, Service, TaskOwner

log = logging.getLogger(__name__)

OPEN_LOOP_AFTER = 3
"""Readings in a row without the fan's power after which the driver says it presses open-loop."""


class ButtonFan(Service):
    """A fan whose settings are chosen by pressing buttons; commands map to settings like a discrete
    fan curve's (setting k of N runs at commands from its own, 100 k / N %, up to the next)."""

    def __init__(
        self,
        presser: Presser,
        layout: Layout,
        *,
        commands_pct: tuple[float, ...],
        signature: PowerSignature | None = None,
        rules: Rules | None = None,
        power_up: int | None = None,
        safe_setting: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        fault_retry_s: float = 300.0,
        close_timeout_s: float = 2.5,
        backoff: Backoff | None = None,
        name: str = "fan (buttons)",
    ) -> None:
        missing = [b for b in layout.buttons if b not in presser.buttons()]
        if missing:
            names = ", ".join(layout.buttons)
            raise ValueError(f"no line or code for button(s) {', '.join(missing)} (buttons: {names})")
        if len(commands_pct) != layout.settings:
            raise ValueError(f"{len(commands_pct)} commands for {layout.settings} settings")
        self.presser = presser
        self.layout = layout
        self.commands_pct = commands_pct
        self.signature = signature
        self.rules = rules or Rules()
        self.power_up = power_up
        self.safe_setting = safe_setting
        self.fault_retry_s = fault_retry_s
        self.close_timeout_s = close_timeout_s
        self._clock = clock
        self._sleep = sleep
        self._backoff = backoff or Backoff()
        self._health = Health(name, log, clock, stale_after_s=3600.0)
        self.stats: DriverStats = self._health.stats
        self.belief: Belief = at_setting(layout, power_up) if power_up is not None else layout.states()
        self.target: int | None = None
        self.message = "starting"
        self.open_loop = signature is None
        self._watch = Watch()
        self._missing = 0
        self._last_press_s: float | None = None
        self._fault_since_s: float | None = None
        self._retry_goal: int | None = None
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._blocked = False
        self._tasks = TaskOwner(name)

    @property
    def presses(self) -> int:
        """Presses made since start."""
        return self.stats.counters.get("presses", 0)

    @property
    def faulted(self) -> bool:
        """Whether the purifier was found not to follow its presses."""
        return self._fault_since_s is not None

    def setting_for(self, command_pct: float) -> int:
        """The setting a command runs on: the highest whose command is at or below it (0: off)."""
        return bisect.bisect_right(self.commands_pct, command_pct + 1e-9)

    async def start(self) -> None:
        """Claim the presser (retried by the task if that fails now) and start the task."""
        await self._open()
        if not self._tasks.running:
            await self._tasks.start()
            self._tasks.spawn(self._run)

    async def close(self) -> None:
        """Give the newest command up to close_timeout_s of presses, then stop pressing and release the
        lines (the purifier keeps its setting)."""
        if self._tasks.running and not await self.settled(self.close_timeout_s):
            log.error("%s: %s not reached within %g s of closing", self._health.name, self.target, self.close_timeout_s)
        await self._tasks.close()
        self.presser.close()

    async def set_command(self, command_pct: float) -> None:
        """Aim for the setting of this command and wake the task; returns at once."""
        if command_pct != command_pct:
            self._health.corrupt(f"command {command_pct!r} is not a number; keeping setting {self.target}")
            return
        target = self.setting_for(min(100.0, max(0.0, command_pct)))
        if target != self.target:
            self.target = target
            self._idle.clear()
            self._wake.set()

    async def settled(self, timeout_s: float) -> bool:
        """Wait up to timeout_s until the task has nothing left to press; whether it has."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._idle.wait()
        return self._idle.is_set()

    def latest(self) -> FanReading | None:
        """The command of the setting the driver believes the purifier runs on."""
        setting = setting_of(self.belief)
        if setting is None or self.target is None:
            return None
        return FanReading(self._clock(), 0.0 if setting == OFF else self.commands_pct[setting - 1])

    def observe_power(self, fan_power_w: float | None, monotonic_s: float) -> None:
        """The fan's measured draw now (None: no reading); called by the daemon every tick (which also
        retries presses a failed device held up)."""
        if not self._idle.is_set():
            self._wake.set()
        since = self._fault_since_s
        if since is not None and self._retry_goal is None and self._clock() - since >= self.fault_retry_s:
            self._wake.set()
        if self.signature is None or self.target is None:
            self._say_open_loop(fan_power_w is None)
            return
        outcome = judge(
            self.layout, self.signature, self.rules, self._watch, self.belief, self.target,
            fan_power_w, monotonic_s, self._last_press_s,
        )  # fmt: skip
        self._watch, verdict = outcome.watch, outcome.verdict
        self._say_open_loop(verdict is Verdict.OPEN_LOOP)
        if verdict is Verdict.OPEN_LOOP:
            return
        if verdict is Verdict.CONFIRMED:
            self._confirmed(outcome.seen)
        elif verdict in (Verdict.CORRECTED, Verdict.FAULT):
            self._corrected(outcome.belief, outcome.seen, verdict is Verdict.FAULT)
        elif verdict is Verdict.UNRECOGNISED and self._watch.unrecognised == 10:
            self.message = f"fan power {fan_power_w:.1f} W matches no setting; check the calibration's watts"
            log.warning("%s: %s", self._health.name, self.message)

    def _say_open_loop(self, no_reading: bool) -> None:
        """Three ticks in a row without a reading (no fresh shunt, the charger on) make the driver press
        open-loop, which it says; the first reading ends that."""
        self._missing = self._missing + 1 if no_reading else 0
        open_loop = self._missing >= OPEN_LOOP_AFTER or self.signature is None
        if open_loop and not self.open_loop:
            log.warning("%s: no fan power reading: pressing open-loop (presses are not verified)", self._health.name)
        self.open_loop = open_loop
        if self.signature is None:
            self.message = "open loop: verification by power is off (verify = false)"
        elif open_loop:
            self.message = "open loop: no fan power reading, presses are not verified"

    def _label(self, setting: int | None) -> str:
        return "unknown" if setting is None else ("off" if setting == OFF else f"setting {setting}")

    def _confirmed(self, seen: int | None) -> None:
        if self._fault_since_s is None:
            self.message = f"verified by power: {self._label(seen)}"
            self._health.ok()
        elif self._retry_goal is not None and seen == self._retry_goal:
            self._fault_since_s = self._retry_goal = None
            self.message = f"verified by power: {self._label(seen)}; the purifier follows its presses again"
            log.info("%s: %s", self._health.name, self.message)
            self._health.ok()
            self._wake.set()

    def _corrected(self, belief: Belief, seen: int | None, fault: bool) -> None:
        believed = setting_of(self.belief)
        self.belief = belief
        self._health.count("corrections")
        self.message = f"power says {self._label(seen)}, believed {self._label(believed)}: corrected"
        log.info("%s: %s", self._health.name, self.message)
        if fault:
            self._fault_since_s, self._retry_goal = self._clock(), None
            self._health.count("faults")
            self._health.unavailable(
                f"the purifier does not follow its presses (still {self._label(seen)} after "
                f"{self.rules.max_attempts} corrections); leaving it, retrying every {self.fault_retry_s:g} s"
            )
        self._wake.set()

    async def _open(self) -> bool:
        try:
            await self.presser.open()
        except PressFailed as exc:
            self._health.unavailable(str(exc))
            return False
        return True

    async def _press(self, button: str) -> bool:
        try:
            await self.presser.press(button)
        except PressFailed as exc:
            self._health.unavailable(str(exc))
            return False
        finally:
            self._last_press_s = self._clock()
        self._health.count("presses")
        return True

    def _goal(self) -> int | None:
        """The setting to press for now: the target, or while faulted the safe setting once per retry."""
        if self._fault_since_s is None:
            return self.target
        if self._retry_goal is None:
            if self._clock() - self._fault_since_s < self.fault_retry_s:
                return None
            self._retry_goal = self.safe_setting
            self._watch = Watch(attempts=self.rules.max_attempts)
        return self._retry_goal

    def _next_press(self, goal: int) -> str | None:
        presses = plan(self.layout, self.belief, goal)
        if presses is None and (self.open_loop or self.signature is None):
            self.belief = assume(self.layout, self.belief, self.power_up)
            self.message = f"open loop: assumed {self._label(setting_of(self.belief))} (not verified)"
            presses = plan(self.layout, self.belief, goal)
        if presses is None and setting_of(self.belief) is None:
            self.message = "setting unknown: waiting for the fan's power to identify it"
            return None
        if presses is None and len(self.belief) > 1:
            return self._exploring_press()
        if presses is None:
            reachable = nearest_reachable(self.layout, self.belief, goal)
            if reachable is None or reachable == goal:
                return None
            self.message = f"{self._label(goal)} cannot be reached with these buttons: going to {reachable}"
            presses = plan(self.layout, self.belief, reachable)
        return presses[0] if presses else None

    def _exploring_press(self) -> str | None:
        """A press after which the power tells the possible states apart (e.g. "power" on a purifier that
        is off and resumes a setting the driver does not know)."""
        for button in self.layout.buttons:
            if len({state.setting for state in after(self.layout, self.belief, button)}) > 1:
                self.message = f"pressing {button} to learn the setting from the fan's power"
                return button
        return None

    async def _step(self) -> bool:
        """Press the next button toward the goal; whether there is more to do at once."""
        if not await self._open():
            self._blocked = True
            await self._sleep(self._backoff.next_delay())
            return False
        self._blocked = False
        goal = self._goal()
        if goal is None:
            return False
        button = self._next_press(goal)
        if button is None:
            return False
        if not await self._press(button):
            self._blocked = True
            await self._sleep(self._backoff.next_delay())
            return False
        self._backoff.reset()
        self.belief = after(self.layout, self.belief, button)
        if self._fault_since_s is None and self.open_loop:
            self._health.ok()
        return True

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.fault_retry_s if self.faulted else 30.0):
                    await self._wake.wait()
            self._wake.clear()
            try:
                while await self._step():
                    pass
                if not self._blocked:
                    self._idle.set()
            except Exception as exc:  # a driver bug must not kill the daemon
                self._health.unexpected(exc)
                self.presser.close()
                await self._sleep(self._backoff.next_delay())

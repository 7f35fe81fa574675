"""The `buttons` fan driver against the gpiod fake: the real driver and the real gpiod types press the
buttons of a simulated purifier; the fan's power fed back each second is the purifier's true setting's."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from drivers.base import DeviceState
from drivers.buttons.driver import ButtonFan
from drivers.buttons.plan import OFF, Layout, State
from drivers.buttons.pressers import GpioPresser, Wiring
from drivers.buttons.verify import PowerSignature, Rules
from drivers.fakes.gpiod_lines import FakeGpioChip, SimulatedPurifier
from tests.drivers.helpers import fast_backoff

WATTS = (1.93, 4.12, 9.74, 16.58, 24.04, 29.12)
COMMANDS = tuple(100.0 * (k + 1) / 6 for k in range(6))


@dataclass
class ManualClock:
    """Time that moves only when someone sleeps on it."""

    now: float = 1000.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


@dataclass
class Bench:
    """A driver, the purifier it presses and the clock they share."""

    fan: ButtonFan
    purifier: SimulatedPurifier
    chip: FakeGpioChip
    clock: ManualClock
    powers: list[float | None] = field(default_factory=list)

    async def run(self, seconds: int, *, shunt: bool = True) -> None:
        """Let `seconds` pass, feeding the purifier's true power once a second."""
        for _ in range(seconds):
            await self.clock.sleep(1.0)
            watts = (0.0 if self.purifier.setting == OFF else WATTS[self.purifier.setting - 1]) if shunt else None
            self.fan.observe_power(watts, self.clock.now)
            for _ in range(5):
                await asyncio.sleep(0)


def bench(
    layout: Layout,
    lines: dict[str, int],
    start: State,
    *,
    power_up: int | None = None,
    signature: bool = True,
    active_low: bool = False,
) -> Bench:
    clock = ManualClock()
    chip = FakeGpioChip("/dev/gpiochip0", clock=clock.monotonic)
    purifier = SimulatedPurifier(layout, {v: k for k, v in lines.items()}, start, wired_active_low=active_low)
    purifier.attach(chip)
    fan = ButtonFan(
        GpioPresser(Wiring("gpiochip0", lines, active_low=active_low), clock.sleep, chip.request_lines),
        layout,
        commands_pct=COMMANDS,
        signature=PowerSignature.from_watts(WATTS) if signature else None,
        rules=Rules(settle_s=3.0, confirm_readings=2, max_attempts=3),
        power_up=power_up,
        safe_setting=2,
        clock=clock.monotonic,
        sleep=clock.sleep,
        fault_retry_s=120.0,
        backoff=fast_backoff(),
    )
    return Bench(fan, purifier, chip, clock)


CYCLE = Layout("cycle", 6, order=(0, 1, 2, 3, 4, 5, 6))


@pytest.mark.parametrize(
    ("layout", "lines", "start", "target", "presses"),
    [
        (CYCLE, {"cycle": 17}, State(2, 2), 3, 1),
        (CYCLE, {"cycle": 17}, State(3, 3), 2, 6),
        (Layout("cycle", 6, order=(1, 2, 3, 4, 5, 6), has_power=True), {"cycle": 17, "power": 27}, State(0, 5), 6, 2),
        (Layout("up-down", 6, has_power=True), {"up": 5, "down": 6, "power": 13}, State(4, 4), 1, 3),
        (
            Layout("per-setting", 6, per_setting=(1, 2, 3, 4, 5, 6), has_off_button=True),
            {"1": 5, "2": 6, "3": 13, "4": 19, "5": 26, "6": 21, "off": 20},
            State(0, 1),
            5,
            1,
        ),
    ],
    ids=["cycle-up", "cycle-round", "cycle-power", "up-down", "per-setting"],
)
async def test_each_layout_presses_the_shortest_sequence(
    layout: Layout, lines: dict[str, int], start: State, target: int, presses: int
) -> None:
    b = bench(layout, lines, start, power_up=start.setting)
    async with b.fan:
        await b.fan.set_command(COMMANDS[target - 1])
        await b.run(10)
        assert b.purifier.setting == target, b.fan.message
        assert b.fan.presses == presses
        assert b.purifier.registered == presses
        assert "verified by power" in b.fan.message
        assert b.fan.stats.state is DeviceState.OK
        reading = b.fan.latest()
        assert reading is not None
        assert reading.command_pct == pytest.approx(COMMANDS[target - 1])
    assert b.chip.busy == set(), "closing releases the lines"


async def test_active_low_wiring_presses_with_a_low_pin() -> None:
    b = bench(CYCLE, {"cycle": 17}, State(1, 1), power_up=1, active_low=True)
    async with b.fan:
        assert b.chip.levels[17] is True, "released is high on an active-low line"
        await b.fan.set_command(COMMANDS[3])
        await b.run(8)
        assert b.purifier.setting == 4


async def test_a_missed_press_is_found_from_the_power_and_pressed_again() -> None:
    b = bench(CYCLE, {"cycle": 17}, State(2, 2), power_up=2)
    b.purifier.miss_next = 1
    async with b.fan:
        await b.fan.set_command(COMMANDS[2])
        await b.run(12)
        assert b.purifier.missed == 1
        assert b.purifier.setting == 3
        assert b.fan.presses == 2
        assert b.fan.stats.counters["corrections"] == 1
        assert b.fan.stats.state is DeviceState.OK


async def test_a_doubled_press_is_found_and_corrected_the_long_way_round() -> None:
    b = bench(CYCLE, {"cycle": 17}, State(2, 2), power_up=2)
    b.purifier.double_next = 1
    async with b.fan:
        await b.fan.set_command(COMMANDS[2])
        await b.run(15)
        assert b.purifier.doubled == 1
        assert b.purifier.setting == 3
        assert b.fan.presses == 1 + 6
        assert b.fan.stats.counters["corrections"] == 1


async def test_an_unknown_start_is_identified_by_its_power() -> None:
    b = bench(CYCLE, {"cycle": 17}, State(5, 5), power_up=None)
    async with b.fan:
        await b.fan.set_command(COMMANDS[0])
        for _ in range(5):
            await asyncio.sleep(0)
        assert b.fan.presses == 0
        assert "unknown" in b.fan.message
        await b.run(10)
        assert b.purifier.setting == 1
        assert b.fan.presses == 3


async def test_a_purifier_that_ignores_its_presses_is_a_fault_then_left_alone() -> None:
    b = bench(CYCLE, {"cycle": 17}, State(4, 4), power_up=4)
    b.purifier.ignoring = True
    async with b.fan:
        await b.fan.set_command(COMMANDS[5])
        await b.run(60)
        assert b.fan.stats.state is DeviceState.UNAVAILABLE
        assert "does not follow its presses" in (b.fan.stats.last_error or "")
        assert b.fan.faulted
        pressed = b.fan.presses
        await b.run(30)
        assert b.fan.presses == pressed, "a faulted purifier is left alone until the retry"
        settings: list[int] = []
        b.purifier.apply = settings.append
        b.purifier.ignoring = False
        await b.run(150)
        assert settings[:5] == [5, 6, 0, 1, 2], "the retry goes for the safe setting first"
        assert b.purifier.setting == 6, "then for the loop's command again"
        assert not b.fan.faulted
        assert b.fan.stats.state is DeviceState.OK


async def test_without_a_power_reading_it_presses_open_loop_and_says_so() -> None:
    b = bench(CYCLE, {"cycle": 17}, State(1, 1), power_up=1)
    async with b.fan:
        await b.fan.set_command(COMMANDS[3])
        await b.run(6, shunt=False)
        assert b.purifier.setting == 4
        assert b.fan.open_loop
        assert "open loop" in b.fan.message


async def test_a_missing_chip_is_unavailable_and_retried() -> None:
    b = bench(CYCLE, {"cycle": 17}, State(1, 1), power_up=1)
    b.chip.unplugged = True
    async with b.fan:
        await b.fan.set_command(COMMANDS[1])
        await b.run(2)
        assert b.fan.stats.state is DeviceState.UNAVAILABLE
        assert "/dev/gpiochip0" in (b.fan.stats.last_error or "")
        b.chip.unplugged = False
        await b.run(8)
        assert b.purifier.setting == 2


async def test_missing_wiring_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="power"):
        ButtonFan(
            GpioPresser(Wiring("gpiochip0", {"cycle": 17})),
            Layout("cycle", 6, order=(1, 2, 3, 4, 5, 6), has_power=True),
            commands_pct=COMMANDS,
        )


async def test_a_chip_lost_mid_run_is_retried_with_backoff_and_recovers() -> None:
    b = bench(CYCLE, {"cycle": 17}, State(1, 1), power_up=1)
    async with b.fan:
        await b.fan.set_command(COMMANDS[1])
        await b.run(6)
        assert b.purifier.setting == 2
        b.chip.unplugged = True
        await b.fan.set_command(COMMANDS[3])
        await b.run(5)
        assert b.fan.stats.state is DeviceState.UNAVAILABLE
        assert "No such device" in (b.fan.stats.last_error or "") or "gpiochip0" in (b.fan.stats.last_error or "")
        assert b.purifier.setting == 2
        b.chip.unplugged = False
        await b.run(10)
        assert b.purifier.setting == 4
        assert b.fan.stats.state is DeviceState.OK

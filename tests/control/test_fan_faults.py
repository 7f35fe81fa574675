"""The loop against a real Modbus TCP fan (a pymodbus server) that stops answering: the tick never waits
on the fan's I/O, the fan-fault alert rises within its delay, and stopping is bounded whatever hangs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from controller.clock import SimulatedClock
from controller.command_bus import CommandBus
from controller.daemon import Daemon
from controller.daemon_settings import DaemonSettings
from controller.hub import SnapshotHub
from controller.sim.rig import SimRoom, simulated_plant, simulated_rig
from controller.sim.scenario import parse_scenario
from controller.snapshot import AlertKind, Snapshot
from drivers.base import DeviceState
from drivers.fakes.modbus import ModbusFake
from drivers.modbus.devices import ModbusFan
from drivers.modbus.link import ModbusSettings
from drivers.modbus.presets import FAN_PRESETS
from tests.control.sim_helpers import START, config
from tests.drivers.helpers import fast_backoff

FAN_DELAY_S = 15.0
"""The default fan_delay of the alarm configuration."""
FAN_STALE_AFTER_S = 15.0
HANG_GUARD_S = 60.0
"""Only a guard against a test that hangs; nothing is asserted about real time."""


@dataclass
class Rig:
    daemon: Daemon
    fan: ModbusFan
    fake: ModbusFake
    clock: SimulatedClock


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    cfg = config(tick="1 s")
    sim = simulated_rig(
        simulated_plant(cfg, SimRoom(39.0, 0.65, 1.0)),
        parse_scenario("outage", 3600.0),
        start_utc=START,
        speed=None,
        seed=3,
    )
    fake = ModbusFake(transport="tcp")
    await fake.start()
    settings = ModbusSettings(transport="tcp", host=fake.host, tcp_port=fake.tcp_port, timeout_s=0.2)
    fan_map, _ = FAN_PRESETS["waveshare-ao8"]()
    fan = ModbusFan(
        settings, fan_map, clock=sim.clock.monotonic, backoff=fast_backoff(),
        stale_after_s=FAN_STALE_AFTER_S, close_timeout_s=0.5,
    )  # fmt: skip
    daemon = Daemon(
        DaemonSettings.from_config(cfg, None),
        shunt=sim.devices.shunt, pressure=sim.devices.pressure, fan=fan, clock=sim.clock,
        hub=SnapshotHub(), commands=CommandBus(),
    )  # fmt: skip
    await daemon.start()
    try:
        yield Rig(daemon, fan, fake, sim.clock)
    finally:
        fake.no_answer = 0
        await daemon.stop()
        await fake.close()


def tick_without_waiting(daemon: Daemon) -> Snapshot:
    """One tick, which must finish without ever handing control back to the event loop: it awaits no I/O."""
    coroutine = daemon.tick()
    try:
        coroutine.send(None)
    except StopIteration as finished:
        snapshot: Snapshot = finished.value
        return snapshot
    coroutine.close()
    raise AssertionError("the tick suspended: it waited on something")


async def test_the_tick_never_waits_on_a_fan_that_stops_answering(rig: Rig) -> None:
    tick_without_waiting(rig.daemon)
    assert await rig.fan.settled(HANG_GUARD_S)
    assert rig.fan.stats.state is DeviceState.OK
    confirmed = rig.fake.registers["holding"][0]

    rig.fake.no_answer = 10**9  # the fan stops answering for good
    raised_at_s = None
    for second in range(1, 61):
        rig.clock.advance(1.0)
        snapshot = tick_without_waiting(rig.daemon)
        if raised_at_s is None and any(a.kind is AlertKind.FAN_FAULT for a in snapshot.alerts):
            raised_at_s = second
    assert rig.daemon.totals.ticks == 61
    assert raised_at_s is not None, "no fan-fault alert"
    assert raised_at_s <= FAN_STALE_AFTER_S + FAN_DELAY_S + 2.0
    assert rig.fan.stats.state is DeviceState.UNAVAILABLE
    assert rig.fake.registers["holding"][0] == confirmed


async def test_the_fan_recovers_and_takes_the_newest_command(rig: Rig) -> None:
    tick_without_waiting(rig.daemon)
    assert await rig.fan.settled(HANG_GUARD_S)
    rig.fake.no_answer = 10**9
    for wanted in (20.0, 90.0, 55.0):
        await rig.fan.set_command(wanted)
    rig.fake.no_answer = 0
    assert await rig.fan.settled(HANG_GUARD_S)
    assert rig.fake.registers["holding"][0] == 5500
    assert rig.fan.stats.state is DeviceState.OK


async def test_stopping_is_bounded_while_the_fan_hangs(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    tick_without_waiting(rig.daemon)
    assert await rig.fan.settled(HANG_GUARD_S)
    rig.fake.no_answer = 10**9
    with caplog.at_level(logging.ERROR):
        await rig.daemon.stop()
    assert "not confirmed within" in caplog.text

"""Plausible snapshots for feeding the recorder, and a way to run it to completion."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from controller.command_bus import CommandBus
from controller.history import Recorder
from controller.hub import SnapshotHub
from controller.snapshot import Event, Mode, Snapshot

START = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)


def make_snapshot(
    controller_id: str, monotonic_s: float, wall_utc: datetime | None = None, **overrides: object
) -> Snapshot:
    """A discharging 100 Ah battery driving a fan at 40 %, with values that vary with time."""
    wall = wall_utc if wall_utc is not None else START + timedelta(seconds=monotonic_s)
    consumed = 0.0015 * monotonic_s
    soc = max(0.0, 100.0 - consumed)
    power = 18.0 + 2.0 * math.sin(monotonic_s / 60.0)
    snapshot = Snapshot(
        controller_id=controller_id,
        timestamp_utc=wall,
        monotonic_s=monotonic_s,
        mode=Mode.AUTO,
        voltage_v=13.2 - 0.001 * consumed,
        current_a=-power / 13.2,
        power_w=power,
        soc_pct=soc,
        consumed_ah=consumed,
        soc_synced=True,
        soc_sync_age_s=monotonic_s,
        charging=False,
        energy_usable_wh=soc * 11.52,
        pressure_pa=6.0 + math.sin(monotonic_s / 10.0),
        pressure_raw_pa=6.0 + math.sin(monotonic_s / 3.0),
        pressure_floor_pa=2.5,
        pressure_setpoint_pa=None,
        fan_command_pct=40.0,
        fan_setting=None,
        fan_rpm=1800.0,
        fan_power_w=power - 3.0,
        flow_cfm=150.0,
        clean_air_ft3=2.5 * monotonic_s,
        runtime_now_s=soc * 11.52 / power * 3600.0,
        runtime_plan_s=soc * 11.52 / 17.0 * 3600.0,
        plan_power_w=17.0,
        deadline_utc=None,
        deadline_met=None,
        shunt_status="ok",
        pressure_status="ok",
        fan_status="ok",
    )
    return replace(snapshot, **overrides) if overrides else snapshot


def series(
    controller_id: str,
    seconds: float,
    tick_s: float,
    start_s: float = 0.0,
    wall: Callable[[float], datetime] | None = None,
    events: dict[int, tuple[Event, ...]] | None = None,
) -> list[Snapshot]:
    """Snapshots every tick_s from start_s for `seconds`; `wall` maps monotonic to wall time."""
    out = []
    count = round(seconds / tick_s)
    for index in range(count + 1):
        mono = start_s + index * tick_s
        snapshot = make_snapshot(controller_id, mono, wall(mono) if wall else None)
        if events and index in events:
            snapshot = replace(snapshot, events=events[index])
        out.append(snapshot)
    return out


async def wait_for(predicate: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Poll a condition with a deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def record(recorder: Recorder, snapshots: Iterable[Snapshot], hub: SnapshotHub | None = None) -> SnapshotHub:
    """Run the recorder over the snapshots until the hub closes (everything flushed)."""
    hub = hub or SnapshotHub()
    task = asyncio.create_task(recorder.run(hub, CommandBus()))
    await asyncio.sleep(0)
    for snapshot in snapshots:
        hub.publish(snapshot)
        await asyncio.sleep(0)
    hub.close()
    await asyncio.wait_for(task, 120)
    return hub

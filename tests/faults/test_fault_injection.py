"""Fault injection on real parts, each against the real daemon (`cleanroom run`, real drivers and sinks):
a PostgreSQL server behind a proxy that stops forwarding, a broker stopped and restarted, the shunt's
pseudo-terminal vanishing. For each: the loop keeps its period (p99 under 100 ms late, from the daemon's own
timing record, which issue 13 asks of this machine), the matching alert is raised, and SIGTERM ends the
process cleanly (before the 9.5 s forced exit) with the Modbus fan at the safe speed.

(The Modbus fan that stops answering is tests/control/test_run_modbus_fan.py.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import make_url

from controller.history.backlog import FILE_NAME
from drivers.fakes.stalling_proxy import StallingProxy
from tests.eventually import eventually
from tests.faults.rig import EXIT_FORCED, SAFE_SPEED_REGISTER, Run, Timing, running_daemon
from tests.mqtt.mqtt_rig import Mosquitto, get_retained

P99_LATE_LIMIT_MS = 100
"""Issue 13: the tick period's p99 stays within 100 ms of the tick under each fault, beyond what the machine's
scheduling alone costs at that moment (a metronome process that only sleeps its tick, run beside it: on two
cores shared with other test runs it is itself 100-500 ms late at times)."""


def _stopped_cleanly(run: Run, timings: tuple[Timing, Timing]) -> None:
    timing, metronome = timings
    assert run.code == 0, run.stderr[-3000:]
    assert run.code != EXIT_FORCED
    assert "stopping: fan to the safe speed 66 %" in run.stderr
    assert run.fan.registers["holding"][0] == SAFE_SPEED_REGISTER
    assert "Traceback" not in run.stderr
    assert timing.periods > 100  # p99 is then not the single longest period
    assert timing.p99_late_ms < P99_LATE_LIMIT_MS + max(0, metronome.p99_late_ms), (timing, metronome)


async def test_postgresql_that_stops_answering(tmp_path: Path, pg_database_factory: Callable[[], str]) -> None:
    database = pg_database_factory()
    with StallingProxy(("127.0.0.1", 5432)) as proxy:
        url = make_url(database).set(port=proxy.port).render_as_string(hide_password=False)
        async with running_daemon(tmp_path, "--db", url, "--mqtt", "none") as run:
            await run.ticks_for(3.0)
            proxy.stall()
            await eventually(
                lambda: _has(run, "history_backlog"), timeout_s=60, what="history_backlog raised while PostgreSQL hangs"
            )
            await run.ticks_for(14.0)
            timings = await run.stop()
    _stopped_cleanly(run, timings)
    assert "rows kept in" in run.stderr
    saved = json.loads((run.state_dir / FILE_NAME).read_text())
    assert saved["samples"]


async def test_broker_stopped_and_restarted(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path)
    broker.start()
    try:
        async with running_daemon(tmp_path, "--db", "none", "--mqtt", broker.url) as run:
            await eventually(
                lambda: get_retained(broker.port, "cleanroom/room-1/availability"), timeout_s=60, what="online"
            )
            broker.stop()
            await run.ticks_for(3.0)
            run.shunt.unplug()  # an alert raised while the broker is away is delivered when it returns
            await eventually(lambda: _has(run, "shunt_stale"), timeout_s=60, what="shunt_stale raised")
            broker.start()
            await eventually(
                lambda: _retained_has(broker.port, "cleanroom/room-1/alerts", b"shunt_stale"),
                timeout_s=60,
                what="shunt_stale in the retained alerts once the broker is back",
            )
            await run.ticks_for(14.0)
            timings = await run.stop()
    finally:
        broker.stop()
    _stopped_cleanly(run, timings)
    reasons = [line for line in run.stderr.splitlines() if "MQTT broker" in line]
    assert reasons
    assert "was lost" in reasons[0], reasons
    assert all("login" not in line for line in reasons), reasons
    assert run.stderr.count("MQTT connected to") >= 2


async def test_the_shunt_pseudo_terminal_vanishes(tmp_path: Path) -> None:
    async with running_daemon(tmp_path, "--db", "none", "--mqtt", "none") as run:
        await run.ticks_for(2.0)
        run.shunt.unplug()
        await eventually(lambda: _has(run, "shunt_stale"), timeout_s=60, what="shunt_stale raised")
        await run.ticks_for(18.0)
        timings = await run.stop()
    _stopped_cleanly(run, timings)


async def _has(run: Run, kind: str) -> bool:
    return kind in await run.alert_kinds()


async def _retained_has(port: int, topic: str, text: bytes) -> bool:
    return text in (await get_retained(port, topic) or b"")

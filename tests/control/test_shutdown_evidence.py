"""The configured shutdown action runs only on measured evidence: the shunt's own state of charge, or the
voltage under load at the cutoff; never because of a state of charge set by hand alone."""

from __future__ import annotations

from controller.commands import SetSoc
from controller.step import RunShutdown, SourcedCommand, initial_state, step
from tests.control.test_step import inputs, settings_for, shunt

SHUTDOWN: dict[str, dict[str, object]] = {"control": {"shutdown_soc": "5 %", "shutdown_command": ["/bin/true"]}}


def shutdowns(result: object) -> list[object]:
    return [e for e in result.effects if isinstance(e, RunShutdown)]  # type: ignore[attr-defined]


def test_a_manual_soc_alone_never_runs_the_shutdown_action() -> None:
    s = settings_for(SHUTDOWN)
    state = initial_state(s, 0.0, inputs(0.0).now_utc)
    healthy = shunt(0.0, volts=13.2, amps=-0.5, soc=None)
    manual = step(s, state, inputs(0.0, shunt=healthy, commands=(SourcedCommand("mqtt", SetSoc(2.0)),)))
    assert manual.command_results[0].accepted
    later = step(s, manual.state, inputs(10.0, shunt=shunt(10.0, volts=13.2, amps=-0.5, soc=None)))
    assert later.snapshot.soc_pct is not None
    assert later.snapshot.soc_pct <= 5.0
    assert not shutdowns(manual)
    assert not shutdowns(later)


def test_the_voltage_under_load_at_the_cutoff_is_evidence() -> None:
    s = settings_for(SHUTDOWN)
    state = initial_state(s, 0.0, inputs(0.0).now_utc)
    manual = step(s, state, inputs(0.0, shunt=shunt(0.0, soc=None), commands=(SourcedCommand("mqtt", SetSoc(2.0)),)))
    cutoff_v = s.battery.cutoff_v
    low = step(s, manual.state, inputs(10.0, shunt=shunt(10.0, volts=cutoff_v - 0.1, amps=-1.0, soc=None)))
    assert shutdowns(low) == [RunShutdown(("/bin/true",))]


def test_the_shunts_own_soc_is_evidence() -> None:
    s = settings_for(SHUTDOWN)
    state = initial_state(s, 0.0, inputs(0.0).now_utc)
    assert shutdowns(step(s, state, inputs(0.0, shunt=shunt(0.0, soc=4.0)))) == [RunShutdown(("/bin/true",))]

"""`cleanroom calibrate` on a purifier driven by its buttons: the session steps through the settings by
pressing (the real buttons driver through the gpiod fake), records each setting's watts and pressure, and
the driver's power check catches a missed press while the sweep runs."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from controller.calibration.session import CalibrationAborted, Devices
from controller.cli import main
from controller.sim.buttons import PressedPurifier, default_buttons, pressed_purifier
from tests.calibration.helpers import Rig, rig


def pressed_rig() -> tuple[Rig, PressedPurifier]:
    r = rig(30.0, 0.6)
    config = replace(default_buttons(r.config.fan), settle_s=3.0)
    pressed = pressed_purifier(r.sim.plant, r.config.fan, config, r.clock)
    r.devices = Devices(r.sim.shunt, r.sim.pressure, pressed.fan)
    return r, pressed


async def test_calibration_presses_through_every_setting_and_records_its_watts() -> None:
    r, pressed = pressed_rig()
    pressed.purifier.miss_next = 0
    result = await r.session().run()
    assert result.complete
    curve = r.config.fan.curve
    assert [s.setting for s in result.steps] == [p.setting for p in curve.points]
    for step, point in zip(result.steps, curve.points, strict=True):
        assert step.fan_w == pytest.approx(point.power_w, rel=0.03)
    assert pressed.fan.presses == 6 + 4, "off to 1..6 one press each, then round to the safe setting 3"
    assert pressed.purifier.setting == 3


async def test_a_missed_press_during_the_sweep_is_corrected_from_the_power() -> None:
    r, pressed = pressed_rig()
    original = pressed.fan.set_command

    async def set_command(command_pct: float) -> None:
        if pressed.fan.setting_for(command_pct) == 4 and pressed.purifier.missed == 0:
            pressed.purifier.miss_next = 1
        await original(command_pct)

    curve = r.config.fan.curve
    pressed.fan.set_command = set_command  # type: ignore[method-assign]
    result = await r.session().run()
    assert pressed.purifier.missed == 1
    assert pressed.fan.stats.counters["corrections"] == 1
    for step, point in zip(result.steps, curve.points, strict=True):
        assert step.fan_w == pytest.approx(point.power_w, rel=0.03)


async def test_a_purifier_whose_settings_do_not_rise_is_refused() -> None:
    r, pressed = pressed_rig()
    pressed.fan.signature = None
    pressed.purifier.miss_next = 0
    original = pressed.fan.set_command

    async def set_command(command_pct: float) -> None:
        if pressed.fan.setting_for(command_pct) == 4 and pressed.purifier.missed == 0:
            pressed.purifier.miss_next = 1
        await original(command_pct)

    pressed.fan.set_command = set_command  # type: ignore[method-assign]
    with pytest.raises(CalibrationAborted, match="missed a press"):
        await r.session().run()


def test_calibrate_sim_with_pressed_buttons_from_the_command_line(tmp_path: Path) -> None:
    output = tmp_path / "calibration.json"
    status = main(
        [
            "calibrate",
            "--sim",
            "--quiet",
            "--sim-standing-draw",
            "0.9 W",
            "--sim-fan-driver",
            "buttons",
            "--json",
            "--output",
            str(output),
        ]
    )
    assert status == 0
    saved = json.loads(output.read_text())
    watts = [step["fan_w"] for step in saved["steps"]]
    assert watts == sorted(watts)
    assert len(watts) == 6

"""The sysfs PWM fan driver against a sysfs-shaped folder with a fake kernel and fan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from drivers.base import DeviceState, DeviceUnavailable
from drivers.fakes.sysfs_pwm import PwmSysfsFake
from drivers.pwm import PwmFan, Tachometer, find_chip
from tests.eventually import eventually


@pytest.fixture
async def sysfs(tmp_path: Path) -> AsyncIterator[PwmSysfsFake]:
    fake = PwmSysfsFake(tmp_path / "class" / "pwm", device_name="1f00098000.pwm", chip_number=2)
    await fake.start()
    yield fake
    await fake.close()


def test_the_chip_is_found_by_its_device_name_not_its_number(tmp_path: Path) -> None:
    root = tmp_path / "class" / "pwm"
    PwmSysfsFake(root, device_name="1f0009c000.pwm", chip_number=0)
    PwmSysfsFake(root, device_name="1f00098000.pwm", chip_number=1)
    assert find_chip("1f00098000.pwm", root).name == "pwmchip1"
    assert find_chip("pwmchip0", root).name == "pwmchip0"
    with pytest.raises(DeviceUnavailable, match="several PWM chips"):
        find_chip("", root)
    with pytest.raises(DeviceUnavailable, match=r"1f0009c000\.pwm"):
        find_chip("nonexistent.pwm", root)


async def test_export_period_duty_and_enable_at_25_khz(sysfs: PwmSysfsFake) -> None:
    fan = PwmFan(chip="1f00098000.pwm", channel=1, sysfs_root=sysfs.root, refresh_s=0.02)
    await fan.start()
    try:
        assert sysfs.read(1, "period") == "40000"
        assert sysfs.read(1, "enable") == "1"
        await fan.set_command(62.5)
        assert sysfs.read(1, "duty_cycle") == "25000"
        assert sysfs.duty_pct(1) == pytest.approx(62.5)
        await fan.set_command(140)
        assert sysfs.read(1, "duty_cycle") == "40000"
        await fan.set_command(0)
        assert sysfs.read(1, "duty_cycle") == "0"
        reading = fan.latest()
        assert reading is not None
        assert reading.command_pct == 0
        assert reading.rpm is None
        assert fan.stats.state is DeviceState.OK
        assert sysfs.violations == []
        assert sysfs.exports == 1
    finally:
        await fan.close()


@pytest.mark.parametrize("polarity_supported", [True, False])
async def test_inverted_output_and_other_frequency(sysfs: PwmSysfsFake, polarity_supported: bool) -> None:
    sysfs.polarity_supported = polarity_supported
    fan = PwmFan(channel=0, frequency_hz=20_000, inverted=True, sysfs_root=sysfs.root)
    await fan.start()
    try:
        await fan.set_command(25)
        assert sysfs.read(0, "period") == "50000"
        if polarity_supported:  # the chip inverts
            assert sysfs.read(0, "polarity") == "inversed"
            assert sysfs.read(0, "duty_cycle") == "12500"
        else:  # the driver inverts
            assert sysfs.read(0, "duty_cycle") == "37500"
        # either way the pin is high 75 % of the time, which the inverting stage turns into 25 % for the fan
        assert sysfs.rpm(0) == pytest.approx(0.75 * sysfs.max_rpm)
    finally:
        await fan.close()


async def test_tachometer_rpm_and_stall_detection(sysfs: PwmSysfsFake) -> None:
    tach = Tachometer(sysfs.tach_path, kind="rpm", stall_rpm=150, stall_after_s=0.05)
    fan = PwmFan(chip="pwmchip2", channel=0, tachometer=tach, sysfs_root=sysfs.root, refresh_s=0.01)
    await fan.start()
    try:
        await fan.set_command(50)
        await eventually(lambda: (r := fan.latest()) is not None and (r.rpm or 0) > 1400, what="fan spinning")
        sysfs.stalled = True
        await eventually(lambda: (r := fan.latest()) is not None and r.stalled, what="stall detected")
        assert fan.stats.counters["stalls"] == 1
        sysfs.stalled = False
        await eventually(lambda: (r := fan.latest()) is not None and not r.stalled, what="turning again")
        await fan.set_command(5)  # below the stall threshold command: a slow fan is not a stall
        sysfs.stalled = True
        await eventually(lambda: (r := fan.latest()) is not None and r.rpm == 0, what="stopped")
        assert not fan.latest().stalled  # type: ignore[union-attr]
    finally:
        await fan.close()


async def test_pulse_counter_tachometer(tmp_path: Path) -> None:
    sysfs = PwmSysfsFake(tmp_path / "class" / "pwm", tach_kind="pulses", max_rpm=3000)
    clock_s = [0.0]
    tach = Tachometer(sysfs.tach_path, kind="pulses", pulses_per_rev=2)
    fan = PwmFan(tachometer=tach, sysfs_root=sysfs.root, clock=lambda: clock_s[0], export_timeout_s=1e9)
    await sysfs.start()
    await fan.start()
    try:
        await fan.set_command(100)
        for _ in range(3):
            sysfs.step(2.0)  # 3000 rpm for 2 s = 200 pulses
            clock_s[0] += 2.0
            await fan.refresh()
        reading = fan.latest()
        assert reading is not None
        assert reading.rpm == pytest.approx(3000, rel=0.02)
    finally:
        await fan.close()
        await sysfs.close()


async def test_a_vanished_channel_is_exported_again_and_the_command_restored(sysfs: PwmSysfsFake) -> None:
    fan = PwmFan(channel=3, sysfs_root=sysfs.root, refresh_s=0.01)
    await fan.start()
    try:
        await fan.set_command(30)
        sysfs.vanish(3)
        await eventually(lambda: fan.stats.reconnects >= 1, what="re-export")
        await eventually(lambda: sysfs.channel(3).exists() and sysfs.read(3, "duty_cycle") == "12000", what="restored")
        assert sysfs.exports == 2
        assert fan.stats.state is DeviceState.OK
    finally:
        await fan.close()


async def test_no_pwm_chip_is_unavailable_with_a_hint_and_never_raises(tmp_path: Path) -> None:
    fan = PwmFan(chip="1f00098000.pwm", sysfs_root=tmp_path / "nothing", refresh_s=0.01)
    await fan.start()
    try:
        await fan.set_command(50)
        assert fan.stats.state is DeviceState.UNAVAILABLE
        assert "dtoverlay=pwm" in (fan.stats.last_error or "")
        assert fan.latest() is None
    finally:
        await fan.close()

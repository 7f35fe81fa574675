"""The [devices] section: parsing, presets, errors that name the key, and the factory."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from controller.config.devices import parse_devices
from controller.config.reader import Table
from controller.devices import build_fan, build_pressure_sensor, build_shunt
from controller.errors import ConfigError
from drivers.config import (
    DevicesSection,
    ModbusFanConfig,
    ModbusPressureConfig,
    ModbusShuntConfig,
    PwmFanConfig,
    SdpConfig,
    Simulated,
    VEDirectConfig,
)
from drivers.modbus.devices import ModbusFan, ModbusPressureSensor, ModbusShunt
from drivers.pwm import PwmFan
from drivers.sdp import SdpSensor
from drivers.vedirect.driver import VEDirectShunt

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "deploy" / "config.example.toml"


def _parse(text: str) -> DevicesSection:
    data = tomllib.loads(text)
    return parse_devices(Table(data.get("devices", {}), "test.toml", "devices."))


def test_missing_roles_are_simulated() -> None:
    section = _parse("")
    assert section == DevicesSection(Simulated(), Simulated(), Simulated())
    with pytest.raises(ConfigError, match="cleanroom sim"):
        build_shunt(section)
    with pytest.raises(ConfigError, match=r"devices\.pressure\.driver"):
        build_pressure_sensor(section)
    with pytest.raises(ConfigError, match=r"devices\.fan\.driver"):
        build_fan(section)


def test_the_example_configuration_builds_every_driver() -> None:
    data = tomllib.loads(EXAMPLE.read_text())
    section = parse_devices(Table(data["devices"], str(EXAMPLE), "devices."))
    assert isinstance(section.shunt, VEDirectConfig)
    assert isinstance(section.pressure, SdpConfig)
    assert isinstance(section.fan, PwmFanConfig)
    assert section.fan.frequency_hz == 25_000
    assert isinstance(build_shunt(section), VEDirectShunt)
    assert isinstance(build_pressure_sensor(section), SdpSensor)
    assert isinstance(build_fan(section), PwmFan)


def test_modbus_roles_with_presets_and_overrides() -> None:
    section = _parse(
        """
        [devices.shunt]
        driver = "modbus"
        preset = "pzem-017"
        port = "/dev/cleanroom-rs485"
        device_id = 3
        poll_interval = "2 s"
        [devices.shunt.registers.current_a]
        address = 1
        function = "input"
        type = "int16"
        scale = 10
        unit = "mA"
        [devices.pressure]
        driver = "modbus"
        preset = "generic-rs485"
        transport = "tcp"
        host = "192.168.1.50"
        [devices.fan]
        driver = "modbus"
        preset = "waveshare-ao8"
        port = "/dev/cleanroom-rs485"
        full_raw = 5000
        """
    )
    shunt = section.shunt
    assert isinstance(shunt, ModbusShuntConfig)
    assert shunt.settings.stopbits == 2  # PZEM-017 is 8N2
    assert shunt.settings.device_id == 3
    assert shunt.polling.interval_s == 2.0
    assert shunt.map.registers["current_a"].factor == pytest.approx(0.01)
    assert shunt.map.registers["current_a"].type == "int16"
    assert shunt.map.registers["power_w"].word_order == "little"
    assert isinstance(section.pressure, ModbusPressureConfig)
    assert section.pressure.settings.transport == "tcp"
    assert section.pressure.map.unit_factors[1] == 1000.0
    assert isinstance(section.fan, ModbusFanConfig)
    assert section.fan.map.full_raw == 5000
    assert isinstance(build_shunt(section), ModbusShunt)
    assert isinstance(build_pressure_sensor(section), ModbusPressureSensor)
    assert isinstance(build_fan(section), ModbusFan)


def test_a_map_written_in_the_file_needs_no_preset() -> None:
    section = _parse(
        """
        [devices.pressure]
        driver = "modbus"
        port = "/dev/ttyUSB0"
        [devices.pressure.value]
        address = 22
        type = "float32"
        word_order = "little"
        unit = "kPa"
        [devices.pressure.unit_codes]
        "0" = "kPa"
        "12" = "Pa"
        [devices.pressure.unit_register]
        address = 3
        """
    )
    pressure = section.pressure
    assert isinstance(pressure, ModbusPressureConfig)
    assert pressure.map.value.factor == 1000.0
    assert pressure.map.unit_factors == {0: 1000.0, 12: 1.0}


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ('[devices.shunt]\ndriver = "victron"', "devices.shunt.driver", "victron-ble, solix, simulated"),
        ('[devices.shunt]\ndriver = "vedirect"', "devices.shunt.port", "a text"),
        ('[devices.shunt]\ndriver = "vedirect"\nport = "/dev/x"\nbaud = 19200', "devices.shunt.baud", "known key"),
        ('[devices.shunt]\ndriver = "modbus"\nport = "/dev/x"', "devices.shunt.registers.voltage_v", "preset"),
        ('[devices.shunt]\ndriver = "modbus"\npreset = "rbm500"', "devices.shunt.preset", "pzem-017"),
        ('[devices.shunt]\ndriver = "modbus"\npreset = "pzem-017"', "devices.shunt.port", "serial port"),
        (
            '[devices.shunt]\ndriver = "modbus"\npreset = "pzem-017"\nport = "/dev/x"\ntimeout = "5 Pa"',
            "devices.shunt.timeout",
            "duration",
        ),
        (
            '[devices.shunt]\ndriver = "modbus"\nport = "/dev/x"\n[devices.shunt.registers.voltage_v]\n'
            'address = 0\nunit = "A"',
            "devices.shunt.registers.voltage_v.unit",
            "voltage unit",
        ),
        (
            '[devices.shunt]\ndriver = "modbus"\nport = "/dev/x"\n[devices.shunt.registers.voltage_v]\naddress = 70000',
            "devices.shunt.registers.voltage_v.address",
            "65535",
        ),
        ('[devices.pressure]\ndriver = "sdp"\nmodel = "sdp600"', "devices.pressure.model", "sdp810-500"),
        (
            '[devices.pressure]\ndriver = "sdp"\nmodel = "sdp811-500"\naddress = 0x25',
            "devices.pressure.address",
            "0x26",
        ),
        ('[devices.pressure]\ndriver = "sdp"\nmodel = "sdp33"\naddress = 0x25', "devices.pressure.address", "0x23"),
        ('[devices.fan]\ndriver = "pwm"\nfrequency = "25 kPa"', "devices.fan.frequency", "frequency"),
        (
            '[devices.fan]\ndriver = "modbus"\npreset = "waveshare-ao8"\nport = "/dev/x"\nfull_raw = 0',
            "devices.fan.full_raw",
            "100 %",
        ),
        ('[devices.pressure]\ndriver = "modbus"\nport = "/dev/x"', "devices.pressure.value", "preset"),
        ('[devices.light]\ndriver = "pwm"', "devices.light", "known key"),
    ],
)
def test_bad_settings_name_the_key_the_value_and_the_expectation(text: str, key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _parse(text)
    message = str(caught.value)
    assert message.startswith("test.toml: ")
    assert key in message
    assert expected in message


def test_probe_help_names_every_shipped_preset(capsys: pytest.CaptureFixture[str]) -> None:
    from controller.cli import main
    from drivers.modbus.presets import FAN_PRESETS, PRESSURE_PRESETS, SHUNT_PRESETS

    with pytest.raises(SystemExit):
        main(["probe", "--help"])
    text = re.sub(r"-\s+", "-", capsys.readouterr().out)  # argparse wraps lines at hyphens
    for name in (*SHUNT_PRESETS, *PRESSURE_PRESETS, *FAN_PRESETS):
        assert name in text


def test_the_drivers_unit_tables_agree_with_pint() -> None:
    from controller import units
    from drivers.modbus.maps import PA_PER_UNIT_GENERIC
    from drivers.modbus.presets import SI_PER_UNIT

    for unit, pa in PA_PER_UNIT_GENERIC.items():
        assert pa == pytest.approx(units.parse(f"1 {unit}", units.PRESSURE), rel=1e-12), unit
    kinds = {"V": units.VOLTAGE, "A": units.CURRENT, "W": units.POWER, "Wh": units.ENERGY, "Ah": units.CHARGE}
    for unit, kind in kinds.items():
        assert SI_PER_UNIT[unit] == units.parse(f"1 {unit}", kind), unit
    assert SI_PER_UNIT["inWC"] == pytest.approx(units.parse("1 inWC", units.PRESSURE), rel=1e-12)


def test_presets_load_without_pint() -> None:
    code = "import sys, drivers.modbus.presets, drivers.factory; sys.exit('pint' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False, cwd=REPO).returncode == 0

"""deploy/config.example.toml is the build hardware.md recommends: the PWM chip and channel of the
recommended Pi, the inversion its transistor stage needs, the pressure sensor its bill of materials lists,
and the tachometer set-up it walks through (the shipped overlay compiles and counts the GPIO the header
table names). The guide and the README stand alone: nothing outside the repository, no leftover notes."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

from controller.config.loader import load_config
from drivers.config import PwmFanConfig, SdpConfig

REPO = Path(__file__).resolve().parents[2]
GUIDE = (REPO / "hardware.md").read_text(encoding="utf-8")
README = (REPO / "README.md").read_text(encoding="utf-8")
EXAMPLE = REPO / "deploy/config.example.toml"
OVERLAY = REPO / "deploy/overlays/cleanroom-tach.dts"


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_the_example_configures_the_recommended_pi_and_its_wiring() -> None:
    recommended = re.search(r"Choose a \*\*(Pi [^*]+)\*\*", GUIDE)
    assert recommended is not None
    pi = recommended.group(1)
    chips = re.search(r"`chip` names the PWM block \(([^)]*)\)", _flat(GUIDE))
    assert chips is not None
    chip = next(m.group(2) for m in re.finditer(r"([^:;]+): `([0-9a-f]+\.pwm)`", chips.group(1)) if pi in m.group(1))
    channel = re.search(r"GPIO18 is channel (\d) on a Pi 0-4", _flat(GUIDE))
    assert channel is not None
    fan = load_config(EXAMPLE).devices.fan
    assert isinstance(fan, PwmFanConfig)
    assert (fan.chip, fan.channel) == (chip, int(channel.group(1))), pi
    assert "so set `inverted = true` in `[devices.fan]`" in _flat(GUIDE)
    assert fan.inverted is True


def test_the_example_reads_the_sensor_the_bill_of_materials_lists() -> None:
    listed = re.search(r"\| pressure sensor \| Sensirion (SDP\d+)-(\d+)Pa", GUIDE)
    assert listed is not None
    pressure = load_config(EXAMPLE).devices.pressure
    assert isinstance(pressure, SdpConfig)
    assert pressure.model == f"{listed.group(1).lower()}-{listed.group(2)}"


def test_the_tachometer_steps_match_the_overlay_and_the_example(tmp_path: Path) -> None:
    header_row = next(line for line in GUIDE.splitlines() if line.startswith("| tach in"))
    gpio = re.search(r"GPIO(\d+)", header_row)
    assert gpio is not None
    source = OVERLAY.read_text(encoding="utf-8")
    assert f"brcm,pins = <{gpio.group(1)}>" in source
    assert f"gpios = <&gpio {gpio.group(1)} 0>" in source
    assert 'compatible = "interrupt-counter"' in source
    compiled = tmp_path / "cleanroom-tach.dtbo"
    subprocess.run(["dtc", "-@", "-q", "-I", "dts", "-O", "dtb", "-o", str(compiled), str(OVERLAY)], check=True)
    assert compiled.stat().st_size > 0
    steps = GUIDE.split("### The tachometer", 1)[1].split("\n### ", 1)[0]
    assert "dtc -@ -I dts -O dtb -o cleanroom-tach.dtbo deploy/overlays/cleanroom-tach.dts" in steps
    path = re.search(r'tach = "([^"]+)"', steps)
    assert path is not None
    example = EXAMPLE.read_text(encoding="utf-8")
    assert f'# tach = "{path.group(1)}"' in example
    assert '# tach_kind = "pulses"' in example
    table = tomllib.loads(example.replace('# tach = "', 'tach = "').replace('# tach_kind = "', 'tach_kind = "'))
    assert table["devices"]["fan"]["tach_kind"] == "pulses"


def test_the_bill_of_materials_has_what_the_recommended_build_plugs_together() -> None:
    parts = {
        line.split("|")[1].strip()
        for line in GUIDE.split("## Bill of materials", 1)[1].split("\n## ")[0].splitlines()
        if line.startswith("| ")
    }
    for part in ("the controller", "microSD card", "USB OTG adapter (Pi Zero 2 W)", "shunt", "pressure sensor"):
        assert part in parts, part
    prepare = GUIDE.split("## Prepare the Pi", 1)[1].split("\n## ", 1)[0]
    for step in ("Raspberry Pi OS Lite (64-bit)", "bookworm", "Raspberry Pi Imager", "Enable SSH", "rsync"):
        assert step in prepare, step


def test_the_documents_stand_alone() -> None:
    for name, text in (("hardware.md", GUIDE), ("README.md", README)):
        assert "../" not in text, name
        assert "shared/" not in text, name
        for leftover in ("TODO", "FIXME", "XXX", "as they land", "fills this guide"):
            assert leftover not in text, (name, leftover)
        for path in set(re.findall(r"`((?:deploy|tests|controller|drivers|web|bench)/[\w./-]+)`", text)):
            assert (REPO / path).exists(), (name, path)

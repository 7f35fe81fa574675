"""hardware.md stays true to the software: its "Which Pi" table is what `cleanroom plan` computes, and the
configuration keys it tells people to set exist in deploy/config.example.toml or the fan driver's table."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from controller.cli import main

REPO = Path(__file__).resolve().parents[2]
GUIDE = (REPO / "hardware.md").read_text()


def which_pi_rows() -> list[tuple[float, int, float]]:
    """(own draw W, clean air CFM, fixed setting 2 hours) from the guide's table."""
    section = GUIDE.split("## Which Pi", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 5 and cells[1].endswith(" W") and cells[1][0].isdigit():
            rows.append((float(cells[1].removesuffix(" W")), int(cells[3].removesuffix(" CFM")), float(cells[4][:-2])))
    return rows


def test_the_table_has_every_controller() -> None:
    assert [draw for draw, _, _ in which_pi_rows()] == [0.0, 0.6, 1.0, 2.7, 3.4]


@pytest.mark.parametrize(("draw_w", "cfm", "setting2_h"), which_pi_rows())
def test_which_pi_table_matches_the_planner(
    capsys: pytest.CaptureFixture[str], draw_w: float, cfm: int, setting2_h: float
) -> None:
    status = main(["plan", "--target", "7 days", "--controller-draw", f"{draw_w} W", "--json"])
    assert status == 0
    plan = json.loads(capsys.readouterr().out)
    assert round(plan["target"]["average_cfm"]) == cfm
    (setting2,) = (row for row in plan["settings"] if row["setting"] == "2")
    assert round(setting2["runtime_h"], 1) == pytest.approx(setting2_h, abs=0.1)


def test_configuration_keys_named_in_the_guide_exist() -> None:
    example = (REPO / "deploy/config.example.toml").read_text()
    for key in (
        "pressure_cap",
        "pressure_floor",
        "pressure_filter",
        "shutdown_soc",
        "shutdown_command",
        "controller_draw",
        "converter_efficiency",
        "min_duty",
        "kick_start",
        "leakage_c",
        "leakage_n",
        "curve",
    ):
        assert f"`{key}" in GUIDE, key
        assert re.search(rf"^#?\s*{key}\s*=", example, re.MULTILINE), f"{key} is not in config.example.toml"
    fan_table = (REPO / "controller/config/devices.py").read_text()
    for key in ("inverted", "frequency", "chip", "channel", "tach"):
        assert f'"{key}"' in fan_table, f"[devices.fan] has no {key}"


def test_the_guide_states_the_rules_the_issue_names() -> None:
    text = " ".join(GUIDE.split())
    assert "draw its air from **outside** the room" in text
    assert "current threshold** | **0.00 A**" in text
    assert "**1.00 to 1.02**" in text
    assert "4-wire PWM fan runs at full speed with no PWM signal" in text

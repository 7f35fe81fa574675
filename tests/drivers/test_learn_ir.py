"""`cleanroom learn-ir` as a user runs it, with the ir-ctl fake as the program: it records each button's
raw message, prints the [devices.fan.codes] to paste, and says what to check when nothing arrives."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLEANROOM = Path(sys.executable).with_name("cleanroom")
BUTTONS = ("1", "2", "off")
MESSAGE = "+9000 -4500 +560 -560 +560 -1690 +560 -560 +560 -1690 +560\n"


def setup(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    program = tmp_path / "ir-ctl"
    program.write_text(f'#!/bin/sh\ncd {REPO}\nexec {sys.executable} -m drivers.fakes.ir_ctl "$@"\n')
    program.chmod(program.stat().st_mode | stat.S_IEXEC)
    device = tmp_path / "lirc1"
    device.write_text("")
    remote = tmp_path / "remote.txt"
    remote.write_text(MESSAGE)
    return program, device, {**os.environ, "FAKE_IR_CTL_REMOTE": str(remote)}


def test_learn_ir_saves_codes_and_prints_the_table(tmp_path: Path) -> None:
    program, device, env = setup(tmp_path)
    codes = tmp_path / "codes"
    done = subprocess.run(
        [str(CLEANROOM), "learn-ir", "--ir-ctl", str(program), "--device", str(device), "--dir", str(codes), *BUTTONS],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("1", "2", "off"):
        assert (codes / f"{name}.ir").read_text() == MESSAGE
    assert "[devices.fan.codes]" in done.stdout
    assert f'"off" = "{(codes / "off.ir").resolve()}"' in done.stdout


def test_learn_ir_says_what_is_missing(tmp_path: Path) -> None:
    program, device, env = setup(tmp_path)
    no_device = subprocess.run(
        [str(CLEANROOM), "learn-ir", "--ir-ctl", str(program), "--device", str(tmp_path / "lirc7"), "1"],
        capture_output=True, text=True, env=env, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert no_device.returncode == 1
    assert "dtoverlay=gpio-ir" in no_device.stdout
    bad_name = subprocess.run(
        [str(CLEANROOM), "learn-ir", "--ir-ctl", str(program), "--device", str(device), "turbo"],
        capture_output=True, text=True, env=env, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert bad_name.returncode == 2
    assert "turbo" in bad_name.stderr
    no_tool = subprocess.run(
        [str(CLEANROOM), "learn-ir", "--ir-ctl", str(tmp_path / "nothing"), "--device", str(device), "1"],
        capture_output=True, text=True, env=env, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert no_tool.returncode == 1
    assert "install v4l-utils" in no_tool.stdout

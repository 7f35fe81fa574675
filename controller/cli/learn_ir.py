"""`cleanroom learn-ir`: record a purifier remote's codes once, with an IR receiver on the Pi, for the
`ir` fan driver (`[devices.fan] driver = "ir"`)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from controller.errors import ConfigError

EPILOG = """\
example:
  cleanroom learn-ir --device /dev/lirc1 --dir /var/lib/cleanroom/ir 1 2 3 off

For each button name, point the remote at the receiver and press that button once; its raw pulses and
spaces are saved as DIR/NAME.ir, and the [devices.fan.codes] lines to paste are printed at the end.
Names: the fan curve's settings ("1", "2", ...), "off", "power", "cycle", "up", "down". The receiver
needs dtoverlay=gpio-ir (ir-ctl's device is then a /dev/lircN; `ir-ctl --features -d /dev/lircN` says
which one receives and which one sends). Codes can also be typed in by hand as scancodes ("nec:0x40bf").
"""
NAMES = re.compile(r"^(\d{1,2}|off|power|cycle|up|down)$")
MIN_EDGES = 8


def _edges(text: str) -> int:
    return len(re.findall(r"[+-]?\d+", text))


async def _receive(ir_ctl: str, device: str, target: Path, timeout_s: float) -> str | None:
    """Record one message into target; None, or why it failed."""
    import asyncio

    from drivers.buttons.pressers import run_tool

    try:
        status, err = await asyncio.wait_for(
            run_tool([ir_ctl, f"--device={device}", f"--receive={target}", "--one-shot"]), timeout_s
        )
    except TimeoutError:
        return f"nothing received in {timeout_s:g} s (is the remote pointed at the receiver?)"
    if status == 127:
        return f"{ir_ctl} not found: install v4l-utils"
    if status != 0:
        return f"{ir_ctl} failed on {device}: {err or status} (receiver overlay: dtoverlay=gpio-ir)"
    return None


def _check(target: Path) -> str | None:
    if not target.is_file() or _edges(target.read_text()) < MIN_EDGES:
        return f"{target} holds no IR message (fewer than {MIN_EDGES} pulses and spaces)"
    return None


def run(args: argparse.Namespace) -> int:
    """Handler of `cleanroom learn-ir`."""
    import asyncio

    from controller import units

    for name in args.buttons:
        if not NAMES.match(name):
            raise ConfigError("command line", "BUTTON", name, 'a setting such as "2", or off, power, cycle, up, down')

    timeout_s = units.parse(args.timeout, units.DURATION)
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    learned: dict[str, Path] = {}
    for name in args.buttons:
        target = folder / f"{name}.ir"
        print(f"press {name!r} on the remote, pointed at the receiver ...", flush=True)
        problem = asyncio.run(_receive(args.ir_ctl, args.device, target, timeout_s)) or _check(target)
        if problem is not None:
            print(f"problem with {name!r}: {problem}")
            return 1
        learned[name] = target.resolve()
        print(f"  saved {target} ({_edges(target.read_text())} pulses and spaces)")
    print("\n[devices.fan.codes]")
    for name, path in learned.items():
        print(f'"{name}" = "{path}"')
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `learn-ir`."""
    parser = subparsers.add_parser(
        "learn-ir",
        help="record a purifier remote's codes for the ir fan driver",
        description="Record one IR message per button from the purifier's remote with the Pi's IR receiver "
        "(ir-ctl from v4l-utils), save each as a raw file, and print the [devices.fan.codes] to paste.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("buttons", nargs="+", metavar="BUTTON", help="the buttons to learn, e.g. 1 2 3 off")
    parser.add_argument("--device", default="/dev/lirc1", help="the receiving lirc device (default /dev/lirc1)")
    parser.add_argument("--dir", default="ir-codes", help="where to save the codes (default ./ir-codes)")
    parser.add_argument("--timeout", default="20 s", help='how long to wait for each press (default "20 s")')
    parser.add_argument("--ir-ctl", default="ir-ctl", help="the ir-ctl program (default: ir-ctl on PATH)")
    parser.set_defaults(handler=run)

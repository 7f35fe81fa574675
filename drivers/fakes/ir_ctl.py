"""A fake of `ir-ctl` (v4l-utils), the seam of the IR presser: the same options for sending
(--device, --scancode, --send) and for receiving one message (--receive=FILE --one-shot).

In process, `FakeIrCtl` is the driver's `run` callable: each code sent on an existing device reaches the
listeners (a simulated purifier's receiver). As a program (`python -m drivers.fakes.ir_ctl ...`, put on
the command line where `ir-ctl` would be) it appends what it sent to $FAKE_IR_CTL_LOG and, receiving,
copies the raw message in $FAKE_IR_CTL_REMOTE (what the remote "sends") to the file asked for.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path


def parser() -> argparse.ArgumentParser:
    """The subset of ir-ctl's options the project uses, spelled as ir-ctl spells them."""
    p = argparse.ArgumentParser(prog="ir-ctl", add_help=False)
    p.add_argument("-d", "--device", default="/dev/lirc0")
    p.add_argument("-S", "--scancode", action="append", default=[])
    p.add_argument("-s", "--send", action="append", default=[])
    p.add_argument("-r", "--receive", nargs="?", const="-")
    p.add_argument("-1", "--one-shot", action="store_true")
    p.add_argument("-f", "--features", action="store_true")
    return p


def sent_codes(argv: list[str]) -> tuple[str, list[str]]:
    """(device, codes) of a send command line: scancodes as written, raw files by their path."""
    args = parser().parse_args(argv)
    return args.device, [*args.scancode, *args.send]


class FakeIrCtl:
    """ir-ctl in process: `devices` are the lirc devices that exist; listeners hear every code sent."""

    def __init__(self, devices: tuple[str, ...] = ("/dev/lirc0",)) -> None:
        self.devices = set(devices)
        self.listeners: list[Callable[[str], None]] = []
        self.calls: list[list[str]] = []
        self.fail_next = 0

    async def __call__(self, argv: list[str]) -> tuple[int, str]:
        """Run one command line (argv[0] is the program)."""
        self.calls.append(argv)
        device, codes = sent_codes(argv[1:])
        if device not in self.devices:
            return 1, f"{device}: cannot open: No such file or directory"
        if self.fail_next > 0:
            self.fail_next -= 1
            return 1, f"{device}: failed to send: Input/output error"
        for code in codes:
            for listener in self.listeners:
                listener(code)
        return 0, ""


def main(argv: list[str] | None = None) -> int:
    """The fake as a program."""
    args = parser().parse_args(argv)
    if not os.path.exists(args.device):
        print(f"{args.device}: cannot open: No such file or directory", file=sys.stderr)
        return 1
    if args.receive is not None:
        remote = os.environ.get("FAKE_IR_CTL_REMOTE")
        if not remote or not Path(remote).is_file():
            print(f"{args.device}: no IR received", file=sys.stderr)
            return 1
        message = Path(remote).read_text()
        if args.receive == "-":
            sys.stdout.write(message)
        else:
            Path(args.receive).write_text(message)
        return 0
    log = os.environ.get("FAKE_IR_CTL_LOG")
    with open(log or os.devnull, "a") as out:
        for code in [*args.scancode, *args.send]:
            out.write(f"{args.device} {code}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

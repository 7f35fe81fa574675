"""deploy/udev/99-cleanroom-serial.rules: every rule, including the commented examples, has udev's syntax
(comma-separated KEY==value matches and KEY+=value assignments, udev(7)), and the names are the ones the
guide and the example configuration use.

udev 252 (Debian bookworm, this project's test machine) has no `udevadm verify` (systemd 255 added it), so
this parser stands in for it; test_parser_rejects_what_udev_rejects shows it is not a rubber stamp.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "deploy/udev/99-cleanroom-serial.rules"

MATCH_KEYS = {"ACTION", "SUBSYSTEM", "KERNEL", "KERNELS", "SUBSYSTEMS", "DRIVERS", "ATTRS", "ATTR", "ENV"}
ASSIGN_KEYS = {"SYMLINK", "MODE", "GROUP", "OWNER", "ENV", "TAG"}
TERM = re.compile(r'\s*(?P<key>[A-Z_]+)(?:\{(?P<attr>[A-Za-z0-9_.]+)\})?(?P<op>==|!=|\+=|-=|:=|=)"(?P<value>[^"]*)"\s*')
USB_ID = re.compile(r"^[0-9a-f]{4}$")


def parse_rule(line: str) -> list[tuple[str, str | None, str, str]]:
    """(key, attribute, operator, value) for each comma-separated term; AssertionError if malformed."""
    terms = []
    for raw in line.split(","):
        found = TERM.fullmatch(raw)
        assert found, f"not a udev term: {raw!r} in {line!r}"
        key, attr, op, value = found["key"], found["attr"], found["op"], found["value"]
        if op in ("==", "!="):
            assert key in MATCH_KEYS, f"{key} cannot be matched"
        else:
            assert key in ASSIGN_KEYS, f"{key} cannot be assigned"
        if key in ("ATTRS", "ATTR", "ENV"):
            assert attr, f"{key} needs {{attribute}}"
        if attr in ("idVendor", "idProduct"):
            assert USB_ID.match(value), f"{attr} must be 4 lowercase hex digits: {value!r}"
        terms.append((key, attr, op, value))
    return terms


def rules(include_examples: bool) -> list[list[tuple[str, str | None, str, str]]]:
    parsed = []
    for line in RULES.read_text().splitlines():
        text = line.strip()
        if text.startswith("# SUBSYSTEM=="):
            if not include_examples:
                continue
            text = text[2:]
        elif not text or text.startswith("#"):
            continue
        parsed.append(parse_rule(text))
    return parsed


def test_every_rule_and_example_parses() -> None:
    active = rules(include_examples=False)
    everything = rules(include_examples=True)
    assert len(active) == 1
    assert len(everything) == 6
    for rule in everything:
        assert rule[0] == ("SUBSYSTEM", None, "==", "tty")
        symlinks = [value for key, _, op, value in rule if key == "SYMLINK"]
        assert symlinks in (["cleanroom-shunt"], ["cleanroom-rs485"]), rule
        assert all(op == "+=" for key, _, op, _ in rule if key == "SYMLINK"), "SYMLINK= would drop by-id links"


def test_victron_cable_is_named_without_editing() -> None:
    (victron,) = rules(include_examples=False)
    attributes = {attr: value for key, attr, _, value in victron if key == "ATTRS"}
    assert attributes == {"idVendor": "0403", "idProduct": "6015", "product": "VE Direct cable"}


def test_examples_cover_ch340_and_ftdi_adapters() -> None:
    vendors = {
        (attrs.get("idVendor"), attrs.get("idProduct"))
        for attrs in ({attr: value for key, attr, _, value in rule if key == "ATTRS"} for rule in rules(True))
    }
    assert {("0403", "6015"), ("0403", "6001"), ("1a86", "7523"), ("10c4", "ea60")} <= vendors


def test_parser_rejects_what_udev_rejects() -> None:
    for broken in (
        'SUBSYSTEM=="tty", ATTRS{idVendor}=="403", SYMLINK+="x"',
        'SUBSYSTEM=="tty" ATTRS{idVendor}=="0403"',
        'SUBSYSTEM="tty", SYMLINK+="x"',
        'SUBSYSTEM=="tty", ATTRS=="0403"',
    ):
        try:
            parse_rule(broken)
        except AssertionError:
            continue
        raise AssertionError(f"accepted {broken!r}")

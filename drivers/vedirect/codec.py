"""The VE.Direct text protocol as pure functions, in three modules: `framer` (bytes -> checksummed blocks),
`decoder` (blocks -> SI values and readings) and `encoder` (SI values -> bytes, for the fakes).

This module gathers their names in one place for callers that use several parts (the driver, the fake,
the benchmark); new code may import the part it needs.
"""

from __future__ import annotations

from drivers.vedirect.decoder import (
    ALARM_REASONS,
    HISTORY,
    PRODUCTS,
    DecodedBlock,
    ReadingAssembler,
    alarm_reason_names,
    decode_block,
    to_reading,
)
from drivers.vedirect.encoder import battery_monitor_blocks, encode_block
from drivers.vedirect.framer import (
    HEX_MAX,
    LABEL_MAX,
    MAX_FIELDS,
    UNKNOWN,
    VALUE_MAX,
    Block,
    BlockParser,
    VEDirectError,
    parse_block,
    split_blocks,
)

__all__ = [
    "ALARM_REASONS",
    "HEX_MAX",
    "HISTORY",
    "LABEL_MAX",
    "MAX_FIELDS",
    "PRODUCTS",
    "UNKNOWN",
    "VALUE_MAX",
    "Block",
    "BlockParser",
    "DecodedBlock",
    "ReadingAssembler",
    "VEDirectError",
    "alarm_reason_names",
    "battery_monitor_blocks",
    "decode_block",
    "encode_block",
    "parse_block",
    "split_blocks",
    "to_reading",
]

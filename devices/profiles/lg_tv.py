"""LG TVs: RS-232C ``mc`` remote-key commands, or the same command bytes as NEC IR.

Over serial a key is ``mc <set id> <command byte>`` (``mc 01 44`` = OK); over IR it is the
NEC code of address 0x04 with that command (see ``devices.profiles.ir_codes``).
"""

from __future__ import annotations

from devices.keys import Key
from devices.profiles.ir_codes import LG_COMMANDS, LG_REMOTE


def mc_code(key: Key) -> str:
    """The ``mc`` data byte, two hex digits; ValueError for a key LG remotes lack."""
    if key not in LG_COMMANDS:
        raise ValueError(f"LG TVs have no {key.value} key")
    return f"{LG_COMMANDS[key]:02X}"


REMOTE = LG_REMOTE

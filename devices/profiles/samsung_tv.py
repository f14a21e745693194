"""Samsung TVs: EX-Link remote-key frames (``08 22 0D 00 00 <key>``) or Samsung32 IR."""

from __future__ import annotations

from devices.keys import Key
from devices.profiles.ir_codes import SAMSUNG_COMMANDS, SAMSUNG_REMOTE


def exlink_code(key: Key) -> str:
    """The EX-Link remote-key value, two hex digits; ValueError for a key Samsung lacks."""
    if key not in SAMSUNG_COMMANDS:
        raise ValueError(f"Samsung TVs have no {key.value} key")
    return f"{SAMSUNG_COMMANDS[key]:02X}"


REMOTE = SAMSUNG_REMOTE

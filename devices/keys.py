"""The one key vocabulary scenarios use, whatever the transport."""

from __future__ import annotations

from enum import StrEnum


class Key(StrEnum):
    """Remote-control keys. Each device profile maps them to its transport's codes."""

    PLAY = "PLAY"
    PAUSE = "PAUSE"
    PLAY_PAUSE = "PLAY_PAUSE"
    STOP = "STOP"
    UP = "UP"
    DOWN = "DOWN"
    LEFT = "LEFT"
    RIGHT = "RIGHT"
    OK = "OK"
    BACK = "BACK"
    HOME = "HOME"
    MENU = "MENU"
    FF = "FF"
    RW = "RW"
    CH_UP = "CH_UP"
    CH_DOWN = "CH_DOWN"
    VOL_UP = "VOL_UP"
    VOL_DOWN = "VOL_DOWN"
    MUTE = "MUTE"
    POWER = "POWER"
    DIGIT_0 = "0"
    DIGIT_1 = "1"
    DIGIT_2 = "2"
    DIGIT_3 = "3"
    DIGIT_4 = "4"
    DIGIT_5 = "5"
    DIGIT_6 = "6"
    DIGIT_7 = "7"
    DIGIT_8 = "8"
    DIGIT_9 = "9"

    @classmethod
    def parse(cls, name: str | Key) -> Key:
        """The key called ``name`` (case-insensitive); ValueError naming it otherwise."""
        if isinstance(name, Key):
            return name
        try:
            return cls(str(name).upper())
        except ValueError:
            known = ", ".join(k.value for k in cls)
            raise ValueError(f"unknown key {name!r} (known: {known})") from None

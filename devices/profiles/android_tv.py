"""Android TV / Fire TV: keys are Android ``KeyEvent`` codes sent with ``input keyevent``."""

from __future__ import annotations

from devices.keys import Key

KEYCODES: dict[Key, tuple[str, int]] = {
    Key.HOME: ("KEYCODE_HOME", 3),
    Key.BACK: ("KEYCODE_BACK", 4),
    Key.UP: ("KEYCODE_DPAD_UP", 19),
    Key.DOWN: ("KEYCODE_DPAD_DOWN", 20),
    Key.LEFT: ("KEYCODE_DPAD_LEFT", 21),
    Key.RIGHT: ("KEYCODE_DPAD_RIGHT", 22),
    Key.OK: ("KEYCODE_DPAD_CENTER", 23),
    Key.VOL_UP: ("KEYCODE_VOLUME_UP", 24),
    Key.VOL_DOWN: ("KEYCODE_VOLUME_DOWN", 25),
    Key.POWER: ("KEYCODE_POWER", 26),
    Key.MENU: ("KEYCODE_MENU", 82),
    Key.PLAY_PAUSE: ("KEYCODE_MEDIA_PLAY_PAUSE", 85),
    Key.STOP: ("KEYCODE_MEDIA_STOP", 86),
    Key.RW: ("KEYCODE_MEDIA_REWIND", 89),
    Key.FF: ("KEYCODE_MEDIA_FAST_FORWARD", 90),
    Key.MUTE: ("KEYCODE_VOLUME_MUTE", 164),
    Key.PLAY: ("KEYCODE_MEDIA_PLAY", 126),
    Key.PAUSE: ("KEYCODE_MEDIA_PAUSE", 127),
    Key.CH_UP: ("KEYCODE_CHANNEL_UP", 166),
    Key.CH_DOWN: ("KEYCODE_CHANNEL_DOWN", 167),
    **{Key(str(d)): (f"KEYCODE_{d}", 7 + d) for d in range(10)},
}
"""onglass key -> (Android keycode name, number), from the NDK's ``keycodes.h``."""

ALIASES: dict[str, Key] = {"KEYCODE_ENTER": Key.OK}
"""Other keycodes a device treats as one of ours (66 ENTER acts like DPAD_CENTER)."""

_BY_NAME = {name: key for key, (name, _) in KEYCODES.items()}
_BY_NUMBER = {number: key for key, (_, number) in KEYCODES.items()}
_BY_NUMBER[66] = Key.OK


def keycode(key: Key | str) -> str:
    """The Android keycode name for an onglass key, e.g. ``PLAY`` -> ``KEYCODE_MEDIA_PLAY``."""
    return KEYCODES[Key.parse(key)][0]


def key_for_keycode(code: str) -> Key:
    """The onglass key for a keycode given by name (``KEYCODE_DPAD_UP``, ``DPAD_UP``) or number."""
    text = code.strip().upper()
    if text.isdigit():
        if int(text) in _BY_NUMBER:
            return _BY_NUMBER[int(text)]
        raise ValueError(f"unsupported keycode {code!r}")
    name = text if text.startswith("KEYCODE_") else f"KEYCODE_{text}"
    if name in _BY_NAME:
        return _BY_NAME[name]
    if name in ALIASES:
        return ALIASES[name]
    raise ValueError(f"unsupported keycode {code!r}")

"""Roku players: keys are ECP key names sent with ``POST /keypress/<Key>``.

Roku's ``Play`` toggles play and pause, and Roku remotes have no stop key: ``STOP`` is
``Back``, which leaves the player. Digits are typed as literal characters (``Lit_5``).
"""

from __future__ import annotations

from devices.keys import Key

ECP_KEYS: dict[Key, str] = {
    Key.PLAY: "Play",
    Key.PAUSE: "Play",
    Key.PLAY_PAUSE: "Play",
    Key.STOP: "Back",
    Key.UP: "Up",
    Key.DOWN: "Down",
    Key.LEFT: "Left",
    Key.RIGHT: "Right",
    Key.OK: "Select",
    Key.BACK: "Back",
    Key.HOME: "Home",
    Key.MENU: "Info",
    Key.FF: "Fwd",
    Key.RW: "Rev",
    Key.CH_UP: "ChannelUp",
    Key.CH_DOWN: "ChannelDown",
    Key.VOL_UP: "VolumeUp",
    Key.VOL_DOWN: "VolumeDown",
    Key.MUTE: "VolumeMute",
    Key.POWER: "Power",
    **{Key(str(d)): f"Lit_{d}" for d in range(10)},
}
"""onglass key -> Roku ECP key name."""


def ecp_key(key: Key) -> str:
    """The ECP key name for an onglass key (``OK`` -> ``Select``)."""
    return ECP_KEYS[key]

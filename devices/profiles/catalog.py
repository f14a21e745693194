"""Which transports each device profile supports, and its key codes on each.

``keymap(profile, transport)`` gives the function a ``Device`` uses to turn an onglass key
into the transport's code: an Android keycode for ADB, a LIRC key name, Pronto hex for an
iTach, an ``mc`` byte for an LG set, an EX-Link value for a Samsung set, an ECP key name for
a Roku, a user-control code for CEC.
"""

from __future__ import annotations

from collections.abc import Callable

from devices.keys import Key
from devices.profiles import game_console, lg_tv, roku, samsung_tv, set_top_box
from devices.profiles.android_tv import keycode
from devices.profiles.ir_codes import IrRemote, lirc_name
from devices.transports.cec import user_control_code

TRANSPORT_KINDS = ("adb", "lirc", "itach", "serial_lg", "serial_samsung", "roku_ecp", "cec")

_IR = ("lirc", "itach")
PROFILE_TRANSPORTS: dict[str, tuple[str, ...]] = {
    "android_tv": ("adb", "cec"),
    "roku": ("roku_ecp",),
    "lg_tv": ("serial_lg", *_IR),
    "samsung_tv": ("serial_samsung", *_IR),
    "set_top_box": _IR,
    "game_console": (*_IR, "cec"),
}
"""Profile -> the transports it can be driven with (the first is its usual one)."""

IR_REMOTES: dict[str, IrRemote] = {
    "lg_tv": lg_tv.REMOTE,
    "samsung_tv": samsung_tv.REMOTE,
    "set_top_box": set_top_box.REMOTE,
    "game_console": game_console.REMOTE,
}

PROFILE_FOR_TRANSPORT = {
    "adb": "android_tv",
    "roku_ecp": "roku",
    "serial_lg": "lg_tv",
    "serial_samsung": "samsung_tv",
    "lirc": "set_top_box",
    "itach": "set_top_box",
    "cec": "game_console",
}
"""The profile the virtual device plays when driven over each transport."""


def keymap(profile: str, transport: str, remote: str | None = None) -> Callable[[Key], str]:
    """The key-code function for ``profile`` over ``transport``; ValueError if unsupported.

    ``remote``: the LIRC remote name the rig sets (None: the profile's built-in remote). With
    the built-in remote a key it lacks is a ValueError naming the profile and the key, as on
    every other transport; a remote of the lab's own is checked by lircd itself.
    """
    if profile not in PROFILE_TRANSPORTS:
        raise ValueError(f"unknown profile {profile!r} (known: {', '.join(PROFILE_TRANSPORTS)})")
    if transport not in PROFILE_TRANSPORTS[profile]:
        allowed = ", ".join(PROFILE_TRANSPORTS[profile])
        raise ValueError(f"profile {profile} is not driven over {transport} (only {allowed})")
    if transport == "adb":
        return keycode
    if transport == "roku_ecp":
        return roku.ecp_key
    if transport == "serial_lg":
        return lg_tv.mc_code
    if transport == "serial_samsung":
        return samsung_tv.exlink_code
    if transport == "cec":
        return user_control_code
    if transport == "lirc":
        if remote not in (None, "", default_remote(profile)):
            return lirc_name
        return _checked(profile, IR_REMOTES[profile], lirc_name)
    return _checked(profile, IR_REMOTES[profile], IR_REMOTES[profile].pronto)


def _checked(profile: str, remote: IrRemote, code: Callable[[Key], str]) -> Callable[[Key], str]:
    """``code`` after checking the profile's built-in remote has the key."""

    def checked(key: Key) -> str:
        if key not in remote.commands:
            raise ValueError(f"profile {profile}: remote {remote.name!r} has no {key.value} key")
        return code(key)

    return checked


def default_remote(profile: str) -> str:
    """The LIRC remote name of a profile's built-in IR codes ('' if it has none)."""
    remote = IR_REMOTES.get(profile)
    return remote.name if remote else ""

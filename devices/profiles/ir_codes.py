"""IR remotes: onglass keys -> LIRC key names and 32-bit codes, and Pronto hex for iTach.

Key names follow LIRC's namespace (the Linux input-event names, ``irrecord --list-namespace``),
so a lab's own ``lircd.conf`` usually already uses them. Command bytes of the LG remote are
the ones LG's RS-232C ``mc`` command takes (the same byte is the NEC command on address 0x04);
the Samsung remote is Samsung32 on address 0x07. Both tables are from public LG and Samsung
code lists (**inferred**: check them against your set's service manual). ``onglass-stb`` is the
virtual device's own remote: NEC address 0x01 with LG's command bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from devices import ir
from devices.keys import Key
from devices.transports.pronto import to_pronto

LIRC_NAMES: dict[Key, str] = {
    Key.PLAY: "KEY_PLAY",
    Key.PAUSE: "KEY_PAUSE",
    Key.PLAY_PAUSE: "KEY_PLAYPAUSE",
    Key.STOP: "KEY_STOP",
    Key.UP: "KEY_UP",
    Key.DOWN: "KEY_DOWN",
    Key.LEFT: "KEY_LEFT",
    Key.RIGHT: "KEY_RIGHT",
    Key.OK: "KEY_OK",
    Key.BACK: "KEY_BACK",
    Key.HOME: "KEY_HOME",
    Key.MENU: "KEY_MENU",
    Key.FF: "KEY_FASTFORWARD",
    Key.RW: "KEY_REWIND",
    Key.CH_UP: "KEY_CHANNELUP",
    Key.CH_DOWN: "KEY_CHANNELDOWN",
    Key.VOL_UP: "KEY_VOLUMEUP",
    Key.VOL_DOWN: "KEY_VOLUMEDOWN",
    Key.MUTE: "KEY_MUTE",
    Key.POWER: "KEY_POWER",
    **{Key(str(d)): f"KEY_{d}" for d in range(10)},
}
"""onglass key -> LIRC key name."""

LG_COMMANDS: dict[Key, int] = {
    Key.CH_UP: 0x00,
    Key.CH_DOWN: 0x01,
    Key.VOL_UP: 0x02,
    Key.VOL_DOWN: 0x03,
    Key.RIGHT: 0x06,
    Key.LEFT: 0x07,
    Key.POWER: 0x08,
    Key.MUTE: 0x09,
    **{Key(str(d)): 0x10 + d for d in range(10)},
    Key.BACK: 0x28,
    Key.UP: 0x40,
    Key.DOWN: 0x41,
    Key.MENU: 0x43,
    Key.OK: 0x44,
    Key.HOME: 0x7C,
    Key.FF: 0x8E,
    Key.RW: 0x8F,
    Key.PLAY: 0xB0,
    Key.STOP: 0xB1,
    Key.PAUSE: 0xBA,
}
"""LG remote command bytes (RS-232C ``mc`` data and NEC command); LG has no PLAY_PAUSE key."""

SAMSUNG_COMMANDS: dict[Key, int] = {
    Key.POWER: 0x02,
    Key.VOL_UP: 0x07,
    Key.VOL_DOWN: 0x0B,
    Key.MUTE: 0x0F,
    Key.CH_DOWN: 0x10,
    Key.CH_UP: 0x12,
    Key.MENU: 0x1A,
    Key.BACK: 0x58,
    Key.UP: 0x60,
    Key.DOWN: 0x61,
    Key.RIGHT: 0x62,
    Key.LEFT: 0x65,
    Key.OK: 0x68,
    Key.HOME: 0x79,
    Key.RW: 0x45,
    Key.STOP: 0x46,
    Key.PLAY: 0x47,
    Key.FF: 0x48,
    Key.PAUSE: 0x4A,
    Key.DIGIT_1: 0x04,
    Key.DIGIT_2: 0x05,
    Key.DIGIT_3: 0x06,
    Key.DIGIT_4: 0x08,
    Key.DIGIT_5: 0x09,
    Key.DIGIT_6: 0x0A,
    Key.DIGIT_7: 0x0C,
    Key.DIGIT_8: 0x0D,
    Key.DIGIT_9: 0x0E,
    Key.DIGIT_0: 0x11,
}
"""Samsung remote key codes (Samsung32 IR command and EX-Link ``0D`` remote-key value)."""


@dataclass(frozen=True)
class IrRemote:
    """One remote: its protocol, address and command byte per key."""

    name: str
    protocol: ir.IrProtocol
    address: int
    commands: dict[Key, int]

    def code(self, key: Key) -> int:
        """The 32-bit LIRC-order code of ``key``; ValueError if this remote lacks it."""
        if key not in self.commands:
            raise ValueError(f"remote {self.name!r} has no {key.value} key")
        command = self.commands[key]
        same = self.address if self.protocol is ir.SAMSUNG32 else None
        return ir.nec_code(self.address, command, same)

    def timings(self, key: Key) -> list[int]:
        """Pulse/space durations (us) of one frame of ``key``."""
        return ir.encode(self.code(key), self.protocol)

    def pronto(self, key: Key) -> str:
        """Pronto hex of ``key`` (what an iTach's ``sendir`` is made from)."""
        timings = self.timings(key)
        return to_pronto(timings, ir.CARRIER_HZ, ir.frame_gap_us(timings))

    def lircd_conf(self) -> str:
        """This remote as a ``lircd.conf`` block (what lircd needs to send it)."""
        header = f"{self.protocol.header_pulse_us} {self.protocol.header_space_us}"
        lines = [
            "begin remote",
            f"  name       {self.name}",
            "  bits       32",
            "  flags      SPACE_ENC|CONST_LENGTH",
            "  eps        30",
            "  aeps       100",
            f"  header     {header}",
            f"  one        {ir.BIT_PULSE_US} {ir.ONE_SPACE_US}",
            f"  zero       {ir.BIT_PULSE_US} {ir.ZERO_SPACE_US}",
            f"  ptrail     {ir.BIT_PULSE_US}",
        ]
        if self.protocol is ir.NEC:
            lines.append(f"  repeat     {ir.NEC.header_pulse_us} 2250")
        lines += [f"  gap        {ir.FRAME_PERIOD_US}", f"  frequency  {ir.CARRIER_HZ}"]
        lines.append("  begin codes")
        lines += [f"    {LIRC_NAMES[k]:<18} 0x{self.code(k):08X}" for k in self.commands]
        lines += ["  end codes", "end remote", ""]
        return "\n".join(lines)


LG_REMOTE = IrRemote("lg-tv", ir.NEC, 0x04, LG_COMMANDS)
SAMSUNG_REMOTE = IrRemote("samsung-tv", ir.SAMSUNG32, 0x07, SAMSUNG_COMMANDS)
STB_REMOTE = IrRemote("onglass-stb", ir.NEC, 0x01, LG_COMMANDS)
REMOTES = {r.name: r for r in (LG_REMOTE, SAMSUNG_REMOTE, STB_REMOTE)}


def key_for_code(protocol: ir.IrProtocol, code: int) -> tuple[IrRemote, Key] | None:
    """Which known remote and key a decoded frame is, or None."""
    for remote in REMOTES.values():
        if remote.protocol is not protocol:
            continue
        for key in remote.commands:
            if remote.code(key) == code:
                return remote, key
    return None


def lirc_name(key: Key) -> str:
    """The LIRC key name for an onglass key (``OK`` -> ``KEY_OK``)."""
    return LIRC_NAMES[key]


def key_for_lirc_name(name: str) -> Key:
    """The onglass key for a LIRC key name; ValueError naming it otherwise."""
    for key, lirc in LIRC_NAMES.items():
        if lirc == name:
            return key
    raise ValueError(f"unknown LIRC key name {name!r}")

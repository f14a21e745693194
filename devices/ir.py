"""Consumer-IR frames as pulse/space timings: encode and decode NEC and Samsung32.

Both protocols send 32 bits as pulse-distance coding after a header: a 562 us pulse, then a
562 us space for 0 or a 1687 us space for 1, then a 562 us trailing pulse. NEC's header is a
9000 us pulse and 4500 us space, Samsung32's 4500 us and 4500 us. Codes are written the way
LIRC's ``lircd.conf`` writes them (``bits 32``, no ``REVERSE`` flag): the most significant bit
is sent first, so ``0x20DF10EF`` is LG's address 0x04 and command 0x08 each bit-reversed.

Timings are microseconds; a frame is a list of alternating pulse, space, pulse ... durations.
"""

from __future__ import annotations

from dataclasses import dataclass

BIT_PULSE_US = 562
ZERO_SPACE_US = 562
ONE_SPACE_US = 1687
CARRIER_HZ = 38_000
FRAME_PERIOD_US = 108_000
"""NEC repeats a held key every 108 ms, start to start."""
TOLERANCE = 0.35
"""A decoded duration may differ from the nominal one by this fraction (IR receivers and
lircd's drivers round and stretch pulses)."""


@dataclass(frozen=True)
class IrProtocol:
    """Header timings of one pulse-distance protocol, in microseconds."""

    name: str
    header_pulse_us: int
    header_space_us: int


NEC = IrProtocol("nec", 9000, 4500)
SAMSUNG32 = IrProtocol("samsung32", 4500, 4500)
PROTOCOLS = {p.name: p for p in (NEC, SAMSUNG32)}


def reverse8(value: int) -> int:
    """``value``'s 8 bits in reverse order (IR sends each byte LSB first)."""
    return int(f"{value & 0xFF:08b}"[::-1], 2)


def nec_code(address: int, command: int, address2: int | None = None) -> int:
    """The 32-bit LIRC-order code for an address and command byte.

    ``address2`` is the second address byte (NEC: its inverse, the default; Samsung32: the
    address again).
    """
    a2 = (~address & 0xFF) if address2 is None else address2
    return (
        (reverse8(address) << 24)
        | (reverse8(a2) << 16)
        | (reverse8(command) << 8)
        | reverse8(~command & 0xFF)
    )


def encode(code: int, protocol: IrProtocol = NEC) -> list[int]:
    """One frame's pulse/space durations (us) for a 32-bit code, ending on the trail pulse."""
    timings = [protocol.header_pulse_us, protocol.header_space_us]
    for bit in range(31, -1, -1):
        timings += [BIT_PULSE_US, ONE_SPACE_US if code >> bit & 1 else ZERO_SPACE_US]
    timings.append(BIT_PULSE_US)
    return timings


def frame_gap_us(timings: list[int]) -> int:
    """The space after a frame that keeps the NEC 108 ms frame period."""
    return max(FRAME_PERIOD_US - sum(timings), 10_000)


def _near(value: int, nominal: int) -> bool:
    return abs(value - nominal) <= nominal * TOLERANCE


@dataclass(frozen=True)
class DecodedFrame:
    """A decoded frame: the protocol and the 32-bit code, or a repeat marker (code None)."""

    protocol: IrProtocol
    code: int | None


class FrameDecoder:
    """Feeds on a stream of (is_pulse, microseconds) and yields frames as they complete.

    Anything that is not a well-formed header + 32 bits + trail pulse is dropped; an NEC
    repeat frame (9000 pulse, 2250 space, trail) is reported with ``code=None``.
    """

    def __init__(self) -> None:
        self._timings: list[int] = []
        self._expect_pulse = True

    def feed(self, is_pulse: bool, duration_us: int) -> DecodedFrame | None:
        """One duration; returns a frame when this duration completes one."""
        if is_pulse != self._expect_pulse:  # two pulses or two spaces in a row: resync
            if is_pulse:
                self._timings = []
            else:
                return None
        self._expect_pulse = not is_pulse
        if not self._timings and not (is_pulse and duration_us > 2000):
            return None  # frames start with a long header pulse
        self._timings.append(duration_us)
        frame = self._try_decode()
        if frame is not None or len(self._timings) > 67:
            self._timings = []
            self._expect_pulse = True
        return frame

    def _try_decode(self) -> DecodedFrame | None:
        t = self._timings
        protocol = next((p for p in PROTOCOLS.values() if _near(t[0], p.header_pulse_us)), None)
        if protocol is None:
            self._timings = []
            return None
        if len(t) == 3 and protocol is NEC and _near(t[1], 2250) and _near(t[2], BIT_PULSE_US):
            return DecodedFrame(NEC, None)
        if len(t) < 67:
            return None
        if not _near(t[1], protocol.header_space_us):
            return None
        code = 0
        for i in range(32):
            pulse, space = t[2 + 2 * i], t[3 + 2 * i]
            if not _near(pulse, BIT_PULSE_US):
                return None
            if _near(space, ONE_SPACE_US):
                code = code << 1 | 1
            elif _near(space, ZERO_SPACE_US):
                code <<= 1
            else:
                return None
        if not _near(t[66], BIT_PULSE_US):
            return None
        return DecodedFrame(protocol, code)


def decode(timings: list[int]) -> list[DecodedFrame]:
    """Every frame in alternating pulse/space durations (us), starting with a pulse."""
    decoder = FrameDecoder()
    frames = []
    for i, value in enumerate(timings):
        frame = decoder.feed(i % 2 == 0, value)
        if frame is not None:
            frames.append(frame)
    return frames

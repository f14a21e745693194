"""The virtual device's fault schedule: ``kind@start+duration[:value]``, comma-separated.

Times count from the start of playback of a title (seconds of output since PLAY first
started it, pauses included) and take ``s`` or ``ms`` (a bare number is seconds):
``freeze@8s+2s,black@15s+1s``, ``drop@5s+1s:3``, ``av_offset@0s+30s:120ms``.
The same string works for ``pytest --sim-faults`` and ``onglass sim --faults``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FAULT_KINDS: dict[str, str] = {
    "freeze": "the picture holds its last frame; audio goes on",
    "black": "the picture is black; audio goes on",
    "drop": "every VALUE-th frame (default 5) is skipped: the next one comes early and shows twice",
    "repeat": "every VALUE-th frame (default 5) shows the previous one again; its own is skipped",
    "cadence": "the pacing breaks into judder: each frame shows twice and the next is skipped",
    "av_offset": "the sound is VALUE (e.g. 120ms) early against the picture; negative: late",
    "av_drift": "the sound drifts VALUE per minute (e.g. 40ms) earlier from the window's start;"
    " negative: later",
    "dropout": "the sound drops to digital silence (e.g. dropout@5s+80ms)",
    "hum": "50 Hz mains hum with harmonics is added at VALUE dBFS RMS (default -40db)",
    "hiss": "white noise is added at VALUE dBFS RMS (default -45db)",
    "clicks": "VALUE clicks per second (default 8) of 0.3 full-scale impulses are added",
    "distortion": "the sound is overdriven by VALUE dB (default 40db) and clipped at full scale",
    "block": "block corruption (displaced, flat, smeared or wrong-colour blocks, a new pattern"
    " each frame) over VALUE of the picture (default 15%)",
}
"""Fault kinds the virtual device knows, with what each does to the output."""

_TIME = r"(-?\d+(?:\.\d+)?)(ms|s)?"
_FAULT = re.compile(rf"^(?P<kind>[a-z_]+)@{_TIME}\+{_TIME}(?::(?P<value>[^,]+))?$")
_VALUE = re.compile(r"^(-?\d+(?:\.\d+)?)(ms|s|db|%)?$", re.IGNORECASE)


class FaultSpecError(ValueError):
    """A fault schedule string is malformed; the message quotes the bad part."""


@dataclass(frozen=True)
class Fault:
    """One scheduled fault.

    Attributes:
        kind: one of ``FAULT_KINDS``.
        start_s: seconds from the start of playback.
        duration_s: length in seconds.
        value: optional magnitude in base units (seconds for ``ms``/``s``, dB, a ratio for
            ``%``, else the plain number).
    """

    kind: str
    start_s: float
    duration_s: float
    value: float | None = None

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    def active(self, t: float) -> bool:
        """Whether playback time ``t`` (seconds) lies in this fault's window (to 1 µs)."""
        return self.start_s - 1e-6 <= t < self.end_s - 1e-6


def _plain(number: float) -> str:
    """``number`` in plain decimal notation (never exponent form), shortest exact."""
    return (
        format(number, "f").rstrip("0").rstrip(".") if number != int(number) else str(int(number))
    )


def _seconds(number: str, unit: str | None) -> float:
    return float(number) / 1000.0 if unit == "ms" else float(number)


def _parse_value(text: str, where: str) -> float:
    match = _VALUE.match(text.strip())
    if not match:
        raise FaultSpecError(f"{where}: value {text!r} is not a number with an optional unit")
    number, unit = match.groups()
    unit = (unit or "").lower()
    if unit in ("ms", "s"):
        return _seconds(number, unit)
    if unit == "%":
        return float(number) / 100.0
    return float(number)


@dataclass(frozen=True)
class FaultSchedule:
    """The faults a virtual device plays, in any order; empty means a clean device."""

    faults: tuple[Fault, ...] = ()

    @classmethod
    def parse(cls, spec: str | None, known_kinds: dict[str, str] | None = None) -> FaultSchedule:
        """Parse ``kind@start+duration[:value],...``; FaultSpecError names the bad item."""
        kinds = known_kinds or FAULT_KINDS
        faults = []
        for item in (spec or "").split(","):
            item = item.strip()
            if not item:
                continue
            match = _FAULT.match(item)
            if not match:
                raise FaultSpecError(
                    f"fault {item!r}: expected kind@start+duration[:value], e.g. freeze@8s+2s"
                )
            kind = match["kind"]
            if kind not in kinds:
                raise FaultSpecError(
                    f"fault {item!r}: unknown kind {kind!r} (known: {', '.join(sorted(kinds))})"
                )
            start = _seconds(match.group(2), match.group(3))
            duration = _seconds(match.group(4), match.group(5))
            if start < 0:
                raise FaultSpecError(f"fault {item!r}: start must be >= 0 s")
            if duration <= 0:
                raise FaultSpecError(f"fault {item!r}: duration must be > 0 s")
            value = _parse_value(match["value"], f"fault {item!r}") if match["value"] else None
            faults.append(Fault(kind, start, duration, value))
        return cls(tuple(faults))

    def active(self, kind: str, t: float) -> Fault | None:
        """The fault of ``kind`` active at playback time ``t`` seconds, if any."""
        for fault in self.faults:
            if fault.kind == kind and fault.active(t):
                return fault
        return None

    def __str__(self) -> str:
        parts = []
        for f in self.faults:
            value = "" if f.value is None else f":{_plain(f.value)}"
            parts.append(f"{f.kind}@{_plain(f.start_s)}s+{_plain(f.duration_s)}s{value}")
        return ",".join(parts)

    def __bool__(self) -> bool:
        return bool(self.faults)

"""Pronto hex (learned, modulated: ``0000 FFFF N1 N2 ...``) <-> timings and iTach ``sendir``.

A Pronto word ``FFFF`` gives the carrier: frequency = 1 000 000 / (FFFF x 0.241246) Hz.
``N1`` burst pairs are sent once, ``N2`` pairs repeat while the key is held. Burst values
are carrier cycles, the unit ``sendir`` takes too, so they copy across unchanged; ``sendir``'s
offset (the 1-based index where repeats restart) is 2 x N1 + 1 when there is a repeat part.
"""

from __future__ import annotations

from dataclasses import dataclass

PRONTO_CLOCK_US = 0.241246
"""Duration of one Pronto clock tick in microseconds."""


class ProntoError(ValueError):
    """A Pronto hex string that cannot be read; the message says what is wrong."""


@dataclass(frozen=True)
class ProntoCode:
    """A learned IR code: carrier in Hz and burst pairs in carrier cycles."""

    frequency_hz: int
    once: tuple[int, ...]
    repeat: tuple[int, ...]

    @property
    def cycles(self) -> tuple[int, ...]:
        """All bursts, the once part then the repeat part."""
        return self.once + self.repeat

    def timings_us(self) -> list[int]:
        """The once part (or, with none, the repeat part) as microseconds."""
        bursts = self.once or self.repeat
        return [round(c * 1_000_000 / self.frequency_hz) for c in bursts]

    @property
    def offset(self) -> int:
        """``sendir``'s 1-based index of the first repeated burst (1: the whole code repeats)."""
        return len(self.once) + 1 if self.repeat and self.once else 1

    def sendir(self, connector: str, ident: int, repeat: int = 1) -> str:
        """The iTach ``sendir`` command for this code (without the trailing ``\\r``)."""
        values = ",".join(str(c) for c in self.cycles)
        return f"sendir,{connector},{ident},{self.frequency_hz},{repeat},{self.offset},{values}"


def parse_pronto(text: str) -> ProntoCode:
    """Read a learned Pronto hex code; ``ProntoError`` naming the problem otherwise."""
    words = text.split()
    try:
        values = [int(w, 16) for w in words]
    except ValueError:
        raise ProntoError(f"pronto code {text[:40]!r}...: words must be 4-digit hex") from None
    if len(values) < 4:
        raise ProntoError(f"pronto code {text[:40]!r}: shorter than its 4-word preamble")
    kind, freq_word, n1, n2 = values[:4]
    if kind != 0x0000:
        raise ProntoError(f"pronto code: type {kind:04X} unsupported (only 0000, learned)")
    if freq_word == 0:
        raise ProntoError("pronto code: carrier word is 0")
    bursts = values[4:]
    if len(bursts) != 2 * (n1 + n2):
        raise ProntoError(
            f"pronto code: preamble announces {n1}+{n2} pairs, found {len(bursts) / 2:g}"
        )
    frequency = round(1_000_000 / (freq_word * PRONTO_CLOCK_US))
    return ProntoCode(frequency, tuple(bursts[: 2 * n1]), tuple(bursts[2 * n1 :]))


def to_pronto(timings_us: list[int], frequency_hz: int, gap_us: int) -> str:
    """Pronto hex for a once-sent frame: ``timings_us`` (ending on a pulse) then ``gap_us``."""
    period_us = 1_000_000 / frequency_hz
    freq_word = round(1_000_000 / (frequency_hz * PRONTO_CLOCK_US))
    bursts = [max(1, round(t / period_us)) for t in [*timings_us, gap_us]]
    if len(bursts) % 2:
        raise ValueError("timings must end on a pulse (an odd count) before the gap")
    words = [0, freq_word, len(bursts) // 2, 0, *bursts]
    return " ".join(f"{w:04X}" for w in words)

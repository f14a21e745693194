"""``loudness``: EBU R128 loudness on the timeline, with an optional sudden-jump check.

Measurement (ITU-R BS.1770-4 / EBU Tech 3341): each channel goes through the K-weighting
filter (a high-shelf "pre-filter" then the RLB high-pass, the standard's two biquads at
48 kHz; other rates are resampled to 48 kHz first), its mean square is taken over 100 ms
blocks, and loudness is ``-0.691 + 10 log10(sum of channel mean squares)`` in LUFS (channel
weights 1.0: mono and stereo). From the 100 ms blocks:

* momentary loudness: the last 400 ms (4 blocks), every 100 ms;
* short-term loudness: the last 3 s (30 blocks), every 100 ms;
* integrated loudness: the 400 ms blocks gated twice, first at -70 LUFS (absolute), then
  at 10 LU below the loudness of what passed the first gate (relative).

A 1 kHz stereo sine of -23 dBFS peak per channel reads -23.0 LUFS (EBU Tech 3341 test 1).

The jump check (off by default: ``max_jump_lu`` 0) reports a sudden rise: momentary loudness
more than ``max_jump_lu`` above the short-term loudness of the 3 s before it (a loud
advert after a quiet scene), when every 100 ms of those 3 s was above the -70 LUFS gate
(sound starting after silence or a pause is not a jump). The measured series is ``timeline``
(for reports) and the integrated value ``integrated_lufs()``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.signal import lfilter, resample_poly

from detectors.event import Event
from detectors.media import AudioChunk, VideoFrame
from detectors.settings import require

K_RATE = 48_000
"""Sample rate, in Hz, of the BS.1770 filter coefficients below."""
PRE_FILTER = (
    (1.53512485958697, -2.69169618940638, 1.19839281085285),
    (1.0, -1.69065929318241, 0.73248077421585),
)
"""BS.1770 stage 1 (high shelf, about +4 dB above 2 kHz) at 48 kHz: (b, a)."""
RLB_FILTER = ((1.0, -2.0, 1.0), (1.0, -1.99004745483398, 0.99007225036621))
"""BS.1770 stage 2 (revised low-frequency B-weighting high-pass) at 48 kHz: (b, a)."""
BLOCK_S = 0.1
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0


def lufs(mean_square_sum: float) -> float:
    """Loudness in LUFS of a sum of channel mean squares (-inf for silence)."""
    return -math.inf if mean_square_sum <= 0 else -0.691 + 10.0 * math.log10(mean_square_sum)


def k_weight(samples: np.ndarray, rate: int) -> np.ndarray:
    """K-weighted ``samples`` (frames, channels) at 48 kHz (one-shot, no streaming state)."""
    stream = KWeighting(samples.shape[1] if samples.ndim == 2 else 1)
    return stream.process(samples if samples.ndim == 2 else samples[:, None], rate)


class KWeighting:
    """The K-weighting filter for a stream, keeping the filter state between chunks."""

    def __init__(self, channels: int) -> None:
        self.channels = channels
        self._state = [np.zeros((channels, 2)), np.zeros((channels, 2))]  # filters at rest

    def process(self, samples: np.ndarray, rate: int) -> np.ndarray:
        """(frames, channels) float samples at ``rate`` -> K-weighted, at 48 kHz."""
        x = samples.astype(np.float64)
        if rate != K_RATE:
            divisor = math.gcd(rate, K_RATE)
            x = resample_poly(x, K_RATE // divisor, rate // divisor, axis=0)
        x = x.T  # (channels, frames)
        for stage, (b, a) in enumerate((PRE_FILTER, RLB_FILTER)):
            x, self._state[stage] = lfilter(b, a, x, axis=1, zi=self._state[stage])
        return x.T


@dataclass(frozen=True)
class LoudnessSettings:
    """Settings of the loudness detector."""

    max_jump_lu: float = 0.0
    """Report momentary loudness this many LU above the preceding 3 s short-term loudness;
    0 turns the jump check off (the default: programme audio legitimately jumps)."""
    min_jump_s: float = 0.3
    """Shortest jump, in seconds, that is reported."""

    def __post_init__(self) -> None:
        require(self.max_jump_lu >= 0, "max_jump_lu", f"must be >= 0 LU, got {self.max_jump_lu}")
        require(self.min_jump_s >= 0, "min_jump_s", f"must be >= 0 seconds, got {self.min_jump_s}")


class LoudnessDetector:
    """Streaming EBU R128 meter and jump check; see the module docstring."""

    name: ClassVar[str] = "loudness"
    consumes: ClassVar[frozenset[str]] = frozenset({"audio"})
    Settings: ClassVar[type[LoudnessSettings]] = LoudnessSettings

    def __init__(self, settings: LoudnessSettings | None = None) -> None:
        self.settings = settings or LoudnessSettings()
        self._filter: KWeighting | None = None
        self._block = int(BLOCK_S * K_RATE)
        self._pending = np.zeros((0, 1))
        self._t0: float | None = None
        self._blocks: list[float] = []  # sum over channels of each 100 ms block's mean square
        self.timeline: list[dict[str, float | None]] = []
        """One entry per 100 ms: ``t`` (end of the block, seconds), ``momentary_lufs``,
        ``short_term_lufs`` (None while below measurable level)."""
        self._jump_start: float | None = None
        self._jump_peak = (0.0, 0.0, 0.0)  # (excess LU, momentary, short-term before)

    def feed(self, item: VideoFrame | AudioChunk) -> list[Event]:
        if not isinstance(item, AudioChunk) or item.samples.size == 0:
            return []
        samples = item.samples if item.samples.ndim == 2 else item.samples[:, None]
        if self._filter is None or self._filter.channels != samples.shape[1]:
            self._filter = KWeighting(samples.shape[1])
            self._pending = np.zeros((0, samples.shape[1]))
            self._t0 = item.t - len(self._blocks) * BLOCK_S
        weighted = np.concatenate([self._pending, self._filter.process(samples, item.rate)])
        count = len(weighted) // self._block
        events: list[Event] = []
        for i in range(count):
            block = weighted[i * self._block : (i + 1) * self._block]
            self._blocks.append(float(np.mean(np.square(block), axis=0).sum()))
            events += self._measure()
        self._pending = weighted[count * self._block :]
        return events

    def _mean(self, blocks: int, end: int | None = None) -> float:
        end = len(self._blocks) if end is None else end
        if end < blocks:
            return -math.inf
        return lufs(float(np.mean(self._blocks[end - blocks : end])))

    def _measure(self) -> list[Event]:
        assert self._t0 is not None
        t = self._t0 + len(self._blocks) * BLOCK_S
        momentary, short = self._mean(4), self._mean(30)
        self.timeline.append(
            {
                "t": round(t, 3),
                "momentary_lufs": None if momentary == -math.inf else round(momentary, 2),
                "short_term_lufs": None if short == -math.inf else round(short, 2),
            }
        )
        if self.settings.max_jump_lu <= 0:
            return []
        end = len(self._blocks) - 4
        before = self._mean(30, end)
        sounding = end >= 30 and min(self._blocks[end - 30 : end]) > 0
        sounding = sounding and lufs(min(self._blocks[end - 30 : end])) > ABSOLUTE_GATE_LUFS
        excess = momentary - before
        if sounding and excess > self.settings.max_jump_lu:
            if self._jump_start is None:
                self._jump_start, self._jump_peak = t - 4 * BLOCK_S, (excess, momentary, before)
            elif excess > self._jump_peak[0]:
                self._jump_peak = (excess, momentary, before)
            return []
        return self._close_jump(t)

    def _close_jump(self, end: float) -> list[Event]:
        start, self._jump_start = self._jump_start, None
        if start is None or end - start < self.settings.min_jump_s:
            return []
        excess, momentary, before = self._jump_peak
        details = {
            "jump_lu": round(excess, 2),
            "momentary_lufs": round(momentary, 2),
            "preceding_short_term_lufs": round(before, 2),
            "max_jump_lu": self.settings.max_jump_lu,
        }
        score = min(1.0, excess / (2 * self.settings.max_jump_lu))
        return [Event(self.name, start, end, score, details)]

    def flush(self) -> list[Event]:
        if self._t0 is None:
            return []
        return self._close_jump(self._t0 + len(self._blocks) * BLOCK_S)

    def integrated_lufs(self) -> float:
        """Gated integrated loudness, in LUFS, of everything fed so far (-inf if none passes)."""
        gating = [float(np.mean(self._blocks[i - 4 : i])) for i in range(4, len(self._blocks) + 1)]
        passed = [m for m in gating if lufs(m) > ABSOLUTE_GATE_LUFS]
        if not passed:
            return -math.inf
        relative = lufs(float(np.mean(passed))) + RELATIVE_GATE_LU
        kept = [m for m in passed if lufs(m) > relative]
        return lufs(float(np.mean(kept)))

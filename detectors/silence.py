"""``silence``: the sound drops out or goes mute.

Algorithm (after FFmpeg ``silencedetect``, tuned for dropouts): the audio is cut into
consecutive windows of ``window_s``; a window is silent on a channel when its RMS level is
below ``threshold_dbfs``. With ``channels: all`` a window is silent when every channel is
(the whole output dropped out); with ``channels: any`` when at least one is (one channel
lost, e.g. a broken left/right leg). A run of silent windows lasting at least
``min_duration_s`` is an event, from its first silent window to the first sounding one.

Defaults against FFmpeg: silencedetect's ``noise`` -60 dB and ``d`` 2 s find long silences
between programmes. A dropout (lost packets, buffer underrun) lasts 20-100 ms and falls to
digital zero, far below any recording's noise floor, so onglass looks for *very* low level
(-70 dBFS, under the quietest passages of real programme audio, whose room tone and
reverb tails sit around -60..-50 dBFS) over *short* spans (20 ms, in 5 ms windows). Natural
pauses in speech and music keep their noise floor and stay above the threshold; a
scripted mute or a paused player is digital silence and *is* reported: the scenario declares
it expected (``monitor.expect("silence")``; a pause's ``expect("still")`` covers it too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from detectors.event import Event
from detectors.media import AudioChunk, VideoFrame
from detectors.settings import require

CHANNEL_MODES = ("all", "any")


@dataclass(frozen=True)
class SilenceSettings:
    """Thresholds of the silence detector."""

    threshold_dbfs: float = -70.0
    """RMS level, in dBFS, below which a window is silent (FFmpeg silencedetect: -60 dB)."""
    min_duration_s: float = 0.02
    """Shortest silent run, in seconds, that is reported (FFmpeg silencedetect: 2 s)."""
    window_s: float = 0.005
    """Length, in seconds, of the windows whose RMS level is measured."""
    channels: str = "all"
    """``all``: silent when every channel is below the threshold; ``any``: when one is."""
    report_leading: bool = False
    """Report silence from the stream's first sample on (before any sound; off: the sound
    has not started yet, e.g. an AAC encoder's priming at the start of a file)."""

    def __post_init__(self) -> None:
        require(
            -150.0 <= self.threshold_dbfs < 0.0,
            "threshold_dbfs",
            f"must be in [-150, 0) dBFS, got {self.threshold_dbfs}",
        )
        require(
            self.min_duration_s > 0,
            "min_duration_s",
            f"must be > 0 seconds, got {self.min_duration_s}",
        )
        require(
            0.0005 <= self.window_s <= self.min_duration_s,
            "window_s",
            f"must be in [0.0005, min_duration_s] seconds, got {self.window_s}",
        )
        require(
            self.channels in CHANNEL_MODES,
            "channels",
            f"expected one of {', '.join(CHANNEL_MODES)}, got {self.channels!r}",
        )


class SilenceDetector:
    """Streaming dropout / mute detector; see the module docstring for the algorithm."""

    name: ClassVar[str] = "silence"
    consumes: ClassVar[frozenset[str]] = frozenset({"audio"})
    Settings: ClassVar[type[SilenceSettings]] = SilenceSettings

    def __init__(self, settings: SilenceSettings | None = None) -> None:
        self.settings = settings or SilenceSettings()
        self._pending: np.ndarray | None = None  # samples not yet filling a whole window
        self._pending_t = 0.0
        self._rate = 0
        self._run_start: float | None = None
        self._run_loudest = -np.inf
        self._run_channels: set[int] = set()
        self._last_end: float | None = None
        self._heard = False  # some window so far was not silent

    def feed(self, item: VideoFrame | AudioChunk) -> list[Event]:
        if not isinstance(item, AudioChunk) or item.samples.size == 0:
            return []
        samples = item.samples if item.samples.ndim == 2 else item.samples[:, None]
        events: list[Event] = []
        contiguous = (
            self._pending is not None
            and item.rate == self._rate
            and abs(item.t - (self._pending_t + len(self._pending) / self._rate)) < 0.01
        )
        if contiguous:
            assert self._pending is not None
            samples = np.concatenate([self._pending, samples])
        else:  # first chunk, a capture gap or a new rate: measure afresh from here
            if self._last_end is not None:
                events += self._close_run(self._last_end)
            self._pending_t, self._rate = item.t, item.rate
        window = max(1, round(self.settings.window_s * self._rate))
        count = len(samples) // window
        if count:
            blocks = samples[: count * window].reshape(count, window, samples.shape[1])
            power = np.mean(np.square(blocks, dtype=np.float64), axis=1)  # (count, channels)
            level = 10.0 * np.log10(np.maximum(power, 1e-20))
            quiet = level < self.settings.threshold_dbfs
            silent = quiet.all(axis=1) if self.settings.channels == "all" else quiet.any(axis=1)
            for i in range(count):
                start = self._pending_t + i * window / self._rate
                if silent[i]:
                    if self._run_start is None:
                        self._run_start, self._run_loudest = start, -np.inf
                        self._run_channels = set()
                    self._run_loudest = max(self._run_loudest, float(level[i][quiet[i]].max()))
                    self._run_channels |= {int(c) for c in np.flatnonzero(quiet[i])}
                else:
                    events += self._close_run(start)
                    self._heard = True
        self._pending = samples[count * window :]
        self._pending_t += count * window / self._rate
        self._last_end = self._pending_t
        return events

    def flush(self) -> list[Event]:
        return [] if self._last_end is None else self._close_run(self._last_end)

    def _close_run(self, end: float) -> list[Event]:
        start, self._run_start = self._run_start, None
        if start is None or end - start < self.settings.min_duration_s - 1e-9:
            return []
        if not self._heard and not self.settings.report_leading:
            return []
        loudest = None if not np.isfinite(self._run_loudest) else round(self._run_loudest, 1)
        details = {
            "duration_s": round(end - start, 4),
            "max_level_dbfs": loudest,
            "channels": sorted(self._run_channels),
            "threshold_dbfs": self.settings.threshold_dbfs,
        }
        return [Event(self.name, start, end, 1.0, details)]

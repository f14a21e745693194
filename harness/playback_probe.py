"""Is the device playing? Motion in the picture and sound in the audio, on the timeline.

Fed like a detector (on its own monitor worker), it never reports events; the monitor asks
it when motion and sound first appeared after a given capture time.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from detectors.event import Event
from detectors.luma import mean_absolute_difference
from detectors.media import AudioChunk, VideoFrame


@dataclass(frozen=True)
class ProbeSettings:
    """Thresholds of the playback probe."""

    motion_threshold: float = 0.0005
    """Frame-to-frame MAFD (fraction of full scale) above which a frame moved."""
    motion_frames: int = 5
    """Moving frames among ``motion_window`` consecutive ones that make "moving picture"."""
    motion_window: int = 6
    """Frames in the sliding window that ``motion_frames`` counts in."""
    audio_floor_dbfs: float = -70.0
    """Audio chunk RMS, in dBFS, above which the device is making sound."""


class PlaybackProbe:
    """Tracks first motion and first sound; thread-safe queries, fed from one worker."""

    name: ClassVar[str] = "playback_probe"
    consumes: ClassVar[frozenset[str]] = frozenset({"video", "audio"})

    def __init__(self, settings: ProbeSettings | None = None) -> None:
        self.settings = settings or ProbeSettings()
        self._previous: np.ndarray | None = None
        self._recent: deque[tuple[float, bool]] = deque(maxlen=self.settings.motion_window)
        self._motion_starts: list[float] = []
        self._sound: list[float] = []
        self._lock = threading.Condition()

    def feed(self, item: VideoFrame | AudioChunk) -> list[Event]:
        if isinstance(item, VideoFrame):
            self._feed_video(item)
        else:
            self._feed_audio(item)
        return []

    def flush(self) -> list[Event]:
        return []

    def _feed_video(self, frame: VideoFrame) -> None:
        thumb = frame.thumbnail()
        moved = (
            self._previous is not None
            and self._previous.shape == thumb.shape
            and mean_absolute_difference(thumb, self._previous) > self.settings.motion_threshold
        )
        self._previous = thumb
        self._recent.append((frame.t, moved))
        if sum(m for _, m in self._recent) >= self.settings.motion_frames:
            # motion starts after the window's last still frame: an earlier lone change
            # (a menu switching to the player) is not playback
            recent = list(self._recent)
            last_still = max((i for i, (_, m) in enumerate(recent) if not m), default=-1)
            first = recent[last_still + 1][0]
            with self._lock:
                if not self._motion_starts or first > self._motion_starts[-1]:
                    self._motion_starts.append(first)
                self._lock.notify_all()
            self._recent.clear()

    def _feed_audio(self, chunk: AudioChunk) -> None:
        if chunk.samples.size == 0:
            return
        rms = float(np.sqrt(np.mean(np.square(chunk.samples, dtype=np.float64))))
        if 20 * np.log10(rms + 1e-12) > self.settings.audio_floor_dbfs:
            with self._lock:
                self._sound.append(chunk.t)
                self._lock.notify_all()

    def first_motion_after(self, t: float) -> float | None:
        """Capture time of the first moving frame at or after ``t`` (seconds), if seen yet."""
        with self._lock:
            return next((m for m in self._motion_starts if m >= t), None)

    def first_sound_after(self, t: float) -> float | None:
        """Capture time of the first audible chunk at or after ``t`` (seconds), if heard yet."""
        with self._lock:
            return next((s for s in self._sound if s >= t), None)

    def wait(self, timeout_s: float) -> None:
        """Sleep until something new was seen, or ``timeout_s`` seconds."""
        with self._lock:
            self._lock.wait(timeout_s)

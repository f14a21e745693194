"""Capture-health counters: was the harness's own view of the device complete?"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class CaptureHealth:
    """Counters a capture keeps while it runs; read them from any thread.

    Attributes:
        video_frames: video frames delivered.
        audio_chunks: audio chunks delivered.
        missing_frames: frame slots lost by the capture (gaps in ``n``).
        gaps: (t seconds, frames missing) for each gap in ``n``.
        stalls: (t seconds, length in seconds) for each time no video arrived for longer
            than the capture's stall threshold.
        decode_errors: packets the decoder rejected.
        reconnects: times a live capture reopened its source.
    """

    video_frames: int = 0
    audio_chunks: int = 0
    missing_frames: int = 0
    gaps: list[tuple[float, int]] = field(default_factory=list)
    stalls: list[tuple[float, float]] = field(default_factory=list)
    decode_errors: int = 0
    reconnects: int = 0
    details: dict = field(default_factory=dict)
    """Backend-specific measurements: a sound device's overruns, clock drift (ppm) and timing
    source, a card's late frames."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record_gap(self, t: float, missing: int) -> None:
        with self._lock:
            self.missing_frames += missing
            self.gaps.append((t, missing))

    def record_stall(self, t: float, seconds: float) -> None:
        with self._lock:
            self.stalls.append((t, seconds))

    def update_details(self, values: dict) -> None:
        """Merge backend measurements into ``details`` (from any thread)."""
        with self._lock:
            self.details.update(values)

    def as_dict(self) -> dict:
        """JSON-ready summary."""
        with self._lock:
            return {
                "video_frames": self.video_frames,
                "audio_chunks": self.audio_chunks,
                "missing_frames": self.missing_frames,
                "gaps": [[round(t, 3), n] for t, n in self.gaps],
                "stalls": [[round(t, 3), round(s, 3)] for t, s in self.stalls],
                "decode_errors": self.decode_errors,
                "reconnects": self.reconnects,
                **self.details,
            }

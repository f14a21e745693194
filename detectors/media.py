"""The two things a capture delivers, on one timeline.

``t`` is seconds on the capture's timeline: video and audio share the same clock, so an
audio sample and a video frame with the same ``t`` left the device at the same moment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class VideoFrame:
    """One captured video frame.

    Attributes:
        t: presentation time in seconds on the capture timeline.
        n: the capture's own sequence number (frame slots at the nominal rate). A gap in ``n``
            is a frame the *capture* lost, never a device stutter.
        image: BGR pixels, ``uint8`` array of shape (height, width, 3).
    """

    t: float
    n: int
    image: np.ndarray

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """A run of captured audio samples.

    Attributes:
        t: time in seconds of the first sample on the capture timeline.
        samples: ``float32`` array of shape (frames, channels), full scale is +-1.0.
        rate: sample rate in Hz.
    """

    t: float
    samples: np.ndarray
    rate: int

    @property
    def duration(self) -> float:
        """Length of the chunk in seconds."""
        return self.samples.shape[0] / self.rate

    @property
    def end(self) -> float:
        """Time in seconds just after the last sample."""
        return self.t + self.duration

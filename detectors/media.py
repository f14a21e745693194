"""The two things a capture delivers, on one timeline.

``t`` is seconds on the capture's timeline: video and audio share the same clock, so an
audio sample and a video frame with the same ``t`` left the device at the same moment.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from detectors.luma import limited_to_full_range, luma_thumbnail


class VideoFrame:
    """One captured video frame.

    Attributes:
        t: presentation time in seconds on the capture timeline.
        n: the capture's own sequence number (frame slots at the nominal rate). A gap in ``n``
            is a frame the *capture* lost, never a device stutter.
        image: BGR pixels, ``uint8`` array of shape (height, width, 3).
        luma: full-resolution, full-range luma (grey), ``uint8`` array (height, width).

    A capture may hand over the luma plane it decoded (``limited_range=True`` when it holds
    video levels 16..235) and a way to make the BGR image on demand: most detectors only
    look at luma, so the colour conversion is skipped unless something (evidence, a colour
    detector) asks for ``image``. Conversions are cached.
    """

    __slots__ = (
        "t",
        "n",
        "_image",
        "_load_image",
        "_luma",
        "_limited",
        "_thumbnail",
        "_lock",
        "__weakref__",
    )

    def __init__(
        self,
        t: float,
        n: int,
        image: np.ndarray | None = None,
        *,
        luma: np.ndarray | None = None,
        limited_range: bool = False,
        load_image: Callable[[], np.ndarray] | None = None,
    ) -> None:
        if image is None and load_image is None:
            raise ValueError("VideoFrame needs an image or a way to load it")
        self.t, self.n = t, n
        self._image, self._load_image, self._luma = image, load_image, luma
        self._limited = luma is not None and limited_range
        self._thumbnail: np.ndarray | None = None
        self._lock = threading.Lock()  # detectors on several threads share one frame

    @property
    def image(self) -> np.ndarray:
        with self._lock:
            if self._image is None:
                assert self._load_image is not None
                self._image, self._load_image = self._load_image(), None
            return self._image

    @property
    def luma(self) -> np.ndarray:
        if self._luma is None:
            image = self.image
            with self._lock:
                if self._luma is None:
                    self._luma = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        with self._lock:
            if self._limited:
                self._luma, self._limited = limited_to_full_range(self._luma), False
            return self._luma

    def thumbnail(self) -> np.ndarray:
        """The shared luma thumbnail the picture detectors compare (``detectors.luma``)."""
        if self._thumbnail is None:
            with self._lock:
                raw, limited = self._luma, self._limited
            if raw is not None and limited:  # stretch the small picture, not the big one
                small = limited_to_full_range(luma_thumbnail(raw))
            else:
                small = luma_thumbnail(self.luma)
            with self._lock:
                if self._thumbnail is None:
                    self._thumbnail = small
        return self._thumbnail

    @property
    def height(self) -> int:
        return int((self._luma if self._luma is not None else self.image).shape[0])

    @property
    def width(self) -> int:
        return int((self._luma if self._luma is not None else self.image).shape[1])

    def __repr__(self) -> str:
        return f"VideoFrame(t={self.t:.3f}, n={self.n})"


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

    def mono(self) -> np.ndarray:
        """The channels averaged: ``float32`` samples, shape (frames,). A matrix-vector
        product, about ten times faster than ``mean(axis=1)`` on a video frame's worth.
        One-channel float32 input comes back as ``samples`` itself: do not write to it."""
        samples = self.samples.astype(np.float32, copy=False)
        if samples.ndim == 1:
            return samples
        return samples @ np.full(samples.shape[1], 1.0 / samples.shape[1], np.float32)

"""``black``: the picture goes black.

Algorithm (after FFmpeg ``blackdetect``): a luma pixel is black when it is at most
``pixel_threshold`` of full scale; a frame is black when the share of black pixels is at
least ``picture_threshold``. A run of black frames lasting at least ``min_duration_s`` is an
event, from the first black frame to the first non-black one. Because it is a *ratio*, a
small logo or subtitle on black still counts as black (stb-tester's ``max(pixel)`` does not).
Black also means *uniform*: when the black pixels' own standard deviation on the thumbnail
exceeds ``max_texture``, the frame is a dark but textured scene, not a black frame (the
thumbnail averages grain and capture noise away, scene texture survives it). Letterbox bars
are not black frames: the picture between them keeps the ratio far below 0.98.

Defaults against FFmpeg: ``pixel_threshold`` 0.10 and ``picture_threshold`` 0.98 are
blackdetect's ``pix_th`` and ``pic_th``; FFmpeg's ``d`` is 2 s, ours is one frame. Frames are
measured on full-range luma (the capture converts limited-range video to full range first).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from detectors.event import Event
from detectors.luma import luma_thumbnail
from detectors.media import AudioChunk, VideoFrame
from detectors.settings import require


@dataclass(frozen=True)
class BlackSettings:
    """Thresholds of the black detector."""

    pixel_threshold: float = 0.10
    """Luma at or below this fraction of full scale (0..1) is a black pixel (FFmpeg pix_th)."""
    picture_threshold: float = 0.98
    """Share of black pixels (0..1) that makes a frame black (FFmpeg pic_th)."""
    min_duration_s: float = 0.04
    """Shortest black run, in seconds, reported (0.04 s: a single black frame at 25 fps is a
    visible flash). FFmpeg default: 2 s."""
    max_texture: float = 0.008
    """Largest standard deviation (0..1 of full scale) of the black pixels for a black frame;
    above it the frame is a dark textured scene."""

    def __post_init__(self) -> None:
        require(
            0.0 <= self.pixel_threshold < 1.0,
            "pixel_threshold",
            f"must be in [0, 1), got {self.pixel_threshold}",
        )
        require(
            0.0 < self.picture_threshold <= 1.0,
            "picture_threshold",
            f"must be in (0, 1], got {self.picture_threshold}",
        )
        require(
            0.0 < self.max_texture < 1.0,
            "max_texture",
            f"must be in (0, 1), got {self.max_texture}",
        )
        require(
            self.min_duration_s > 0,
            "min_duration_s",
            f"must be > 0 seconds, got {self.min_duration_s}",
        )


class BlackDetector:
    """Streaming black-frame detector; see the module docstring for the algorithm."""

    name: ClassVar[str] = "black"
    consumes: ClassVar[frozenset[str]] = frozenset({"video"})
    Settings: ClassVar[type[BlackSettings]] = BlackSettings

    def __init__(self, settings: BlackSettings | None = None) -> None:
        self.settings = settings or BlackSettings()
        self._level = int(self.settings.pixel_threshold * 255)
        self._run_start: float | None = None
        self._run_min_ratio = 1.0
        self._last_t: float | None = None
        self._frame_interval = 0.04

    def black_ratio(self, image: np.ndarray) -> float:
        """Share (0..1) of pixels of ``image`` (BGR, grey, or a frame's luma thumbnail) at or
        below the pixel threshold, or 0.0 when those pixels are textured (a dark scene)."""
        thumb = luma_thumbnail(image)
        black = thumb[thumb <= self._level]
        if black.size and float(black.std()) / 255.0 > self.settings.max_texture:
            return 0.0
        return float(black.size) / thumb.size

    def feed(self, item: VideoFrame | AudioChunk) -> list[Event]:
        if not isinstance(item, VideoFrame):
            return []
        if self._last_t is not None and item.t > self._last_t:
            self._frame_interval = item.t - self._last_t
        self._last_t = item.t
        ratio = self.black_ratio(item.thumbnail())
        if ratio >= self.settings.picture_threshold:
            if self._run_start is None:
                self._run_start = item.t
                self._run_min_ratio = ratio
            else:
                self._run_min_ratio = min(self._run_min_ratio, ratio)
            return []
        return self._close_run(item.t)

    def flush(self) -> list[Event]:
        if self._last_t is None:
            return []
        return self._close_run(self._last_t + self._frame_interval)

    def _close_run(self, end: float) -> list[Event]:
        start, self._run_start = self._run_start, None
        if start is None or end - start < self.settings.min_duration_s:
            return []
        details = {
            "duration_s": round(end - start, 4),
            "min_black_ratio": round(self._run_min_ratio, 4),
            "pixel_threshold": self.settings.pixel_threshold,
            "picture_threshold": self.settings.picture_threshold,
        }
        return [Event(self.name, start, end, self._run_min_ratio, details)]

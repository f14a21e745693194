"""The luma thumbnail the picture detectors compare: grey, area-downscaled.

Downscaling by area averages out capture noise and makes per-frame work small; detectors
that compare pictures (freeze, motion) and measure darkness (black) all use this one.
"""

from __future__ import annotations

import cv2
import numpy as np

THUMBNAIL_WIDTH = 80
"""Width in pixels of the thumbnail; height keeps the aspect ratio."""


AREA_PIXELS = 8
"""Each thumbnail pixel averages about this many source pixels across (and down): larger
pictures are first subsampled so that 640x360 and 1080p average alike, and cost alike."""

_LIMITED_TO_FULL = np.clip((np.arange(256) - 16) * 255.0 / 219.0 + 0.5, 0, 255).astype(np.uint8)


def luma_thumbnail(image: np.ndarray, width: int = THUMBNAIL_WIDTH) -> np.ndarray:
    """Grey (BT.601 luma) version of a BGR or grey ``image``, area-downscaled to ``width``
    pixels. Detectors use ``VideoFrame.thumbnail()``, which computes this once per frame."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    height, full_width = grey.shape
    if full_width <= width:
        return grey
    step = max(1, full_width // (width * AREA_PIXELS))
    if step > 1:
        grey = np.ascontiguousarray(grey[::step, ::step])
    size = (width, max(1, round(height * width / full_width)))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)


def limited_to_full_range(luma: np.ndarray) -> np.ndarray:
    """Video (limited, 16..235) luma stretched to full range (0..255)."""
    return cv2.LUT(luma, _LIMITED_TO_FULL)


def mean_absolute_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute pixel difference of two luma images, as a fraction of full scale (0..1).

    This is FFmpeg freezedetect's MAFD for 8-bit luma.
    """
    return float(cv2.absdiff(a, b).mean()) / 255.0

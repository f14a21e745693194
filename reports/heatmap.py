"""Block-corruption heatmaps: the detector's per-cell map laid over the frame it judged."""

from __future__ import annotations

import cv2
import numpy as np

from detectors.event import Event
from reports.evidence import _decode, _png

CELL_PX = 32
"""Side in pixels of one map cell on the analysed frame."""


def heatmap_overlay(image: np.ndarray, cells: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """``image`` (BGR uint8) with ``cells`` (rows x cols probabilities 0..1, one per 32x32
    cell from the top-left corner) blended in as a colour map; cells above 0.5 are outlined."""
    cells = np.asarray(cells, np.float32)
    height, width = image.shape[:2]
    rows, cols = cells.shape
    big = cv2.resize(cells, (cols * CELL_PX, rows * CELL_PX), interpolation=cv2.INTER_NEAREST)
    big = big[:height, :width]
    colours = cv2.applyColorMap((np.clip(big, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_JET)
    weight = (alpha * np.clip(big, 0.15, 1.0))[..., None]
    out = (image * (1 - weight) + colours * weight).astype(np.uint8)
    for r, c in np.argwhere(cells > 0.5):
        x, y = int(c * CELL_PX), int(r * CELL_PX)
        cv2.rectangle(out, (x, y), (x + CELL_PX - 1, y + CELL_PX - 1), (255, 255, 255), 1)
    return out


def event_heatmap(recording: str, origin_s: float, event: Event) -> bytes:
    """PNG: the recording's frame at the event's ``peak_t`` beside it with the map overlaid."""
    peak = float(event.details.get("peak_t", event.start))
    cells = event.details.get("map")
    if not cells:
        raise ValueError(f"{event.detector} event at {event.start:.2f} s carries no map")
    frames = [(t, f) for t, f in _decode(recording, origin_s, peak - 0.1, peak + 0.1)]
    if not frames:
        raise ValueError(f"{recording}: no frame near {peak:.2f} s for the heatmap")
    _, frame = min(frames, key=lambda item: abs(item[0] - peak))
    image = frame.to_ndarray(format="bgr24")
    return _png(cv2.hconcat([image, heatmap_overlay(image, np.asarray(cells))]))

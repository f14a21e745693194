"""Drawing the virtual app's screens: home launcher, catalogue and player overlays.

Pictures depend only on the UI state, so a screen that does not change renders the same
pixels frame after frame (a still picture, as on a real device).
"""

from __future__ import annotations

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX
WHITE = (255, 255, 255)
ACCENT = (40, 170, 255)
HOME_TILES = ("onglass Player", "Settings", "Live TV")


def _scale(height: int) -> float:
    return height / 360.0


def _background(width: int, height: int, top: tuple[int, int, int], bottom: tuple[int, int, int]):
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    colours = (1 - ramp) * np.array(top, np.float32) + ramp * np.array(bottom, np.float32)
    return np.repeat(colours, width, axis=1).astype(np.uint8)


def _text(image: np.ndarray, text: str, x: int, y: int, size: float, thickness: int = 1) -> None:
    cv2.putText(image, text, (x, y), FONT, size, WHITE, thickness, cv2.LINE_AA)


def draw_home(width: int, height: int, focus: int) -> np.ndarray:
    """The launcher: a row of app tiles, tile ``focus`` highlighted."""
    s = _scale(height)
    image = _background(width, height, (60, 30, 20), (120, 60, 30))
    _text(image, "onglass TV", int(20 * s), int(40 * s), 0.9 * s, 2)
    tile_w, tile_h, gap = int(170 * s), int(100 * s), int(25 * s)
    x0 = (width - (len(HOME_TILES) * tile_w + (len(HOME_TILES) - 1) * gap)) // 2
    y0 = int(130 * s)
    for i, name in enumerate(HOME_TILES):
        x = x0 + i * (tile_w + gap)
        colour = ACCENT if i == focus else (90, 70, 60)
        cv2.rectangle(image, (x, y0), (x + tile_w, y0 + tile_h), colour, -1)
        if i == focus:
            cv2.rectangle(image, (x - 3, y0 - 3), (x + tile_w + 3, y0 + tile_h + 3), WHITE, 2)
        _text(image, name, x + int(10 * s), y0 + tile_h // 2 + int(5 * s), 0.5 * s)
    return image


def draw_catalogue(
    width: int, height: int, names: list[str], posters: list[np.ndarray], selected: int
) -> np.ndarray:
    """The title list with posters, row ``selected`` highlighted."""
    s = _scale(height)
    image = _background(width, height, (40, 25, 25), (20, 15, 15))
    _text(image, "onglass Player - Catalogue", int(20 * s), int(35 * s), 0.75 * s, 2)
    gap = int(10 * s)  # rows shrink to fit a longer catalogue on the screen
    row_h = min(int(90 * s), (height - int(60 * s)) // max(1, len(names)) - gap)
    for i, (name, poster) in enumerate(zip(names, posters, strict=True)):
        y = int(60 * s) + i * (row_h + gap)
        if i == selected:
            cv2.rectangle(
                image, (int(15 * s), y - 4), (width - int(15 * s), y + row_h + 4), ACCENT, -1
            )
        thumb = cv2.resize(poster, (int(row_h * 16 / 9), row_h), interpolation=cv2.INTER_AREA)
        x = int(25 * s)
        image[y : y + row_h, x : x + thumb.shape[1]] = thumb
        _text(
            image, name, x + thumb.shape[1] + int(20 * s), y + row_h // 2 + int(8 * s), 0.7 * s, 2
        )
    return image


def draw_player_overlay(
    image: np.ndarray, title: str, position_s: float, duration_s: float, paused: bool
) -> np.ndarray:
    """A copy of ``image`` with the on-screen display: title, progress bar, pause symbol."""
    out = image.copy()
    h, w = out.shape[:2]
    s = _scale(h)
    bar_y = h - int(30 * s)
    shade = out[bar_y - int(40 * s) :, :].astype(np.float32) * 0.4
    out[bar_y - int(40 * s) :, :] = shade.astype(np.uint8)
    _text(out, title, int(20 * s), bar_y - int(15 * s), 0.6 * s, 1)
    x0, x1 = int(20 * s), w - int(110 * s)
    cv2.rectangle(out, (x0, bar_y), (x1, bar_y + int(6 * s)), (90, 90, 90), -1)
    fraction = 0.0 if duration_s <= 0 else min(1.0, position_s / duration_s)
    cv2.rectangle(
        out, (x0, bar_y), (x0 + int((x1 - x0) * fraction), bar_y + int(6 * s)), ACCENT, -1
    )
    clock = f"{int(position_s) // 60:02d}:{int(position_s) % 60:02d}"
    _text(out, clock, x1 + int(15 * s), bar_y + int(8 * s), 0.55 * s)
    if paused:
        cx, cy, size = w // 2, h // 2 - int(20 * s), int(28 * s)
        cv2.rectangle(out, (cx - size, cy - size), (cx - size // 3, cy + size), WHITE, -1)
        cv2.rectangle(out, (cx + size // 3, cy - size), (cx + size, cy + size), WHITE, -1)
    return out

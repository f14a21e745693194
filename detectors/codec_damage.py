"""Real codec damage: encode a clip, damage its bitstream, decode, and label what broke.

``damaged_clip(frames, codec, rng)`` encodes BGR frames with PyAV (``libx264`` or ``libx265``),
drops packets or flips bytes in them, decodes the damaged stream with FFmpeg's decoder (its
error concealment included) and returns, per frame, the intact decode, the damaged decode and
a per-pixel damage mask. The mask compares the two *decodes* of the same encode, so intact
compression artefacts (blocking at low bitrate) cancel out and only the damage is labelled:
an 8x8 block is damaged when its mean absolute difference in any channel exceeds
``BLOCK_LEVEL`` grey levels. ``encoded_clip`` gives the intact decode alone (heavy-compression
negatives).

Not all damage is visible in the frame. FFmpeg's concealment often shows an earlier, intact
picture (a dropped frame's motion carried on): it differs from the intact decode by the motion
since, yet looks like a natural picture: a freeze or stutter, not block corruption. The
``visible`` mask keeps the damaged blocks that no intact block within ``SEARCH_PX`` explains.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import cv2
import numpy as np

CODECS = ("libx264", "libx265")
"""Encoders used: H.264 and HEVC."""
BLOCK = 8
"""Side in pixels of the blocks the damage mask is measured on."""
BLOCK_LEVEL = 10.0
"""Mean absolute difference (0..255) above which an 8x8 block of the damaged decode counts
as damaged."""
SEARCH_PX = 24
"""Largest displacement (pixels) at which an intact block may explain a damaged one (the
motion a stale but intact-looking picture carries)."""
VISIBLE_LEVEL = 12.0
"""Mean absolute difference (0..255, any channel) from the best-matching intact block within
``SEARCH_PX`` above which a damaged 8x8 block counts as visibly broken."""


@dataclass(frozen=True)
class DamagedFrame:
    """One decoded frame of a damaged stream and its intact twin (BGR uint8, H x W x 3)."""

    index: int
    clean: np.ndarray
    damaged: np.ndarray
    mask: np.ndarray
    visible: np.ndarray
    """Per-pixel mask of the damage seen in the frame alone (``visible_mask``)."""

    @property
    def damaged_share(self) -> float:
        """Share (0..1) of the picture marked damaged."""
        return float(self.mask.mean())

    @property
    def visible_share(self) -> float:
        """Share (0..1) of the picture visibly broken."""
        return float(self.visible.mean())


def _encode(frames: list[np.ndarray], codec: str, quality: int, gop: int, slices: int) -> bytes:
    buffer = io.BytesIO()
    height, width = frames[0].shape[:2]
    with av.open(buffer, "w", format="matroska") as container:
        stream = container.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if codec == "libx264":
            stream.options = {
                "crf": str(quality),
                "g": str(gop),
                "bf": "0",
                "slices": str(slices),
                "preset": "veryfast",
            }
        else:
            stream.options = {
                "crf": str(quality),
                "preset": "veryfast",
                "x265-params": f"log-level=none:keyint={gop}:min-keyint={gop}:bframes=0",
            }
        for k, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = k
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


def _decode(data: bytes, damage: dict[int, str], rng: np.random.Generator) -> dict[int, np.ndarray]:
    """Frames by pts after applying ``damage`` (packet number -> "drop" | "flip")."""
    out: dict[int, np.ndarray] = {}
    with av.open(io.BytesIO(data), "r") as container:
        stream = container.streams.video[0]
        decoder = av.CodecContext.create(stream.codec_context.name, "r")
        decoder.extradata = stream.codec_context.extradata
        packets = [p for p in container.demux(stream) if p.size]
        for number, packet in enumerate(packets + [None]):
            action = damage.get(number)
            if action == "drop":
                continue
            if packet is not None and action == "flip":
                payload = bytearray(bytes(packet))
                start = min(len(payload) - 1, 8)
                for _ in range(int(rng.integers(1, 6))):
                    pos = int(rng.integers(start, len(payload)))
                    payload[pos] ^= 1 << int(rng.integers(0, 8))
                damaged = av.Packet(bytes(payload))
                damaged.pts, damaged.dts = packet.pts, packet.dts
                damaged.time_base = packet.time_base
                packet = damaged
            try:
                frames = decoder.decode(packet)
            except av.error.FFmpegError:
                continue
            for frame in frames:
                if frame.pts is not None:
                    out[int(frame.pts)] = frame.to_ndarray(format="bgr24")
    return out


def block_mask(clean: np.ndarray, damaged: np.ndarray) -> np.ndarray:
    """Per-pixel damage mask: 8x8 blocks whose mean |difference| exceeds ``BLOCK_LEVEL``."""
    height, width = clean.shape[:2]
    rows, cols = height // BLOCK, width // BLOCK
    diff = np.abs(clean.astype(np.int16) - damaged.astype(np.int16))
    diff = diff[: rows * BLOCK, : cols * BLOCK].reshape(rows, BLOCK, cols, BLOCK, 3)
    return _pixel_mask(diff.mean(axis=(1, 3)).max(axis=2) > BLOCK_LEVEL, height, width)


def _pixel_mask(blocks: np.ndarray, height: int, width: int) -> np.ndarray:
    """A ``height`` x ``width`` pixel mask from a grid of 8x8 block flags (the right and bottom
    edges beyond whole blocks stay False)."""
    rows, cols = blocks.shape
    mask = np.zeros((height, width), bool)
    mask[: rows * BLOCK, : cols * BLOCK] = blocks.repeat(BLOCK, 0).repeat(BLOCK, 1)
    return mask


def visible_mask(clean: np.ndarray, damaged: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-pixel mask of the damaged 8x8 blocks (``mask``) that differ by more than
    ``VISIBLE_LEVEL`` from the intact decode at every displacement up to ``SEARCH_PX`` pixels
    (searched at half resolution, in 2-pixel steps): damage a viewer sees in the frame alone."""
    height, width = clean.shape[:2]
    rows, cols = height // BLOCK, width // BLOCK
    if not mask.any():
        return np.zeros((height, width), bool)
    half = (cols * BLOCK // 2, rows * BLOCK // 2)
    intact = cv2.resize(clean[: rows * BLOCK, : cols * BLOCK], half, interpolation=cv2.INTER_AREA)
    broken = cv2.resize(damaged[: rows * BLOCK, : cols * BLOCK], half, interpolation=cv2.INTER_AREA)
    reach = SEARCH_PX // 2
    padded = cv2.copyMakeBorder(intact, reach, reach, reach, reach, cv2.BORDER_REPLICATE)
    best = np.full((rows, cols), np.inf, np.float32)
    for dy in range(2 * reach + 1):
        for dx in range(2 * reach + 1):
            moved = padded[dy : dy + half[1], dx : dx + half[0]]
            blocks = cv2.resize(
                cv2.absdiff(broken, moved), (cols, rows), interpolation=cv2.INTER_AREA
            )
            np.minimum(best, blocks.max(axis=2), out=best)
    damaged_blocks = (
        mask[: rows * BLOCK, : cols * BLOCK].reshape(rows, BLOCK, cols, BLOCK).any(axis=(1, 3))
    )
    return _pixel_mask((best > VISIBLE_LEVEL) & damaged_blocks, height, width)


def encoded_clip(
    frames: list[np.ndarray], codec: str = "libx264", quality: int = 23, gop: int = 12
) -> list[np.ndarray]:
    """``frames`` (BGR, even width and height) encoded at CRF ``quality`` and decoded intact."""
    decoded = _decode(_encode(frames, codec, quality, gop, 1), {}, np.random.default_rng(0))
    return [decoded[k] for k in sorted(decoded)]


def damaged_clip(
    frames: list[np.ndarray],
    codec: str,
    rng: np.random.Generator,
    quality: int = 23,
    gop: int = 12,
    hits: int = 2,
) -> list[DamagedFrame]:
    """Encode ``frames`` with ``codec`` at CRF ``quality``, damage ``hits`` packets (each
    dropped or bit-flipped), decode both streams; one ``DamagedFrame`` per frame decoded in
    both. The first packet (the stream's first keyframe) is left intact."""
    if codec not in CODECS:
        raise ValueError(f"damaged_clip: codec must be one of {', '.join(CODECS)}, got {codec!r}")
    slices = int(rng.choice([1, 4, 8]))
    data = _encode(frames, codec, quality, gop, slices)
    clean = _decode(data, {}, rng)
    count = len(clean)
    targets = rng.choice(
        np.arange(1, max(2, count)), size=min(hits, max(1, count - 1)), replace=False
    )
    damage = {int(t): ("drop" if rng.random() < 0.3 else "flip") for t in targets}
    broken = _decode(data, damage, rng)
    out = []
    for pts in sorted(clean):
        if pts in broken:
            mask = block_mask(clean[pts], broken[pts])
            visible = visible_mask(clean[pts], broken[pts], mask)
            out.append(DamagedFrame(pts, clean[pts], broken[pts], mask, visible))
    return out

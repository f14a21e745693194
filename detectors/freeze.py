"""``freeze``: the picture stops changing.

Algorithm (after FFmpeg ``freezedetect``): each frame's luma thumbnail is compared with a
*reference* frame, the first frame of a possible freeze, not with the previous frame, so a
slow fade or pan still counts as change. The comparison is the mean absolute difference
(MAFD, 0..1 of full scale). A frame whose MAFD to the reference is at most ``noise`` is
still; a changed frame becomes the new reference. A run of still frames lasting at least
``min_duration_s`` is a freeze, from the first repeated frame to the first changed one.

When a still run ends before ``min_duration_s``, the reference is re-anchored on the
earliest recent frame that every later frame (the new one included) stays within ``noise``
of, instead of on the new frame alone. Without this, a freeze that begins during slow
motion is anchored on the last moving frame, the encoder's refinement of the frozen picture
drifts past ``noise`` a few frames in, and the reported start comes several frames late.

Regions listed in ``ignore_regions`` (a clock, a spinner, a channel logo: rectangles
``[x, y, width, height]`` in pixels of the captured frame) are left out of the comparison.
Each event says whether the sound went on during the freeze (``audio_playing``: the share of
audio chunks in the freeze louder than ``audio_floor_dbfs``, at least half), or ``null``
when there was no audio.

A still run on a *flat* picture (luma standard deviation below ``flat_level``: black, a
uniform fill) is not a freeze: nothing in it could move, and black is the ``black``
detector's to report.

Defaults against FFmpeg: freezedetect's ``noise`` is 0.001 (-60 dB) on raw frames; ours is
0.003 (about -50 dB) because a captured H.264 stream of a frozen picture keeps changing as
the encoder refines it: up to 0.0026 from the first frozen frame on the 80-pixel thumbnail
(0.0043 on a 160-pixel one), measured on the virtual device's 640x360 x264 output, while
moving Big Buck Bunny content never stayed within 0.003 of a frame for more than 4 frames. FFmpeg's ``d``
is 2 s, ours is 0.25 s: a release gate must catch short stalls that a viewer still sees.
The thumbnail (``detectors.luma``) averages capture noise away before comparing.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from detectors.event import Event
from detectors.luma import mean_absolute_difference
from detectors.media import AudioChunk, VideoFrame
from detectors.settings import SettingsError, require

BLACK_LEVEL = 25
"""Luma (0..255) at or below which a pixel is black, as the black detector's default."""
MOSTLY_BLACK = 0.9
"""A picture this share black is the black detector's to report, never a freeze."""
TYPICAL_CONTRAST = 0.12
"""Luma standard deviation (0..1) of a typical picture; in darker, flatter pictures
``noise`` shrinks in proportion (motion and codec noise shrink with the contrast too)."""
MIN_NOISE_SCALE = 0.25
"""``noise`` never shrinks below this share of its setting."""
MERGE_GAP_FRAMES = 2
"""Freezes this many frames apart or closer are one freeze: an encoder refreshing the frozen
picture (a keyframe) can push one frame past ``noise``."""


@dataclass(frozen=True)
class FreezeSettings:
    """Thresholds of the freeze detector."""

    noise: float = 0.003
    """Largest MAFD (fraction of full scale, 0..1) between a frame and the reference that
    still counts as "no change". FFmpeg freezedetect default: 0.001."""
    flat_level: float = 0.01
    """Luma standard deviation (fraction of full scale, 0..1) below which a picture is flat
    (black, a uniform fill) and its stillness is not reported as a freeze; mostly black
    pictures (a logo on black) are left to the black detector too. 0 turns both off."""
    min_duration_s: float = 0.25
    """Shortest still run, in seconds, reported as a freeze. FFmpeg default: 2 s."""
    ignore_regions: tuple = ()
    """Rectangles ``[x, y, width, height]`` in pixels of the captured frame to leave out."""
    audio_floor_dbfs: float = -60.0
    """Audio chunk level (RMS, dBFS) above which sound counts as playing during a freeze."""

    def __post_init__(self) -> None:
        require(0.0 <= self.noise < 1.0, "noise", f"must be in [0, 1), got {self.noise}")
        require(
            0.0 <= self.flat_level < 1.0, "flat_level", f"must be in [0, 1), got {self.flat_level}"
        )
        for i, region in enumerate(self.ignore_regions):
            valid = (
                isinstance(region, list | tuple)
                and len(region) == 4
                and all(isinstance(v, int | float) and not isinstance(v, bool) for v in region)
                and region[0] >= 0
                and region[1] >= 0
                and region[2] > 0
                and region[3] > 0
            )
            require(
                valid,
                f"ignore_regions[{i}]",
                f"expected [x, y, width, height] in pixels (x, y >= 0; width, height > 0), got {region!r}",
            )
        require(
            self.min_duration_s > 0,
            "min_duration_s",
            f"must be > 0 seconds, got {self.min_duration_s}",
        )


class FreezeDetector:
    """Streaming freeze detector; see the module docstring for the algorithm."""

    name: ClassVar[str] = "freeze"
    consumes: ClassVar[frozenset[str]] = frozenset({"video", "audio"})
    Settings: ClassVar[type[FreezeSettings]] = FreezeSettings

    def __init__(self, settings: FreezeSettings | None = None) -> None:
        self.settings = settings or FreezeSettings()
        self._reference: np.ndarray | None = None
        self._reference_t = 0.0
        self._reference_flat = False
        self._noise = self.settings.noise  # noise scaled to the reference's contrast
        self._run_start: float | None = None
        self._run_max_mafd = 0.0
        self._history: list[tuple[float, np.ndarray]] = []  # frames since the reference
        self._pending: Event | None = None  # the last freeze, held briefly to merge a codec blip
        self._keep: np.ndarray | None = None  # thumbnail pixels compared (False = ignored)
        self._keep_scale = 1.0
        self._audio: deque[tuple[float, float, float]] = deque(maxlen=3000)  # t, end, dBFS
        self._last_t: float | None = None
        self._frame_interval = 0.04

    def feed(self, item: VideoFrame | AudioChunk) -> list[Event]:
        if isinstance(item, AudioChunk):
            if item.samples.size:
                rms = float(np.sqrt(np.mean(np.square(item.samples, dtype=np.float64))))
                self._audio.append((item.t, item.end, 20 * np.log10(rms + 1e-12)))
            return []
        return self._merged(self._feed(item), item.t)

    def _audio_playing(self, start: float, end: float) -> bool | None:
        levels = [db for t0, t1, db in self._audio if t1 > start and t0 < end]
        if not levels:
            return None
        return bool(sum(db > self.settings.audio_floor_dbfs for db in levels) >= len(levels) / 2)

    def _masked(self, thumb: np.ndarray, frame: VideoFrame) -> np.ndarray:
        """``thumb`` with the ignored regions blacked out (the same in every frame)."""
        if not self.settings.ignore_regions:
            return thumb
        if self._keep is None or self._keep.shape != thumb.shape:
            keep = np.ones(thumb.shape, bool)
            sy, sx = thumb.shape[0] / frame.height, thumb.shape[1] / frame.width
            for i, (x, y, w, h) in enumerate(self.settings.ignore_regions):
                if x + w > frame.width or y + h > frame.height:
                    raise SettingsError(
                        f"freeze.ignore_regions[{i}]: {[x, y, w, h]} lies outside the "
                        f"{frame.width}x{frame.height} frame"
                    )
                x0, y0 = int(x * sx), int(y * sy)
                x1, y1 = int(np.ceil((x + w) * sx)), int(np.ceil((y + h) * sy))
                keep[y0:y1, x0:x1] = False
            if not keep.any():
                raise SettingsError("freeze.ignore_regions: they cover the whole frame")
            self._keep, self._keep_scale = keep, keep.size / keep.sum()
        return np.where(self._keep, thumb, 0).astype(thumb.dtype)

    def _merged(self, events: list[Event], now: float) -> list[Event]:
        """Join freezes split by one refreshed frame (a keyframe of the frozen picture)."""
        out: list[Event] = []
        gap = MERGE_GAP_FRAMES * self._frame_interval + 1e-6
        for event in events:
            pending = self._pending
            if pending is not None and event.start - pending.end <= gap:
                details = {**event.details, "duration_s": round(event.end - pending.start, 4)}
                event = Event(
                    self.name, pending.start, event.end, min(pending.score, event.score), details
                )
            elif pending is not None:
                out.append(pending)
            self._pending = event
        pending = self._pending
        still_open = (
            self._run_start is not None and self._run_start - (pending.end if pending else 0) <= gap
        )
        if pending is not None and now - pending.end > gap and not still_open:
            out.append(pending)
            self._pending = None
        return out

    def _feed(self, item: VideoFrame) -> list[Event]:
        thumb = self._masked(item.thumbnail(), item)
        if self._last_t is not None and item.t > self._last_t:
            self._frame_interval = item.t - self._last_t
        self._last_t = item.t
        if self._reference is None or thumb.shape != self._reference.shape:
            events = self._close_run(item.t) if self._reference is not None else []
            self._reset_reference(thumb, item.t)
            return events
        mafd = mean_absolute_difference(thumb, self._reference) * self._keep_scale
        if mafd <= self._noise:
            if self._run_start is None:
                self._run_start = item.t
                self._run_max_mafd = mafd
            else:
                self._run_max_mafd = max(self._run_max_mafd, mafd)
            if len(self._history) < self._history_limit:
                self._history.append((item.t, thumb))
            return []
        events = self._close_run(item.t)
        if events or len(self._history) >= self._history_limit:
            self._reset_reference(thumb, item.t)
        else:
            self._reanchor([*self._history, (item.t, thumb)])
        return events

    @property
    def _history_limit(self) -> int:
        return max(2, round(self.settings.min_duration_s / self._frame_interval) + 1)

    def _reanchor(self, frames: list[tuple[float, np.ndarray]]) -> None:
        """Reference := earliest of ``frames`` that all later ones stay within noise of."""
        noise = self._noise
        for k, (t, thumb) in enumerate(frames):
            diffs = [
                mean_absolute_difference(later, thumb) * self._keep_scale
                for _, later in frames[k + 1 :]
            ]
            if all(d <= noise for d in diffs):
                self._reset_reference(thumb, t)
                self._history = frames[k + 1 :]
                if diffs:
                    self._run_start = frames[k + 1][0]
                    self._run_max_mafd = max(diffs)
                return

    def flush(self) -> list[Event]:
        if self._last_t is None:
            return []
        events = self._close_run(self._last_t + self._frame_interval)
        self._run_start = None
        out = self._merged(events, float("inf"))
        if self._pending is not None:
            out.append(self._pending)
            self._pending = None
        return out

    def _reset_reference(self, thumb: np.ndarray, t: float) -> None:
        self._reference = thumb
        self._reference_t = t
        dark = self.settings.flat_level > 0 and (
            np.count_nonzero(thumb <= BLACK_LEVEL) >= MOSTLY_BLACK * thumb.size
        )
        self._reference_flat = dark or float(thumb.std()) / 255.0 < self.settings.flat_level
        contrast = float((thumb[self._keep] if self._keep is not None else thumb).std()) / 255.0
        self._noise = self.settings.noise * min(
            1.0, max(MIN_NOISE_SCALE, contrast / TYPICAL_CONTRAST)
        )
        self._run_start = None
        self._history = []

    def _close_run(self, end: float) -> list[Event]:
        start = self._run_start
        if start is None or self._reference_flat or end - start < self.settings.min_duration_s:
            return []
        noise = self._noise
        score = 1.0 if noise == 0 else max(0.0, 1.0 - self._run_max_mafd / noise)
        details = {
            "duration_s": round(end - start, 4),
            "max_mafd": round(self._run_max_mafd, 6),
            "noise": round(noise, 6),
            "reference_t": round(self._reference_t, 4),
            "audio_playing": self._audio_playing(start, end),
        }
        return [Event(self.name, start, end, 0.5 + 0.5 * score, details)]

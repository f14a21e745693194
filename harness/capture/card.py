"""``card`` backend: an HDMI capture card, picture over V4L2 (OpenCV), sound from its audio
interface (sounddevice), both on the host's monotonic clock.

Video: ``cv2.VideoCapture(device, cv2.CAP_V4L2)`` with the requested pixel format (FOURCC),
size and frame rate set, then read back: a card that delivers another mode is an error naming
both modes, never a silent change of what the detectors see. Each frame's time is the V4L2
buffer timestamp OpenCV reports (``CAP_PROP_POS_MSEC``, CLOCK_MONOTONIC, the same clock as
``time.monotonic()``), or the time ``grab()`` returned where the driver gives none (or one
further than ``STAMP_MAX_AGE_S`` from it). The capture
timeline starts at the first frame; ``n`` is the frame slot at the negotiated rate, so a frame
the card or the harness lost shows as a gap in ``n`` (capture health, never a device stutter).

Audio: ``SoundDeviceAudio`` places each block on the same monotonic clock (its ADC time or its
arrival, with the card's clock drift fitted and corrected) and the same timeline.

Reading: ``grab()`` runs on a reader thread that owns the device; the capture thread waits at
most ``read_timeout_s`` (``FIRST_FRAME_S`` for the first frame) for each frame and otherwise
ends with ``CardError("no frame within N s")``. OpenCV is also asked for that timeout
(``CAP_PROP_READ_TIMEOUT_MSEC``); where its V4L2 backend ignores it, the reader returns when
OpenCV's own select() timeout expires, and releases the device then.

Recording: with ``record_to``, pictures and sound are encoded into MPEG-TS as they come
(``FrameRecorder``), so evidence clips exist and a crash keeps what was captured.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2

from detectors.media import AudioChunk, VideoFrame
from harness.capture.base import Capture
from harness.capture.frame_recorder import FrameRecorder
from harness.capture.sounddevice_audio import SoundDeviceAudio
from harness.errors import InfrastructureError

FPS_TOLERANCE = 0.01
"""Relative difference between requested and delivered frame rate that still counts as the
same mode (59.94 for 60 is the same mode: 0.1 %)."""
STAMP_MAX_AGE_S = 1.0
"""A buffer timestamp more than this many seconds before the frame's arrival (or after it) is
not on the monotonic clock (a driver with another clock): the arrival time is used."""
FIRST_FRAME_S = 5.0
"""Seconds the first frame may take (a card starts streaming after its mode is set)."""


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
    """Live capture from a V4L2 card and (optionally) a sound device.

    ``read_timeout_s``: seconds without a frame that end the capture with a CardError.
    ``record_to``: MPEG-TS file the pictures and sound are recorded to as they come.
    """

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
        read_timeout_s: float = 1.0,
        record_to: str | Path | None = None,
    ) -> None:
        super().__init__(stall_threshold_s)
        if read_timeout_s <= 0:
            raise ValueError(f"read_timeout_s: expected > 0 seconds, got {read_timeout_s}")
        self.device = device
        self.mode = mode or CardMode()
        self.read_timeout_s = read_timeout_s
        self.recording = Path(record_to) if record_to else None
        self._recorder: FrameRecorder | None = None
        self._origin: float | None = None  # host monotonic seconds of capture time 0
        self._last_n: int | None = None
        self._last_t = 0.0
        self.late_frames = 0
        """Frames that reached the harness more than two frame intervals after their time."""
        self.audio_channels, self.audio_rate = audio_channels, audio_rate
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

    @property
    def recording_origin_s(self) -> float:
        """Where capture time 0 is in the recording's own timestamps, in seconds."""
        return FrameRecorder.origin_s

    def _to_capture(self, host: float) -> float | None:
        return None if self._origin is None else host - self._origin

    def _open(self) -> cv2.VideoCapture:
        """The device, opened in the requested mode (CardError if it cannot be)."""
        return open_video(self.device, self.mode)

    def _run(self) -> None:
        video = self._open()
        video.set(cv2.CAP_PROP_READ_TIMEOUT_MSEC, self.read_timeout_s * 1000.0)
        frames: queue.Queue = queue.Queue()
        done = threading.Event()
        reader = threading.Thread(
            target=self._read, args=(video, frames, done), name="card-reader", daemon=True
        )
        try:
            reader.start()  # from here on the reader owns (and releases) the device
            if self.recording is not None:
                self._recorder = FrameRecorder(
                    self.recording,
                    self.mode.fps,
                    None if self.audio is None else self.audio_rate,
                    self.audio_channels,
                )
            if self.audio is not None:
                self.audio.start()
            timeout = max(FIRST_FRAME_S, self.read_timeout_s)
            deadline = time.monotonic() + timeout
            while not self._stopping.is_set():
                try:
                    item = frames.get(timeout=0.1)  # short waits: stop() is not held up
                except queue.Empty:
                    if time.monotonic() > deadline:
                        raise CardError(
                            f"capture card {device_path(self.device)}: no frame within "
                            f"{timeout:g} s (signal lost?)"
                        ) from None
                    continue
                if isinstance(item, Exception):
                    raise item
                timeout = self.read_timeout_s
                deadline = time.monotonic() + timeout
                if item is not None:
                    self._deliver(self._frame(*item))
        finally:
            done.set()  # the reader releases the device as soon as its grab returns
            if self.audio is not None:
                self.audio.stop()
                self.health.update_details(self.audio.health())
            details: dict = {"late_frames": self.late_frames, "nominal_fps": self.mode.fps}
            if self._last_t:
                details["measured_fps"] = round((self.health.video_frames - 1) / self._last_t, 3)
            if self._recorder is not None:
                self._recorder.close()
                details["recording_dropped_items"] = self._recorder.dropped
                if self._recorder.error:
                    details["recording_error"] = self._recorder.error
            self.health.update_details(details)

    def _read(self, video: cv2.VideoCapture, frames: queue.Queue, done: threading.Event) -> None:
        """Reader thread: grab frames until ``done``, then release the device. Puts (host,
        arrival, image) per frame, None for a frame that did not decode, or the CardError."""
        try:
            while not done.is_set():
                if not video.grab():
                    frames.put(
                        CardError(
                            f"capture card {device_path(self.device)}: no frame (signal lost?)"
                        )
                    )
                    return
                arrival = time.monotonic()
                stamp_ms = video.get(cv2.CAP_PROP_POS_MSEC)
                stamp = stamp_ms / 1000.0
                host = stamp if 0 <= arrival - stamp <= STAMP_MAX_AGE_S else arrival
                ok, image = video.retrieve()
                if not ok:
                    self.health.decode_errors += 1
                    frames.put(None)
                    continue
                frames.put((host, arrival, image))
        finally:
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
        if self._recorder is not None:
            self._recorder.write(item)

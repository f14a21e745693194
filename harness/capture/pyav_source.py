"""Decoding any FFmpeg input (file, UDP, RTP, HTTP...) with PyAV onto one capture timeline.

Both backends use this: ``t`` comes from each frame's PTS minus the input's start time,
so video and audio share one clock; ``n`` is the frame slot at the nominal frame rate, so
a frame the capture lost shows as a gap in ``n``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import av
import numpy as np

from detectors.media import AudioChunk, VideoFrame
from harness.capture.health import CaptureHealth
from harness.errors import MediaError

PacketHook = Callable[[av.Packet], None]
PLANAR_YUV = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p"}
"""Decoded formats whose first plane is the luma the detectors need: no colour conversion."""
FULL_RANGE = 2
"""``AVColorRange`` JPEG (full range); anything else is treated as video (limited) range."""


class Timeline:
    """Maps stream timestamps to capture seconds and frame slots; survives reopening."""

    def __init__(self, nominal_fps: float | None = None) -> None:
        self.origin: float | None = None
        self.fps = nominal_fps
        self.last_n: int | None = None

    def start(self, container: av.container.InputContainer) -> None:
        if self.origin is None and container.start_time is not None:
            self.origin = container.start_time / av.time_base
        if self.fps is None and container.streams.video:
            rate = (
                container.streams.video[0].average_rate or container.streams.video[0].guessed_rate
            )
            self.fps = float(rate) if rate else 25.0

    def seconds(self, pts_seconds: float) -> float:
        if self.origin is None:
            self.origin = pts_seconds
        return pts_seconds - self.origin


class PyAVSource:
    """One FFmpeg input, decoded to ``VideoFrame`` and ``AudioChunk`` items in arrival order."""

    def __init__(
        self,
        url: str,
        *,
        input_format: str | None = None,
        options: dict[str, str] | None = None,
        timeout: tuple[float, float] | None = None,
        timeline: Timeline | None = None,
        health: CaptureHealth | None = None,
    ) -> None:
        self.url = url
        self.input_format = input_format
        self.options = options or {}
        self.timeout = timeout
        self.timeline = timeline or Timeline()
        self.health = health or CaptureHealth()
        self._resampler: av.AudioResampler | None = None

    def open(self) -> av.container.InputContainer:
        """Open the input; MediaError with a one-line reason when it cannot be read as media."""
        if "://" not in self.url:
            path = Path(self.url)
            if not path.exists():
                raise MediaError(f"{self.url}: no such file")
            if path.is_dir():
                raise MediaError(f"{self.url}: is a directory, not a media file")
        try:
            container = av.open(
                self.url, format=self.input_format, options=self.options, timeout=self.timeout
            )
        except av.error.FFmpegError as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise MediaError(f"{self.url}: cannot open as media ({reason})") from None
        if not container.streams.video and not container.streams.audio:
            container.close()
            raise MediaError(f"{self.url}: has no video or audio stream")
        self.timeline.start(container)
        return container

    def items(
        self, container: av.container.InputContainer, on_packet: PacketHook | None = None
    ) -> Iterator[VideoFrame | AudioChunk]:
        """Decode ``container`` to the end (or until its read timeout raises ``av.ExitError``)."""
        streams = [*container.streams.video[:1], *container.streams.audio[:1]]
        for packet in container.demux(streams):
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                self.health.decode_errors += 1
                frames = []
            if on_packet is not None:  # recorded before anything looks at its frames
                on_packet(packet)
            for frame in frames:
                item = self._convert(frame)
                if item is not None:
                    yield item

    def _convert(self, frame: av.VideoFrame | av.AudioFrame) -> VideoFrame | AudioChunk | None:
        if frame.pts is None or frame.time is None:
            return None
        t = self.timeline.seconds(float(frame.time))
        if isinstance(frame, av.VideoFrame):
            return self._video(frame, t)
        return self._audio(frame, t)

    def _video(self, frame: av.VideoFrame, t: float) -> VideoFrame:
        timeline = self.timeline
        n = round(t * (timeline.fps or 25.0))
        if timeline.last_n is not None and n > timeline.last_n + 1:
            self.health.record_gap(t, n - timeline.last_n - 1)
        if timeline.last_n is None or n > timeline.last_n:
            timeline.last_n = n
        self.health.video_frames += 1
        luma, limited = None, False
        if frame.format.name in PLANAR_YUV:  # the decoder's own luma plane, no conversion
            plane = frame.planes[0]
            rows = np.frombuffer(plane, np.uint8).reshape(frame.height, plane.line_size)
            luma = rows[:, : frame.width]
            limited = frame.color_range != FULL_RANGE and not frame.format.name.startswith("yuvj")
        return VideoFrame(
            t,
            n,
            luma=luma,
            limited_range=limited,
            load_image=lambda: frame.to_ndarray(format="bgr24"),
        )

    def _audio(self, frame: av.AudioFrame, t: float) -> AudioChunk:
        if self._resampler is None:
            self._resampler = av.AudioResampler(
                format="flt", layout=frame.layout, rate=frame.sample_rate
            )
        channels = len(frame.layout.channels)
        parts = [out.to_ndarray().reshape(-1, channels) for out in self._resampler.resample(frame)]
        samples = np.concatenate(parts) if parts else np.zeros((0, channels), np.float32)
        self.health.audio_chunks += 1
        return AudioChunk(t, samples.astype(np.float32, copy=False), frame.sample_rate)

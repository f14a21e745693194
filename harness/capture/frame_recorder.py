"""Writes decoded frames and audio to disk as they come, for backends that have no packets to
remux (a capture card delivers pictures and samples, not a stream).

Video is encoded with H.264 (``libx264``, ultrafast, zero latency) and audio with AAC into
MPEG-TS, flushed packet by packet: like ``Recorder``'s files, a file cut off by a crash decodes
up to its last complete packet. Encoding runs on its own thread behind a bounded queue, so a
slow encoder never holds up the capture: items that find the queue full are dropped and
counted (``dropped``), a gap in the recording and not in what the detectors saw.

Timestamps are the capture timeline's plus ``ORIGIN_S`` (MPEG-TS muxers shift timestamps that
start at 0); ``origin_s`` is what evidence code subtracts to get back to capture time.
"""

from __future__ import annotations

import queue
import threading
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from detectors.media import AudioChunk, VideoFrame

ORIGIN_S = 1.0
"""Recording time of capture time 0, in seconds."""
QUEUE_ITEMS = 240
"""Items (frames and chunks) waiting for the encoder before new ones are dropped."""
VIDEO_TIME_BASE = Fraction(1, 90_000)

_END = object()


class FrameRecorder:
    """Encodes ``VideoFrame`` (BGR pictures) and ``AudioChunk`` items into an MPEG-TS file.

    ``fps``: the nominal frame rate (the encoder's rate; frames keep their own times).
    ``audio_rate`` / ``audio_channels``: the sound's format, or None for a silent recording.
    """

    origin_s = ORIGIN_S

    def __init__(
        self,
        path: str | Path,
        fps: float,
        audio_rate: int | None = None,
        audio_channels: int = 2,
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fps, self.audio_rate, self.audio_channels = fps, audio_rate, audio_channels
        self.dropped = 0
        """Items the encoder could not keep up with (left out of the recording)."""
        self.error: str | None = None
        """Why the recording stopped early, if it did."""
        self._queue: queue.Queue = queue.Queue(QUEUE_ITEMS)
        self._container = None
        self._video = None
        self._audio = None
        self._last_pts = -1
        self._thread = threading.Thread(target=self._run, name="frame-recorder", daemon=True)
        self._thread.start()

    def write(self, item: VideoFrame | AudioChunk) -> None:
        """Queue ``item`` for the file (never blocks; a full queue drops it)."""
        if self.error is not None:
            return
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped += 1

    def close(self, timeout_s: float = 10.0) -> None:
        """Encode what is queued, finish the file (waits at most ``timeout_s`` seconds)."""
        self._queue.put(_END)
        self._thread.join(timeout_s)

    def _run(self) -> None:
        try:
            while (item := self._queue.get()) is not _END:
                if isinstance(item, VideoFrame):
                    self._write_video(item)
                elif self._audio is not None:  # sound before the first picture is not kept
                    self._write_audio(item)
            for stream in (self._video, self._audio):
                if stream is not None:
                    self._mux(stream.encode(None))
        except (av.error.FFmpegError, ValueError, OSError) as error:
            self.error = f"recording {self.path}: {error}"
        finally:
            if self._container is not None:
                self._container.close()

    def _open(self, width: int, height: int) -> None:
        self._container = av.open(
            str(self.path), mode="w", format="mpegts", options={"flush_packets": "1"}
        )
        video = self._container.add_stream(
            "libx264",
            rate=Fraction(self.fps).limit_denominator(1001),
            options={"preset": "ultrafast", "tune": "zerolatency"},
        )
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.time_base = video.codec_context.time_base = VIDEO_TIME_BASE
        self._video = video
        if self.audio_rate is not None:
            layout = "mono" if self.audio_channels == 1 else "stereo"
            self._audio = self._container.add_stream("aac", rate=self.audio_rate, layout=layout)

    def _write_video(self, item: VideoFrame) -> None:
        image = item.image
        if self._container is None:
            self._open(image.shape[1] - image.shape[1] % 2, image.shape[0] - image.shape[0] % 2)
        pts = round((item.t + ORIGIN_S) / VIDEO_TIME_BASE)
        if pts <= self._last_pts:
            return
        self._last_pts = pts
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
        frame = frame.reformat(self._video.width, self._video.height, "yuv420p")
        frame.pts, frame.time_base = pts, VIDEO_TIME_BASE
        self._mux(self._video.encode(frame))

    def _write_audio(self, chunk: AudioChunk) -> None:
        samples = chunk.samples[:, : self.audio_channels]
        if samples.shape[1] < self.audio_channels:
            samples = np.repeat(samples[:, :1], self.audio_channels, axis=1)
        planar = np.ascontiguousarray(samples.T, np.float32)
        layout = "mono" if self.audio_channels == 1 else "stereo"
        frame = av.AudioFrame.from_ndarray(planar, format="fltp", layout=layout)
        frame.sample_rate = chunk.rate
        frame.pts = round((chunk.t + ORIGIN_S) * chunk.rate)
        frame.time_base = Fraction(1, chunk.rate)
        self._mux(self._audio.encode(frame))

    def _mux(self, packets) -> None:
        for packet in packets:
            self._container.mux(packet)

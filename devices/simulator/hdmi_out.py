"""The virtual device's "HDMI" output: MPEG-TS (H.264 + AAC), as an HDMI-to-IP encoder sends it.

The target is any FFmpeg output URL (``udp://127.0.0.1:PORT?pkt_size=1316``) or a file path.
"""

from __future__ import annotations

import av
import numpy as np

from devices.simulator.content import AUDIO_RATE


class MpegTsOutput:
    """Encodes pictures and audio to an MPEG-TS stream, one output frame at a time."""

    def __init__(
        self, target: str, width: int, height: int, fps: int, gop_frames: int = 12
    ) -> None:
        options = {"flush_packets": "1"} if "://" in target else {}
        self.container = av.open(target, mode="w", format="mpegts", options=options)
        self.video = self.container.add_stream(
            "libx264", rate=fps, options={"preset": "ultrafast", "tune": "zerolatency"}
        )
        self.video.width, self.video.height, self.video.pix_fmt = width, height, "yuv420p"
        self.video.codec_context.gop_size = gop_frames
        self.audio = self.container.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        self._frames = 0
        self._samples = 0

    def write(self, image: np.ndarray, audio: np.ndarray) -> None:
        """Send one frame: BGR ``image`` and the float32 (samples, 2) ``audio`` that goes with it."""
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts = self._frames
        self._frames += 1
        for packet in self.video.encode(frame):
            self.container.mux(packet)
        planar = np.ascontiguousarray(np.clip(audio, -1.0, 1.0).T, dtype=np.float32)
        sound = av.AudioFrame.from_ndarray(planar, format="fltp", layout="stereo")
        sound.sample_rate = AUDIO_RATE
        sound.pts = self._samples
        self._samples += planar.shape[1]
        for packet in self.audio.encode(sound):
            self.container.mux(packet)

    def close(self) -> None:
        """Flush the encoders and close the stream or file."""
        for stream in (self.video, self.audio):
            for packet in stream.encode(None):
                self.container.mux(packet)
        self.container.close()

"""``stream`` backend: any FFmpeg URL read live with PyAV (MPEG-TS over UDP from an
HDMI-to-IP encoder or the virtual device, RTP, SRT, HTTP...).

Packets are recorded to disk as they arrive (``Recorder``) before anything else looks at
them. A read that times out counts as a stall and the input is reopened on the same
timeline, so a device that stops and resumes sending is followed, not lost.
"""

from __future__ import annotations

import time
from pathlib import Path

import av

from harness.capture.base import Capture
from harness.capture.pyav_source import PyAVSource
from harness.capture.recorder import Recorder
from harness.errors import MediaError

LIVE_OPTIONS = {
    "fifo_size": "1000000",  # UDP receive FIFO, in 188-byte packets
    "overrun_nonfatal": "1",
    "analyzeduration": "1000000",  # microseconds of probing before playback
    "probesize": "1000000",
}


class StreamCapture(Capture):
    """Live capture of an FFmpeg URL, with its packets recorded to ``record_to``."""

    backend = "stream"

    def __init__(
        self,
        url: str,
        *,
        record_to: str | Path | None = None,
        read_timeout_s: float = 1.0,
        stall_threshold_s: float = 1.0,
        options: dict[str, str] | None = None,
    ) -> None:
        super().__init__(stall_threshold_s)
        self.url = url
        self.read_timeout_s = read_timeout_s
        self.source = PyAVSource(
            url,
            options={**LIVE_OPTIONS, **(options or {})},
            timeout=(read_timeout_s, read_timeout_s),
            health=self.health,
        )
        self.recording = Path(record_to) if record_to else None
        self._recorder: Recorder | None = None

    def _run(self) -> None:
        self._recorder = Recorder(self.recording) if self.recording else None
        try:
            while not self._stopping.is_set():
                self._read_once()
                if not self._stopping.is_set():
                    self.health.reconnects += 1
                    time.sleep(0.05)
        finally:
            if self._recorder is not None:
                self._recorder.close()

    def _read_once(self) -> None:
        try:
            container = self.source.open()
        except MediaError as error:
            self.error = str(error)
            return
        self.error = None
        try:
            if self._recorder is not None:
                for stream in [*container.streams.video[:1], *container.streams.audio[:1]]:
                    self._recorder.add_stream(stream)
            hook = self._recorder.write if self._recorder is not None else None
            for item in self.source.items(container, on_packet=hook):
                self._deliver(item)
                if self._stopping.is_set():
                    break
        except av.error.ExitError:
            pass  # read timeout: nothing arrived for read_timeout_s; reopen
        except av.error.FFmpegError as error:
            self.error = f"{self.url}: {error}"
        finally:
            container.close()

"""``file`` backend: a recording or any media file, decoded as fast as the machine allows
(or at its own pace with ``realtime=True``, to replay a recording through a live monitor)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from detectors.media import AudioChunk, VideoFrame
from harness.capture.base import Capture
from harness.capture.pyav_source import PyAVSource


class FileCapture(Capture):
    """Decodes a media file onto the capture timeline."""

    backend = "file"

    def __init__(self, path: str | Path, *, realtime: bool = False) -> None:
        super().__init__(stall_threshold_s=float("inf"))
        self.path = str(path)
        self.realtime = realtime
        self.source = PyAVSource(self.path, health=self.health)

    def items(self) -> Iterator[VideoFrame | AudioChunk]:
        """Every item of the file in decode order, on the calling thread.

        Raises ``MediaError`` with a one-line reason if the file cannot be read as media.
        """
        container = self.source.open()
        try:
            yield from self.source.items(container)
        finally:
            container.close()

    def _run(self) -> None:
        started = time.monotonic()
        for item in self.items():
            if self._stopping.is_set():
                break
            if self.realtime:
                delay = started + item.t - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            self._deliver(item)

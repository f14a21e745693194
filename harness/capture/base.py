"""What the monitor needs from any capture backend, and the thread they share."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from detectors.media import AudioChunk, VideoFrame
from harness.capture.health import CaptureHealth
from harness.clock import CaptureClock

Sink = Callable[[VideoFrame | AudioChunk], None]


class Capture:
    """A source of ``VideoFrame`` / ``AudioChunk`` items delivered on a capture thread.

    Subclasses implement ``_run`` (read until ``self._stopping`` is set or the input ends,
    passing each item to ``self._deliver``). Sinks run on the capture thread and must not
    block: the monitor only enqueues.
    """

    backend = "base"

    def __init__(self, stall_threshold_s: float = 1.0) -> None:
        self.health = CaptureHealth()
        self.clock = CaptureClock()
        self.stall_threshold_s = stall_threshold_s
        self.recording: Path | None = None
        self.error: str | None = None
        self.ended = threading.Event()
        self._sinks: list[Sink] = []
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_video_arrival: float | None = None

    def subscribe(self, sink: Sink) -> None:
        """Call ``sink(item)`` on the capture thread for every item from now on."""
        self._sinks.append(sink)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._guarded_run, name=f"capture-{self.backend}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop reading and wait for the capture thread (at most ``timeout_s`` seconds)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def wait_until_ended(self, timeout_s: float | None = None) -> bool:
        """Block until the input ended (files) or the capture stopped; True if it did."""
        return self.ended.wait(timeout_s)

    def _guarded_run(self) -> None:
        try:
            self._run()
        except Exception as error:  # reported as infrastructure evidence, never lost silently
            self.error = f"{type(error).__name__}: {error}"
        finally:
            self.ended.set()

    def _run(self) -> None:
        raise NotImplementedError

    def _deliver(self, item: VideoFrame | AudioChunk) -> None:
        if isinstance(item, VideoFrame):
            now = time.monotonic()
            if self._last_video_arrival is not None:
                gap = now - self._last_video_arrival
                if gap > self.stall_threshold_s:
                    self.health.record_stall(item.t, gap)
            self._last_video_arrival = now
            self.clock.observe(item.t, now)
        for sink in self._sinks:
            sink(item)

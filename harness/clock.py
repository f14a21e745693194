"""One clock for a test: maps the host's monotonic time onto the capture timeline.

Key presses and expectation windows happen in host time; detectors report capture time.
Each arriving video frame gives a sample of ``arrival - t``; the smallest one seen is the
capture path's lowest latency, and host time ``h`` maps to capture time ``h - offset``:
the capture time of the picture the device was putting out at that host instant.
"""

from __future__ import annotations

import threading
import time


class CaptureClock:
    """Host monotonic seconds <-> capture-timeline seconds."""

    def __init__(self) -> None:
        self._offset: float | None = None
        self._last_t: float | None = None
        self._last_arrival: float | None = None
        self._lock = threading.Lock()

    def observe(self, t: float, arrival: float | None = None) -> None:
        """A video frame with capture time ``t`` arrived at host time ``arrival`` (default now)."""
        arrival = time.monotonic() if arrival is None else arrival
        with self._lock:
            offset = arrival - t
            if self._offset is None or offset < self._offset:
                self._offset = offset
            self._last_t, self._last_arrival = t, arrival

    @property
    def synced(self) -> bool:
        """Whether at least one frame has arrived, so the mapping is known."""
        return self._offset is not None

    def capture_time(self, host: float | None = None) -> float:
        """Capture time of host monotonic time ``host`` (default now); 0.0 before any frame."""
        host = time.monotonic() if host is None else host
        with self._lock:
            return 0.0 if self._offset is None else host - self._offset

    @property
    def latest_frame_t(self) -> float | None:
        """Capture time of the newest frame, or None."""
        return self._last_t

    def seconds_since_last_frame(self, host: float | None = None) -> float | None:
        """Host seconds since the newest frame arrived, or None before the first."""
        host = time.monotonic() if host is None else host
        with self._lock:
            return None if self._last_arrival is None else host - self._last_arrival

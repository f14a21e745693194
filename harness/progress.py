"""One live line per test while it runs: scenario, capture rate, detector lag, events so far."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from harness.monitor import Monitor


class ProgressLine:
    """Rewrites one terminal line every ``interval_s`` seconds (a final line when not a tty)."""

    def __init__(
        self,
        monitor: Monitor,
        scenario: str,
        write: Callable[[str], None],
        live: bool,
        interval_s: float = 1.0,
    ) -> None:
        self.monitor, self.scenario, self.write, self.live = monitor, scenario, write, live
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="onglass-progress", daemon=True)
        self._started = time.monotonic()
        self._width = 0

    def line(self) -> str:
        """The status text: capture frames/s, detector lag in seconds, events so far."""
        status = self.monitor.status()
        elapsed = max(time.monotonic() - self._started, 1e-3)
        return (
            f"  onglass {self.scenario}: t={status['capture_t']:.1f} s, "
            f"capture {status['video_frames'] / elapsed:.1f} fps, "
            f"detector lag {status['lag_s']:.2f} s, events {status['events']}"
        )

    def start(self) -> None:
        if self.live:
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            text = self.line()
            self.write("\r" + text.ljust(self._width))
            self._width = len(text)

    def stop(self) -> None:
        self._stop.set()
        if self.live and self._thread.is_alive():
            self._thread.join(2)
            self.write("\r" + " " * self._width + "\r")
        else:
            self.write(self.line() + "\n")

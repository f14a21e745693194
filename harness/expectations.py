"""What the script said would happen, and the verdict on each event against it.

Two kinds of declarations, both on the capture timeline:

* **Watch periods**: from the start of playback (``Monitor.wait_for_playback``) until the
  script says it ended (``Monitor.playback_ended``). Events that begin outside any watch
  period (menus, the catalogue after the title ends) are not defects.
* **Expected windows**: ``Monitor.expect("still")`` around a pause, ``expect("black")``
  around a fade the script asks for, ``expect("silence")`` around a mute. An event of a matching detector that begins and ends
  inside a window, widened by ``margin_s`` each side, is expected.

``margin_s`` absorbs the device's reaction time to a key press and the capture latency.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import StrEnum

from detectors.event import Event

KINDS: dict[str, frozenset[str]] = {
    # a picture meant to stop (pause, stop) may hitch as it stops, and its sound goes silent
    "still": frozenset({"freeze", "stutter", "silence"}),
    "freeze": frozenset({"freeze"}),
    "black": frozenset({"black"}),
    "silence": frozenset({"silence"}),  # a scripted mute, a silent passage of the content
}
"""Expectation kinds a script may declare, and the detectors each one covers."""


class Verdict(StrEnum):
    DEFECT = "defect"
    EXPECTED = "expected"
    OUTSIDE_PLAYBACK = "outside playback"


@dataclass
class Window:
    """A span of capture time, in seconds; ``end`` is None while still open."""

    start: float
    end: float | None = None
    detectors: frozenset[str] = frozenset()
    label: str = ""


class Expectations:
    """Watch periods and expected windows of one test. Thread-safe."""

    def __init__(self, margin_s: float = 1.0) -> None:
        if margin_s < 0:
            raise ValueError(f"margin_s: must be >= 0 seconds, got {margin_s}")
        self.margin_s = margin_s
        self.watch: list[Window] = []
        self.windows: list[Window] = []
        self._lock = threading.Lock()

    @staticmethod
    def detectors_for(kinds: tuple[str, ...]) -> frozenset[str]:
        """The detectors covered by expectation ``kinds``; ValueError names an unknown kind."""
        covered: set[str] = set()
        for kind in kinds:
            if kind not in KINDS:
                raise ValueError(
                    f"unknown expectation {kind!r} (known: {', '.join(sorted(KINDS))})"
                )
            covered |= KINDS[kind]
        return frozenset(covered)

    def start_watching(self, t: float) -> None:
        """Playback started at capture time ``t``; a no-op while already watching."""
        with self._lock:
            if not self.watch or self.watch[-1].end is not None:
                self.watch.append(Window(t, label="playback"))

    def stop_watching(self, t: float) -> None:
        """Playback ended; events starting after ``t - margin_s`` are outside playback."""
        with self._lock:
            if self.watch and self.watch[-1].end is None:
                self.watch[-1].end = max(self.watch[-1].start, t - self.margin_s)

    @property
    def playback_start(self) -> float | None:
        """Capture time the first watch period started, or None."""
        return self.watch[0].start if self.watch else None

    def open_window(self, kinds: tuple[str, ...], t: float) -> Window:
        window = Window(t, None, self.detectors_for(kinds), "+".join(kinds))
        with self._lock:
            self.windows.append(window)
        return window

    def close_window(self, window: Window, t: float) -> None:
        with self._lock:
            window.end = t

    def verdict(self, event: Event) -> Verdict:
        """Whether ``event`` is a defect, expected, or outside playback."""
        with self._lock:
            watched = any(
                w.start <= event.start and (w.end is None or event.start < w.end)
                for w in self.watch
            )
            if not watched:
                return Verdict.OUTSIDE_PLAYBACK
            for window in self.windows:
                if event.detector not in window.detectors:
                    continue
                end = float("inf") if window.end is None else window.end + self.margin_s
                if window.start - self.margin_s <= event.start and event.end <= end:
                    return Verdict.EXPECTED
            return Verdict.DEFECT

"""The monitor: runs detectors over a live capture and judges their events.

The capture thread hands every item to ``Monitor._on_item``, which only enqueues it for the
detector workers (one thread per detector) and the ring buffer: analysis never blocks the
capture. ``finish()`` stops the capture, drains the workers, flushes the detectors and judges
every event against the script's expectations.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field

from detectors.event import Event
from detectors.media import AudioChunk, VideoFrame
from detectors.protocol import Detector
from detectors.settings import require
from harness.capture.base import Capture
from harness.errors import NoSignal, PlaybackNotStarted
from harness.expectations import Expectations, Verdict
from harness.playback_probe import PlaybackProbe, ProbeSettings

_END = object()
SOUND_LEAD_S = 0.5
"""Seconds sound may precede motion and playback still counts as starting with the picture."""


@dataclass(frozen=True)
class MonitorSettings:
    """How the monitor judges a test; every field can be set per rig (``monitor:``)."""

    expect_margin_s: float = 1.0
    """Seconds an expected window is widened on each side (key-press reaction, latency)."""
    no_signal_timeout_s: float = 10.0
    """Seconds without a first video frame before the capture counts as "no signal"."""
    max_missing_frames: int = 0
    """Frames the capture may lose (gaps in ``n``) before the test is marked broken."""
    max_stall_s: float = 1.0
    """Longest gap between arriving video frames, in seconds, that is not a capture stall."""
    queue_seconds: float = 30.0
    """Seconds of media (capture time) a lagging detector may fall behind before items are
    dropped, whatever the frame rate and the sound device's block size."""

    def __post_init__(self) -> None:
        for name in ("expect_margin_s", "max_stall_s"):
            require(
                getattr(self, name) >= 0, name, f"must be >= 0 seconds, got {getattr(self, name)}"
            )
        for name in ("no_signal_timeout_s", "queue_seconds"):
            require(
                getattr(self, name) > 0, name, f"must be > 0 seconds, got {getattr(self, name)}"
            )
        require(
            self.max_missing_frames >= 0,
            "max_missing_frames",
            f"must be >= 0 frames, got {self.max_missing_frames}",
        )


@dataclass
class JudgedEvent:
    event: Event
    verdict: Verdict


@dataclass
class MonitorReport:
    """Everything the monitor found in one test."""

    events: list[JudgedEvent] = field(default_factory=list)
    infrastructure: list[str] = field(default_factory=list)
    playback_start: float | None = None
    health: dict = field(default_factory=dict)
    recording: str | None = None
    origin_s: float = 0.0
    """Where the capture timeline starts in the recording's own timestamps, in seconds."""
    duration_s: float = 0.0
    """Capture time of the last video frame, in seconds."""
    watch: list[tuple[float, float]] = field(default_factory=list)
    """Playback (watch) periods as (start, end) capture seconds."""
    expected: list[tuple[float, float, str]] = field(default_factory=list)
    """Expected windows as (start, end, kinds) capture seconds."""

    @property
    def defects(self) -> list[Event]:
        return [j.event for j in self.events if j.verdict is Verdict.DEFECT]

    def describe(self, event: Event) -> str:
        """One line: detector, span on the capture timeline, playback-relative start, score."""
        where = f"{event.start:7.2f}-{event.end:.2f} s"
        if self.playback_start is not None:
            where += f" (playback +{event.start - self.playback_start:.2f} s)"
        return f"{event.detector:<8} {where}, {event.duration:.2f} s long, score {event.score:.2f}"

    def defect_message(self) -> str:
        lines = [
            f"{len(self.defects)} unexpected event(s) (a detector fired outside an expected window):"
        ]
        lines += [f"  {self.describe(e)}" for e in self.defects]
        if self.recording:
            lines.append(f"  recording: {self.recording}")
        return "\n".join(lines)

    def infrastructure_message(self) -> str:
        lines = ["infrastructure problem (test broken, not a product defect):"]
        lines += [f"  {p}" for p in self.infrastructure]
        if self.defects:
            lines.append("  events seen meanwhile (not judged):")
            lines += [f"    {self.describe(e)}" for e in self.defects]
        return "\n".join(lines)


class _Worker:
    """One detector on its own thread, fed through a queue bounded in media time: an item
    more than ``queue_s`` seconds (capture time) ahead of what the detector last finished
    is dropped and counted, so the bound holds at any frame rate and audio block size."""

    def __init__(self, detector: Detector | PlaybackProbe, queue_s: float) -> None:
        self.detector = detector
        self.queue_s = queue_s
        self.queue: queue.Queue = queue.Queue()
        self.events: list[Event] = []
        self.dropped = 0
        self.processed_t: float | None = None
        self.error: str | None = None
        self.thread = threading.Thread(
            target=self._run, name=f"detector-{detector.name}", daemon=True
        )

    def offer(self, item: VideoFrame | AudioChunk) -> None:
        done = self.processed_t
        if done is not None and item.t - done > self.queue_s:
            self.dropped += 1
            return
        self.queue.put_nowait(item)

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is _END:
                break
            if self.error is not None:
                continue
            try:
                self.events.extend(self.detector.feed(item))
                self.processed_t = item.t
            except Exception as error:  # a broken detector is reported, the capture goes on
                self.error = f"{type(error).__name__}: {error}"
        if self.error is None:
            try:
                self.events.extend(self.detector.flush())
            except Exception as error:
                self.error = f"{type(error).__name__}: {error}"


class Monitor:
    """Runs detectors live over a capture; the scenario's view of what the device shows."""

    def __init__(
        self,
        capture: Capture,
        detectors: list[Detector],
        settings: MonitorSettings | None = None,
        probe_settings: ProbeSettings | None = None,
        step: Callable[[str], AbstractContextManager] | None = None,
    ) -> None:
        self.capture = capture
        self.step = step or (lambda title: nullcontext())
        """Wraps each scripted call (a report step); the pytest plugin sets ``allure.step``."""
        self.settings = settings or MonitorSettings()
        self.expectations = Expectations(self.settings.expect_margin_s)
        self.probe = PlaybackProbe(probe_settings)
        self._workers = [_Worker(d, self.settings.queue_seconds) for d in detectors]
        self.detector_names = [d.name for d in detectors]
        self._probe_worker = _Worker(self.probe, self.settings.queue_seconds)
        self.latest_frame: VideoFrame | None = None
        """The newest captured frame (evidence of what is on screen now), or None."""
        self._started_at: float | None = None
        self._report: MonitorReport | None = None

    # ---- lifecycle ---------------------------------------------------------------
    def start(self) -> None:
        """Start the detector workers and the capture."""
        for worker in [*self._workers, self._probe_worker]:
            worker.thread.start()
        self.capture.subscribe(self._on_item)
        self._started_at = time.monotonic()
        self.capture.start()

    def _on_item(self, item: VideoFrame | AudioChunk) -> None:
        kind = "video" if isinstance(item, VideoFrame) else "audio"
        if kind == "video":
            self.latest_frame = item
        for worker in [*self._workers, self._probe_worker]:
            if kind in worker.detector.consumes:
                worker.offer(item)

    # ---- the scenario's API ----------------------------------------------------------
    def now(self) -> float:
        """The current capture time in seconds."""
        return self.capture.clock.capture_time()

    def wait_for_signal(self, timeout_s: float | None = None) -> None:
        """Block until the first video frame arrives; ``NoSignal`` (broken) if none does."""
        timeout_s = self.settings.no_signal_timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout_s
        while not self.capture.clock.synced:
            if time.monotonic() > deadline or self.capture.ended.is_set():
                detail = f" ({self.capture.error})" if self.capture.error else ""
                raise NoSignal(f"no video from the capture within {timeout_s:.0f} s{detail}")
            time.sleep(0.05)

    def wait_for_playback(self, timeout: float = 10.0) -> float:
        """Wait for playback: a moving picture and sound, both after now.

        Returns the capture time (seconds) where playback started: the first moving
        frame, or the first sound when that came more than ``SOUND_LEAD_S`` earlier (the
        picture is stuck or black while the title plays). From there on the monitor
        watches for defects. Raises
        ``PlaybackNotStarted`` (a failure) if the picture does not move or the sound stays
        silent for ``timeout`` seconds, ``NoSignal`` (broken) if no video arrives at all.
        """
        self.wait_for_signal()
        since = self.now()
        with self.step(f"wait for playback (from {since:.2f} s, up to {timeout:g} s)"):
            return self._wait_for_playback(since, timeout)

    def _wait_for_playback(self, since: float, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while True:
            motion = self.probe.first_motion_after(since)
            sound = self.probe.first_sound_after(since)
            if motion is not None and sound is not None:
                start = sound if sound < motion - SOUND_LEAD_S else motion
                self.expectations.start_watching(start)
                return start
            if time.monotonic() > deadline:
                missing = " and ".join(
                    what
                    for what, seen in (("moving picture", motion), ("sound", sound))
                    if seen is None
                )
                raise PlaybackNotStarted(
                    f"playback did not start within {timeout:g} s: no {missing} after "
                    f"capture time {since:.2f} s"
                )
            self.probe.wait(0.1)

    @contextmanager
    def expect(self, *kinds: str) -> Iterator[None]:
        """Declare that the picture may be ``still`` / ``black`` while the block runs.

        Matching events that start and end inside the block (widened by
        ``expect_margin_s``) are expected, not defects.
        """
        window = self.expectations.open_window(kinds, self.now())
        try:
            with self.step(f"expect {' + '.join(kinds)} (from {window.start:.2f} s)"):
                yield
        finally:
            self.expectations.close_window(window, self.now())

    def playback_ended(self) -> None:
        """Declare that playback ended (the title finished or the script stopped it)."""
        now = self.now()
        with self.step(f"playback ended ({now:.2f} s)"):
            self.expectations.stop_watching(now)

    def status(self) -> dict[str, float | int]:
        """Live figures: capture time (s), frames so far, detector lag (s), events so far."""
        latest = self.capture.clock.latest_frame_t or 0.0
        processed = [w.processed_t for w in self._workers if w.processed_t is not None]
        lag = latest - min(processed) if processed and len(processed) == len(self._workers) else 0.0
        return {
            "capture_t": latest,
            "video_frames": self.capture.health.video_frames,
            "lag_s": max(0.0, lag),
            "events": sum(len(w.events) for w in self._workers),
        }

    # ---- verdict -------------------------------------------------------------------
    def finish(self) -> MonitorReport:
        """Stop the capture, finish every detector and judge every event (idempotent)."""
        if self._report is not None:
            return self._report
        live = not self.capture.ended.is_set()  # a file that ended is not a stalled source
        silent = self.capture.clock.seconds_since_last_frame() if live else None
        self.capture.stop()
        for worker in [*self._workers, self._probe_worker]:
            worker.queue.put(_END)
        for worker in [*self._workers, self._probe_worker]:
            worker.thread.join(timeout=60)
        end = self.capture.clock.latest_frame_t or 0.0
        source = getattr(self.capture, "source", None)
        report = MonitorReport(
            playback_start=self.expectations.playback_start,
            health=self.capture.health.as_dict(),
            recording=str(self.capture.recording) if self.capture.recording else None,
            origin_s=(source.timeline.origin or 0.0)
            if source is not None
            else getattr(self.capture, "recording_origin_s", 0.0),
            duration_s=end,
            watch=[(w.start, end if w.end is None else w.end) for w in self.expectations.watch],
            expected=[
                (w.start, end if w.end is None else w.end, w.label)
                for w in self.expectations.windows
            ],
        )
        events = sorted((e for w in self._workers for e in w.events), key=lambda e: e.start)
        report.events = [JudgedEvent(e, self.expectations.verdict(e)) for e in events]
        report.infrastructure = self._infrastructure_problems(silent)
        self._report = report
        return report

    def _infrastructure_problems(self, silent_s: float | None) -> list[str]:
        """Lab problems; ``silent_s``: seconds without video when the test ended (live only)."""
        health = self.capture.health
        problems: list[str] = []
        if health.video_frames == 0:
            detail = f": {self.capture.error}" if self.capture.error else ""
            problems.append(f"no signal: the capture delivered no video{detail}")
        if health.missing_frames > self.settings.max_missing_frames:
            first_t, _ = health.gaps[0]
            problems.append(
                f"capture lost {health.missing_frames} frame(s) in {len(health.gaps)} gap(s), "
                f"first at {first_t:.2f} s (allowed: {self.settings.max_missing_frames})"
            )
        if health.video_frames and silent_s is not None and silent_s > self.settings.max_stall_s:
            problems.append(
                f"capture stalled: no video for the last {silent_s:.2f} s "
                f"(since {self.capture.clock.latest_frame_t:.2f} s)"
            )
        stalls = [(t, s) for t, s in health.stalls if s > self.settings.max_stall_s]
        if stalls:
            t, s = max(stalls, key=lambda ts: ts[1])
            problems.append(
                f"capture stalled {len(stalls)} time(s), longest {s:.2f} s at {t:.2f} s"
            )
        for worker in [*self._workers, self._probe_worker]:
            if worker.dropped:
                problems.append(
                    f"detector {worker.detector.name} fell behind and skipped {worker.dropped} item(s)"
                )
            if worker.error:
                problems.append(f"detector {worker.detector.name} crashed: {worker.error}")
            if worker.thread.is_alive():
                problems.append(
                    f"detector {worker.detector.name} did not finish its queue: results incomplete"
                )
        return problems

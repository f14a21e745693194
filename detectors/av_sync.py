"""``av_sync``: audio-video offset measured at flash + beep markers.

A sync test stream shows a full-screen white flash on a dark picture and plays a tone burst
at the same instant, about once a second (onglass's "AV Sync" title; equally a file made by
FFmpeg's lavfi, numpy, or a test-pattern generator). The detector finds both halves of each
marker on its own timeline and pairs them:

* **Flash time** (video): each frame's mean luma on the shared thumbnail, 0..1 of full scale.
  A flash starts where a dark frame (mean below ``dark_level``) is followed by a nearly
  uniform bright one (mean at least ``flash_level``, thumbnail standard deviation at most
  ``flash_max_texture``). A frame is taken to show the picture of the interval
  [t, t + frame interval); a frame only partly lit (the flash began during it: a blended or
  exposed capture, or a generator that renders sub-frame onsets) has a level ``f`` between the
  dark level before and the plateau after, so the flash began ``(1 - f)`` of an interval after
  that frame's time: sub-frame interpolation.
* **Beep time** (audio, mono mix): a rise of at least ``beep_rise_db`` from the
  ``quiet_window_s`` before to the 10 ms after, to at least ``beep_level_dbfs``, that is a
  tone (at least ``min_tone_purity`` of the burst's energy near its spectral peak). The onset
  is refined to a fraction of a sample: the signal is demodulated at the tone's frequency,
  smoothed by a centred window of whole tone periods, and the onset is where that envelope
  first reaches half its plateau, interpolated between samples (a centred smoother moves a
  step's half-way point nowhere).
* **Pairing**: each flash takes the nearest beep within ``pair_window_s``; flashes or beeps
  without a partner are not markers (content without markers yields nothing).

**Sign convention** (ITU-R BT.1359's): ``offset_ms = flash time - beep time - calibration``,
positive when the sound comes *early* (leads the picture), negative when it comes late.
BT.1359 finds +45 ms (audio early) and -125 ms (audio late) detectable: those are the default
tolerances. (av-drift-detector reports the opposite sign: positive = audio late.)
``calibration_ms`` is the rig's own capture-chain offset (``onglass calibrate --av``),
subtracted from every marker.

**Stamped pattern**: av-drift-detector's test pattern (the "Sync Test" title, or its
``generate`` files) stamps every frame and every frame's worth of sound with the frame number;
when a probe reads a stamp, that stream is measured with av-drift-detector itself
(``StampReader`` + ``analyze_frames``, per frame, a fraction of a millisecond), one marker per
``stamp_window_s``. It measured this better than anything written here would, so it is used as
a dependency rather than re-implemented (``benchmarks/results/av_sync.md``).

**Events**: an ``av_sync`` event covers each run of at least ``min_markers`` consecutive
markers out of tolerance, with the mean, span (min, max) and per-marker offsets. Within each
stretch of markers without a jump larger than ``jump_ms`` between neighbours, a linear fit
of offset against time gives the drift in ms per minute; at least ``drift_min_markers``
markers drifting faster than ``drift_ms_per_min`` make a ``drift`` event (``kind: drift``).
Every measured marker is kept in ``markers`` for reports and benchmarks.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from detectors.event import Event
from detectors.media import AudioChunk, VideoFrame
from detectors.settings import require

ONSET_HOP_S = 0.001
"""Hop of the coarse loudness track used to find burst candidates, in seconds."""
LOUD_WINDOW_S = 0.010
"""Window after a candidate onset whose level must reach ``beep_level_dbfs``, in seconds."""
MAX_JITTER_S = 0.02
"""Audio chunks whose time differs from the end of the previous one by more than this (in
seconds) start a new buffer; smaller differences (a live capture's clock corrections) move
the buffer onto the newer time."""
TONE_WINDOW_S = 0.030
"""Length of the burst analysed for its frequency and purity, in seconds."""


@dataclass(frozen=True)
class AvSyncSettings:
    """Thresholds of the AV-sync detector (offsets in ms, positive = audio early)."""

    early_tolerance_ms: float = 45.0
    """Largest offset with the audio early (leading) that is in sync, ms (BT.1359: +45)."""
    late_tolerance_ms: float = 125.0
    """Largest offset with the audio late (lagging) that is in sync, ms (BT.1359: -125)."""
    calibration_ms: float = 0.0
    """The rig's own capture-chain offset in ms (same sign), subtracted from each marker."""
    min_markers: int = 2
    """Consecutive out-of-tolerance markers that make an event."""
    drift_ms_per_min: float = 10.0
    """Drift (slope of offset over time, ms per minute, either sign) reported as a defect."""
    drift_min_markers: int = 8
    """Markers a drift fit needs before it is judged."""
    jump_ms: float = 15.0
    """A change between neighbouring markers larger than this (ms) is a step, not drift:
    the drift fit restarts there."""
    dark_level: float = 0.25
    """Mean luma (0..1) below which a frame counts as dark (before a flash)."""
    flash_level: float = 0.6
    """Mean luma (0..1) a flash's brightest frame reaches at least."""
    flash_max_texture: float = 0.15
    """Largest luma standard deviation (0..1) of a flash frame: a flash is full-screen."""
    beep_level_dbfs: float = -40.0
    """Level (RMS, dBFS) a beep reaches in its first 10 ms at least."""
    beep_rise_db: float = 20.0
    """How far (dB) a beep rises above the quiet before it."""
    quiet_window_s: float = 0.05
    """Length of the quiet before a beep, in seconds."""
    min_tone_purity: float = 0.5
    """Share (0..1) of a burst's energy within 5 % of its peak frequency: a beep is a tone."""
    stamps: bool = True
    """Also measure av-drift-detector's stamped pattern ("Sync Test"), with av-drift-detector."""
    stamp_window_s: float = 2.0
    """Seconds of stamped frames measured together as one marker."""
    pair_window_s: float = 0.45
    """Largest distance between a flash's beep and where the calibration expects it, in
    seconds (under half the marker period, so neighbouring markers are never confused)."""

    def __post_init__(self) -> None:
        for name in ("early_tolerance_ms", "late_tolerance_ms", "jump_ms", "drift_ms_per_min"):
            require(getattr(self, name) > 0, name, f"must be > 0 ms, got {getattr(self, name)}")
        require(
            self.stamp_window_s > 0,
            "stamp_window_s",
            f"must be > 0 seconds, got {self.stamp_window_s}",
        )
        require(self.min_markers >= 1, "min_markers", f"must be >= 1, got {self.min_markers}")
        require(
            self.drift_min_markers >= 3,
            "drift_min_markers",
            f"must be >= 3, got {self.drift_min_markers}",
        )
        require(
            0.0 <= self.dark_level < self.flash_level <= 1.0,
            "flash_level",
            f"need 0 <= dark_level < flash_level <= 1, got {self.dark_level}, {self.flash_level}",
        )
        require(
            0.0 < self.pair_window_s <= 1.0,
            "pair_window_s",
            f"must be in (0, 1] seconds, got {self.pair_window_s}",
        )
        require(
            0.0 < self.min_tone_purity <= 1.0,
            "min_tone_purity",
            f"must be in (0, 1], got {self.min_tone_purity}",
        )


@dataclass(frozen=True)
class Marker:
    """One measured flash + beep pair (seconds on the capture timeline).

    ``beep_s`` is where the sound was captured, before any calibration: ``flash_s - beep_s``
    is the raw offset for flash + beep markers and stamped windows alike."""

    flash_s: float
    beep_s: float
    offset_ms: float
    """flash - beep - calibration, in ms: positive = audio early."""


class FlashFinder:
    """Flash onsets (seconds, sub-frame) from video frames fed in order."""

    MAX_RISE_FRAMES = 5
    """Frames a flash may take to reach its plateau."""

    def __init__(self, settings: AvSyncSettings) -> None:
        self.settings = settings
        self._steps: deque[float] = deque(maxlen=15)  # recent frame-to-frame steps, seconds
        self._last_t: float | None = None
        self._dark: float | None = None  # level of the dark frame before a rise
        self._rising: list[tuple[float, float, float]] = []  # (t, mean, std) since the dark
        self.video_t = float("-inf")

    @property
    def interval(self) -> float:
        """The frame interval in seconds (median of the recent steps; 0.04 before any)."""
        return float(np.median(self._steps)) if self._steps else 0.04

    def feed(self, frame: VideoFrame) -> list[float]:
        """Take the next frame (in time order); returns the flash onsets (capture seconds,
        sub-frame) it completed: a flash is judged once its rise has stopped."""
        thumb = frame.thumbnail()
        mean, std = float(thumb.mean()) / 255.0, float(thumb.std()) / 255.0
        if self._last_t is not None and frame.t > self._last_t:
            self._steps.append(frame.t - self._last_t)
        self._last_t = self.video_t = frame.t
        if not self._rising:
            if mean < self.settings.dark_level:
                self._dark = mean
                return []
            if self._dark is None:
                return []
        self._rising.append((frame.t, mean, std))
        stopped = len(self._rising) >= 2 and mean <= self._rising[-2][1] + 0.01
        if stopped or len(self._rising) >= self.MAX_RISE_FRAMES:
            return self._judge_rise()
        return []

    def _judge_rise(self) -> list[float]:
        settings, dark = self.settings, self._dark
        rising, self._rising = self._rising, []
        self._dark = rising[-1][1] if rising[-1][1] < settings.dark_level else None
        assert dark is not None
        peak = max(level for _, level, _ in rising)
        plateau = [std for _, level, std in rising if level >= peak - 0.02]
        if peak < settings.flash_level or min(plateau) > settings.flash_max_texture:
            return []
        for t, level, _ in rising:
            lit = (level - dark) / (peak - dark)
            if lit > 0.03:  # the first frame the flash reached (maybe only for part of it)
                return [t + (1.0 - min(1.0, lit)) * self.interval]
        return []


class BeepFinder:
    """Tone-burst onsets (seconds, sub-sample) from audio chunks fed in order."""

    def __init__(self, settings: AvSyncSettings) -> None:
        self.settings = settings
        self._buffer = np.zeros(0, np.float32)
        self._buffer_t = 0.0  # time of _buffer[0]
        self._rate = 0
        self._scanned = 0  # samples of _buffer already scanned for onsets
        self._refractory_until = float("-inf")
        self.audio_t = float("-inf")

    def feed(self, chunk: AudioChunk) -> list[float]:
        """Take the next chunk (in time order, any channel count: mixed to mono); returns the
        beep onsets (capture seconds, sub-sample) found up to ``ready_t``. A chunk more than
        ``MAX_JITTER_S`` away from the previous one's end starts a new buffer."""
        mono = chunk.mono()
        if self._rate != chunk.rate or abs(chunk.t - self._buffer_end()) > MAX_JITTER_S:
            # first chunk, a new rate or a gap: start afresh at this chunk
            self._rate, self._buffer, self._buffer_t, self._scanned = chunk.rate, mono, chunk.t, 0
        else:  # the newest chunk's time is the best known: the buffer follows it
            self._buffer_t = chunk.t - len(self._buffer) / chunk.rate
            self._buffer = np.concatenate([self._buffer, mono])
        self.audio_t = chunk.end
        return self._scan(final=False)

    @property
    def ready_t(self) -> float:
        """Capture time up to which every beep onset has been found."""
        return self.audio_t - self._tail() / self._rate if self._rate else float("-inf")

    def _tail(self) -> int:
        """Samples at the end of the buffer a scan leaves for later (a burst's analysis)."""
        loud = round(LOUD_WINDOW_S * self._rate)
        return (
            round(TONE_WINDOW_S * self._rate) + 3 * loud + max(1, round(ONSET_HOP_S * self._rate))
        )

    def flush(self) -> list[float]:
        """The input ended: the beep onsets (capture seconds) in the buffer's last samples."""
        return self._scan(final=True)

    def _buffer_end(self) -> float:
        return self._buffer_t + (len(self._buffer) / self._rate if self._rate else 0.0)

    def _scan(self, final: bool) -> list[float]:
        settings, rate = self.settings, self._rate
        hop = max(1, round(ONSET_HOP_S * rate))
        quiet = round(settings.quiet_window_s * rate)
        loud = round(LOUD_WINDOW_S * rate)
        tail = self._tail()
        found: list[float] = []
        end = len(self._buffer) - (0 if final else tail)
        if end - quiet <= 0:
            return found
        power = np.square(self._buffer.astype(np.float64))
        cumulative = np.concatenate([[0.0], np.cumsum(power)])
        start = max(quiet, self._scanned)
        starts = np.arange(start, max(start, end - loud), hop)
        if len(starts):
            before = (cumulative[starts] - cumulative[starts - quiet]) / quiet
            after = (cumulative[starts + loud] - cumulative[starts]) / loud
            before_db = 10 * np.log10(before + 1e-12)
            after_db = 10 * np.log10(after + 1e-12)
            hits = np.nonzero(
                (after_db >= settings.beep_level_dbfs)
                & (after_db - before_db >= settings.beep_rise_db)
            )[0]
            for index in hits:
                sample = int(starts[index])
                t = self._buffer_t + sample / rate
                if t < self._refractory_until:
                    continue
                onset = self._refine(sample)
                if onset is not None:
                    found.append(self._buffer_t + onset / rate)
                    self._refractory_until = t + settings.pair_window_s
            self._scanned = int(starts[-1]) + hop
        # keep what a later scan still needs
        drop = max(0, min(self._scanned - quiet - loud, len(self._buffer) - quiet - tail))
        if drop > 0:
            self._buffer = self._buffer[drop:]
            self._buffer_t += drop / rate
            self._scanned -= drop
        return found

    def _refine(self, sample: int) -> float | None:
        """Sub-sample onset (index into the buffer) of the burst near ``sample``, or None when
        the burst there is not a tone."""
        rate, buffer = self._rate, self._buffer
        loud = round(LOUD_WINDOW_S * rate)
        lo = max(0, sample - 2 * loud)
        tone = buffer[sample + loud : sample + loud + round(TONE_WINDOW_S * rate)]
        if len(tone) < 32:
            return None
        spectrum = np.abs(np.fft.rfft(tone * np.hanning(len(tone)), n=8 * len(tone))) ** 2
        freqs = np.fft.rfftfreq(8 * len(tone), 1.0 / rate)
        peak = int(np.argmax(spectrum[1:])) + 1
        frequency = float(freqs[peak])
        near = np.abs(freqs - frequency) <= max(0.05 * frequency, 2.5 * rate / len(tone))
        if spectrum[near].sum() < self.settings.min_tone_purity * spectrum.sum():
            return None
        segment = buffer[lo : sample + 4 * loud].astype(np.float64)
        n = np.arange(len(segment))
        base = segment * np.exp(-2j * np.pi * frequency / rate * n)
        period = rate / frequency
        width = max(3, round(period * max(1, round(0.5e-3 * frequency))))  # whole periods
        width += 1 - width % 2  # odd: a centred window
        kernel = np.ones(width) / width
        envelope = 2 * np.abs(np.convolve(base, kernel, mode="same"))
        plateau_from = sample - lo + loud + width
        plateau = envelope[plateau_from : plateau_from + loud]
        if len(plateau) == 0:
            return None
        half = 0.5 * float(np.median(plateau))
        below = np.nonzero(envelope[:plateau_from] < half)[0]
        if len(below) == 0:
            return None
        i = int(below[-1])
        a, b = envelope[i], envelope[i + 1]
        return lo + i + (half - a) / (b - a) if b > a else float(lo + i)


class StampedSync:
    """av-drift-detector's stamped pattern (the "Sync Test" title), measured by
    av-drift-detector itself: its ``StampReader`` reads each frame's number, and its
    ``analyze_frames`` matches them against the numbers the sound carries, per frame to a
    fraction of a millisecond. Every ``window_s`` of stamped frames gives one marker (the
    median over the window, sign turned to onglass's: positive = audio early), measured once
    the sound ``AUDIO_MARGIN_S`` past the window has arrived.

    Stamped mode switches on when a probe (every ``PROBE_EVERY`` frames) reads a stamp, and
    off after ``PROBE_EVERY`` frames in a row without one."""

    PROBE_EVERY = 25
    AUDIO_MARGIN_S = 0.6
    """Sound kept on either side of a window, in seconds (more than the largest offset)."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._seen = 0
        self._reader = None  # av_drift_detector.StampReader of the window being read
        self._window_start = 0.0
        self._misses = 0
        self._closed: list[list[dict]] = []  # windows read, waiting for their sound
        self._audio: deque[AudioChunk] = deque()
        self._size = (0, 0)

    def feed_audio(self, chunk: AudioChunk) -> list[tuple[float, float]]:
        self._audio.append(chunk)
        starts = [w[0]["time"] for w in self._closed]
        if self._reader is not None:
            starts.append(self._window_start)
        keep_from = min(starts, default=chunk.end - 1.0) - self.AUDIO_MARGIN_S
        while self._audio and self._audio[0].end < keep_from:
            self._audio.popleft()
        return self._measure_ready(final=False)

    def feed_video(self, frame: VideoFrame) -> list[tuple[float, float]]:
        import av_drift_detector

        self._seen += 1
        if self._reader is None and self._seen % self.PROBE_EVERY:
            return []
        luma = np.ascontiguousarray(frame.luma)
        height, width = luma.shape
        if self._reader is None:
            if av_drift_detector.read_frame(luma, width, height, try_qr=False) is None:
                return []
            self._reader = av_drift_detector.StampReader(try_qr=False)
            self._window_start, self._misses = frame.t, 0
        elif frame.t >= self._window_start + self.window_s:
            self._close_window()
            self._reader = av_drift_detector.StampReader(try_qr=False)
            self._window_start = frame.t
        self._size = (width, height)
        read = self._reader.read(luma, width, height, frame.t)
        self._misses = 0 if read.get("stamp") else self._misses + 1
        if self._misses >= self.PROBE_EVERY:  # the stamps stopped
            self._close_window()
        return self._measure_ready(final=False)

    def flush(self) -> list[tuple[float, float]]:
        self._close_window()
        return self._measure_ready(final=True)

    def _close_window(self) -> None:
        if self._reader is not None:
            frames = self._reader.finish()
            if len(frames) >= 5:
                self._closed.append(frames)
            self._reader = None

    def _measure_ready(self, final: bool) -> list[tuple[float, float]]:
        found = []
        audio_end = self._audio[-1].end if self._audio else float("-inf")
        while self._closed and (
            final or audio_end >= self._closed[0][-1]["time"] + self.AUDIO_MARGIN_S
        ):
            found += self._measure(self._closed.pop(0))
        return found

    def _measure(self, frames: list[dict]) -> list[tuple[float, float]]:
        """(window middle, offset ms) of one window of read frames."""
        import av_drift_detector

        first, last = frames[0]["time"], frames[-1]["time"]
        runs = continuous_runs(list(self._audio))
        if not runs:
            return []

        def overlap(run: list[AudioChunk]) -> float:
            return min(last, run[-1].end) - max(first, run[0].t)

        chunks = max(runs, key=overlap)  # the window is measured within one run of sound
        middle = 0.5 * (first + last)
        nearest = min(range(len(chunks)), key=lambda i: abs(chunks[i].t - middle))
        before = sum(len(c.samples) for c in chunks[:nearest])
        samples = np.concatenate([c.mono() for c in chunks])
        start = chunks[nearest].t - before / chunks[0].rate  # the newest time near the window
        audio = {"sample_rate": chunks[0].rate, "start_time": start, "samples": samples}
        try:
            report = av_drift_detector.analyze_frames(
                frames, audio, width=self._size[0], height=self._size[1]
            )
        except av_drift_detector.AvDriftError:
            return []
        drifts = [f["drift_ms"] for f in report["frames"] if f["status"] == "ok"]
        if len(drifts) < len(frames) // 2:
            return []
        return [(middle, -float(np.median(drifts)))]


def continuous_runs(chunks: list[AudioChunk]) -> list[list[AudioChunk]]:
    """``chunks`` split where one does not follow the previous one's end within
    ``MAX_JITTER_S`` (a gap, an overlap or a new rate): the samples of a run are contiguous."""
    runs: list[list[AudioChunk]] = []
    for chunk in chunks:
        if (
            runs
            and chunk.rate == runs[-1][-1].rate
            and abs(chunk.t - runs[-1][-1].end) <= MAX_JITTER_S
        ):
            runs[-1].append(chunk)
        else:
            runs.append([chunk])
    return runs


class AvSyncDetector:
    """Streaming AV-sync detector; see the module docstring for the algorithm."""

    name: ClassVar[str] = "av_sync"
    consumes: ClassVar[frozenset[str]] = frozenset({"video", "audio"})
    Settings: ClassVar[type[AvSyncSettings]] = AvSyncSettings

    def __init__(self, settings: AvSyncSettings | None = None) -> None:
        self.settings = settings or AvSyncSettings()
        self._flashes = FlashFinder(self.settings)
        self._beeps = BeepFinder(self.settings)
        self._stamped = StampedSync(self.settings.stamp_window_s) if self.settings.stamps else None
        self._pending_flashes: list[float] = []
        self._pending_beeps: list[float] = []
        self.markers: list[Marker] = []
        """Every marker measured so far, in time order."""
        self._bad: list[Marker] = []  # current run of out-of-tolerance markers
        self._stretch: list[Marker] = []  # markers since the last step, for the drift fit
        self._drift_reported = False

    # ---- feeding -------------------------------------------------------------------
    def feed(self, item: VideoFrame | AudioChunk) -> list[Event]:
        """Take the next frame or chunk (each kind in time order); returns the events the
        markers paired so far completed (offset runs, drift)."""
        if isinstance(item, VideoFrame):
            self._pending_flashes += self._flashes.feed(item)
            stamped = self._stamped.feed_video(item) if self._stamped else []
        else:
            self._pending_beeps += self._beeps.feed(item)
            stamped = self._stamped.feed_audio(item) if self._stamped else []
        return self._from_stamps(stamped) + self._pair(final=False)

    def flush(self) -> list[Event]:
        """The input ended: pair what is left, close the open offset run, judge the drift;
        returns those events."""
        self._pending_beeps += self._beeps.flush()
        events = self._from_stamps(self._stamped.flush() if self._stamped else [])
        events += self._pair(final=True)
        return events + self._close_run() + self._judge_drift(final=True)

    def _from_stamps(self, measured: list[tuple[float, float]]) -> list[Event]:
        events: list[Event] = []
        for t, raw_ms in measured:
            offset = raw_ms - self.settings.calibration_ms
            events += self._add(Marker(t, t - raw_ms / 1000.0, offset))
        return events

    # ---- pairing -------------------------------------------------------------------
    def _pair(self, final: bool) -> list[Event]:
        window = self.settings.pair_window_s
        shift = self.settings.calibration_ms / 1000.0  # a flash at f hears its beep at f - shift
        events: list[Event] = []
        while self._pending_flashes:
            flash = self._pending_flashes[0]
            expected = flash - shift
            if not final and expected + window > self._beeps.ready_t:
                break
            self._pending_flashes.pop(0)
            self._pending_beeps = [b for b in self._pending_beeps if b >= expected - window]
            near = [b for b in self._pending_beeps if abs(b - expected) <= window]
            if not near:
                continue
            beep = min(near, key=lambda b: abs(b - expected))
            self._pending_beeps.remove(beep)
            offset = (flash - beep) * 1000.0 - self.settings.calibration_ms
            events += self._add(Marker(flash, beep, offset))
        if not final:  # beeps that no later flash can claim any more
            cutoff = min(self._flashes.video_t - shift, self._beeps.ready_t) - 2 * window
            self._pending_beeps = [b for b in self._pending_beeps if b >= cutoff]
            if self._beeps.ready_t == float("-inf"):  # no sound (yet): flashes cannot wait
                oldest = self._flashes.video_t - 2 * window
                self._pending_flashes = [f for f in self._pending_flashes if f >= oldest]
        return events

    def _in_tolerance(self, offset_ms: float) -> bool:
        s = self.settings
        return -s.late_tolerance_ms <= offset_ms <= s.early_tolerance_ms

    def _add(self, marker: Marker) -> list[Event]:
        events: list[Event] = []
        if self.markers and marker.flash_s - self.markers[-1].flash_s > 3.0:
            events += self._close_run() + self._judge_drift(final=True)  # markers stopped
        self.markers.append(marker)
        if self._in_tolerance(marker.offset_ms):
            events += self._close_run()
        else:
            self._bad.append(marker)
        if (
            self._stretch
            and abs(marker.offset_ms - self._stretch[-1].offset_ms) > self.settings.jump_ms
        ):
            events += self._judge_drift(final=True)
        self._stretch.append(marker)
        return events + self._judge_drift(final=False)

    # ---- judging -------------------------------------------------------------------
    def _close_run(self) -> list[Event]:
        run, self._bad = self._bad, []
        if len(run) < self.settings.min_markers:
            return []
        offsets = np.array([m.offset_ms for m in run])
        mean = float(offsets.mean())
        early = mean > 0
        limit = self.settings.early_tolerance_ms if early else self.settings.late_tolerance_ms
        excess = abs(mean) - limit
        return [
            Event(
                self.name,
                run[0].flash_s,
                run[-1].flash_s + self._flashes.interval,
                min(1.0, 0.5 + excess / limit),
                {
                    "kind": "offset",
                    "direction": "audio early" if early else "audio late",
                    "mean_offset_ms": round(mean, 2),
                    "span_ms": [round(float(offsets.min()), 2), round(float(offsets.max()), 2)],
                    "markers": len(run),
                    "tolerance_ms": [
                        -self.settings.late_tolerance_ms,
                        self.settings.early_tolerance_ms,
                    ],
                    "calibration_ms": self.settings.calibration_ms,
                    "offsets_ms": [round(float(o), 2) for o in offsets],
                },
            )
        ]

    def _judge_drift(self, final: bool) -> list[Event]:
        """A drift event for the current stretch once it is judged (``final``: the stretch
        ended) or as soon as it clearly drifts; the stretch restarts when ``final``."""
        stretch = self._stretch
        events: list[Event] = []
        settings = self.settings
        if len(stretch) >= settings.drift_min_markers and not self._drift_reported:
            slope = drift_ms_per_min(stretch)
            if abs(slope) > settings.drift_ms_per_min and (
                final or len(stretch) >= 2 * settings.drift_min_markers
            ):
                offsets = [m.offset_ms for m in stretch]
                events.append(
                    Event(
                        self.name,
                        stretch[0].flash_s,
                        stretch[-1].flash_s + self._flashes.interval,
                        min(1.0, 0.5 * abs(slope) / settings.drift_ms_per_min),
                        {
                            "kind": "drift",
                            "drift_ms_per_min": round(slope, 2),
                            "threshold_ms_per_min": settings.drift_ms_per_min,
                            "markers": len(stretch),
                            "mean_offset_ms": round(float(np.mean(offsets)), 2),
                            "span_ms": [round(min(offsets), 2), round(max(offsets), 2)],
                        },
                    )
                )
                self._drift_reported = True
        if final:
            self._stretch, self._drift_reported = [], False
        return events

    def summary(self) -> dict:
        """Mean, span and drift over every marker measured so far (offsets in ms)."""
        offsets = [m.offset_ms for m in self.markers]
        if not offsets:
            return {"markers": 0}
        return {
            "markers": len(offsets),
            "mean_offset_ms": round(float(np.mean(offsets)), 3),
            "span_ms": [round(float(min(offsets)), 3), round(float(max(offsets)), 3)],
            "drift_ms_per_min": round(drift_ms_per_min(self.markers), 3)
            if len(offsets) >= 3
            else None,
        }


def drift_ms_per_min(markers: list[Marker]) -> float:
    """Slope of a least-squares line through (flash time, offset), in ms per minute."""
    t = np.array([m.flash_s for m in markers])
    y = np.array([m.offset_ms for m in markers])
    if np.ptp(t) <= 0:
        return 0.0
    return float(np.polyfit(t, y, 1)[0] * 60.0)

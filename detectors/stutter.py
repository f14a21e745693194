"""``stutter``: repeated frames, dropped frames and broken cadence in moving video.

No-reference mode (any content). Each frame's luma thumbnail is compared with the previous
frame's (MAFD, 0..1 of full scale) and judged against the local motion level, the median
MAFD of the neighbouring frames (``context_frames`` each side, repeats left out):

* **repeat**: MAFD at most ``repeat_noise`` while the neighbours move by at least
  ``min_motion`` (a repeated frame inside a still scene is invisible and harmless);
* **drop**: MAFD at least ``drop_ratio`` times the local motion (the content jumped two
  steps), but below ``cut_level`` (a scene cut is not a drop).

**Cadence.** Some repeats are normal: 24p on a 60 Hz output repeats frames 3:2, 25p on 50 Hz
2:2, and 24p content carried at 25 fps repeats one frame in 25. The detector looks for a
period P (2..``max_period`` frames) at which repeats recur in every period of a ``lock_s``
window; that period is then *locked* (a different one replaces it only after ``relock_s``
seconds). With a dense cadence (P <= 10), the video is read as *holds* (a new picture and
its repeats) and each hold's length is compared with the last good hold of the same phase,
Q holds back (Q: holds per period; 2 for 3:2, 1 for 2:2), and with the cadence's usual
hold lengths (3 and 2 for 3:2). A hold of another length breaks the cadence (kind ``cadence``) and the event covers that hold's output frames: an extra
repeat, a missing one, a phase jump all show as one or two mistimed holds. With a sparse
cadence, a repeat with no partner one period away is a stutter. Decisions wait
``lookahead_s`` seconds of video, so events come out that much later.

Stamped mode. When the frames carry av-drift-detector's frame-number stamps (the virtual
device's "Sync Test" title), counts are exact: a stamp equal to the previous one is a
repeat, a jump of k > 1 drops k - 1 frames, a step back is reported as kind ``backward``.

Affected frames closer than ``merge_gap_s`` merge into one event, with details ``kind``
(the first affected frame's), ``frames`` (affected frames) and per-kind counts. A gap in
the capture's own sequence number ``n`` is the capture's loss, not the device's: the frame
pair across it is never judged (the monitor reports capture gaps as infrastructure).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from detectors.event import Event
from detectors.luma import mean_absolute_difference
from detectors.media import AudioChunk, VideoFrame
from detectors.settings import require

STEADY_RATIO = 2.5
"""A drop is only judged where the motion before and after it differs by at most this
factor: a drop interrupts steady motion, a cut or a new shot changes its pace."""
NEIGHBOUR_RATIO = 1.5
"""A drop also stands out from both adjacent frames by this factor (a skipped frame adds
its motion to the next one; a peak of natural motion rises and falls over several frames)."""
DENSE_PERIOD = 10
"""Cadences with a period up to this many frames (3:2, 2:2) are judged by phase, including
missing repeats; sparser ones (24p carried at 25 fps: 1 in 25) by spacing only."""
CLEAR_CHANGE = 0.7
"""In a dense cadence, a new picture whose MAFD is under this share of the local motion is
ambiguous: when reading it as a repeat makes its hold fit the cadence, it is one (low-bitrate
encoders refresh a repeated picture with a faint change)."""
SHAPE_HOLDS = 8
"""Holds a window must contain to read a cadence's usual hold lengths from it; with fewer
(little motion), the last shape read for the same period stands."""


@dataclass(frozen=True)
class StutterSettings:
    """Thresholds of the stutter detector."""

    repeat_noise: float = 0.001
    """Frame-to-frame MAFD (0..1) at or below which a frame is a repeat whatever the motion."""
    repeat_ratio: float = 0.4
    """A frame changing at most this share of the mean motion either side is a repeat: the
    encoder refines a repeated picture, so in fast motion it still changes by up to ~0.003."""
    min_motion: float = 0.003
    """Local motion (median neighbour MAFD, 0..1) below which repeats are not judged."""
    drop_ratio: float = 1.7
    """A frame moving this many times the motion on both sides is a drop (content skipped)."""
    max_drop_ratio: float = 3.5
    """Above this many times the motion around it, a change is a cut or an overlay, not a drop."""
    max_repeat_run_s: float = 0.25
    """Still runs longer than this, in seconds, are freezes (the freeze detector's), not stutter."""
    cut_level: float = 0.08
    """MAFD (0..1) at or above which a change is a scene cut, not a drop."""
    context_frames: int = 4
    """Neighbouring frames each side that give the local motion level."""
    max_period: int = 30
    """Longest cadence period looked for, in frames."""
    lock_s: float = 2.0
    """Seconds of video a repeat pattern must fill to become the normal cadence."""
    relock_s: float = 10.0
    """Seconds a new pattern must hold to replace a locked cadence."""
    lookahead_s: float = 3.0
    """Seconds of video a decision waits for (cadence context)."""
    merge_gap_s: float = 0.5
    """Affected frames closer than this, in seconds, are one event."""
    stamps: bool = True
    """Read av-drift-detector frame stamps when the first frames carry them."""

    def __post_init__(self) -> None:
        for name in ("repeat_noise", "repeat_ratio", "min_motion", "cut_level"):
            value = getattr(self, name)
            require(0.0 <= value < 1.0, name, f"must be in [0, 1), got {value}")
        require(self.drop_ratio > 1.0, "drop_ratio", f"must be > 1, got {self.drop_ratio}")
        require(
            self.max_drop_ratio > self.drop_ratio,
            "max_drop_ratio",
            f"must be > drop_ratio ({self.drop_ratio}), got {self.max_drop_ratio}",
        )
        require(
            self.context_frames >= 1, "context_frames", f"must be >= 1, got {self.context_frames}"
        )
        require(
            2 <= self.max_period <= 120,
            "max_period",
            f"must be 2..120 frames, got {self.max_period}",
        )
        for name in ("lock_s", "relock_s", "lookahead_s", "merge_gap_s", "max_repeat_run_s"):
            value = getattr(self, name)
            require(value > 0, name, f"must be > 0 seconds, got {value}")


@dataclass
class _Frame:
    t: float
    n: int
    mafd: float | None  # to the previous frame; None across a capture gap or at the start
    stamp: int | None = None
    repeat: bool = False
    drop: bool = False
    judged: bool = False  # enough motion around it to tell
    motion: float = 0.0  # the local motion level (mean of the two sides' MAFD), when judged


class StutterDetector:
    """Streaming stutter detector; see the module docstring for the algorithm."""

    name: ClassVar[str] = "stutter"
    consumes: ClassVar[frozenset[str]] = frozenset({"video"})
    Settings: ClassVar[type[StutterSettings]] = StutterSettings
    STAMP_PROBE_FRAMES: ClassVar[int] = 10
    STAMP_REPROBE_FRAMES: ClassVar[int] = 25

    def __init__(self, settings: StutterSettings | None = None) -> None:
        self.settings = settings or StutterSettings()
        self._frames: list[_Frame] = []  # history + look-ahead, indexed from self._base
        self._base = 0  # absolute index of self._frames[0]
        self._next = 0  # absolute index of the next frame to decide
        self._previous: np.ndarray | None = None
        self._interval = 0.04
        self._stamp_reader = None
        self._stamped: bool | None = None if self.settings.stamps else False
        self._probe: list[bool] = []  # stamp found, for the frames probed so far
        self._misses = 0  # consecutive frames without a stamp in stamped mode
        self._seen = 0
        self._lock: int | None = None  # the cadence's period in frames
        self._candidate: tuple[int, float] | None = None  # (period, since t) of a new pattern
        self._holds: list[tuple[int, bool]] = []  # (length, good) of the latest holds
        self._mistimed_until = -1  # frames up to this index belong to a mistimed hold
        self._hold_until = -1  # frames up to this index belong to the last hold judged
        self._shape: tuple[int, int, set[int]] | None = None  # (period, phase, usual lengths)
        self._open: list[tuple[float, str]] = []  # affected frames of the event being built
        self._classified = -1  # absolute index of the last frame given repeat / drop flags

    # ---- feeding -------------------------------------------------------------------
    def feed(self, item: VideoFrame | AudioChunk) -> list[Event]:
        if not isinstance(item, VideoFrame):
            return []
        thumb = item.thumbnail()
        last = self._frames[-1] if self._frames else None
        continuous = last is not None and item.n == last.n + 1
        if last is not None and item.t > last.t:
            self._interval = item.t - last.t if continuous else self._interval
        comparable = (
            continuous and self._previous is not None and self._previous.shape == thumb.shape
        )
        mafd = mean_absolute_difference(thumb, self._previous) if comparable else None
        self._previous = thumb
        self._frames.append(_Frame(item.t, item.n, mafd, self._read_stamp(item)))
        return self._decide(final=False)

    def flush(self) -> list[Event]:
        events = self._decide(final=True)
        return events + self._close_event()

    def _read_stamp(self, frame: VideoFrame) -> int | None:
        """The frame's av-drift-detector stamp, if it has one; switches stamped mode on when
        ``STAMP_PROBE_FRAMES`` frames in a row mostly carry stamps (probing every
        ``STAMP_REPROBE_FRAMES`` frames meanwhile: a test starts on menus, the stamped title
        comes later), and off after twice that many frames without one."""
        if not self.settings.stamps:
            return None
        self._seen += 1
        if self._stamped is False and self._seen % self.STAMP_REPROBE_FRAMES:
            return None
        if self._stamp_reader is None:
            import av_drift_detector

            self._stamp_reader = av_drift_detector.read_frame
        grey = frame.luma
        found = self._stamp_reader(
            np.ascontiguousarray(grey), grey.shape[1], grey.shape[0], try_qr=False
        )
        stamp = None if found is None else int(found["frame_id"])
        if self._stamped is None:  # probing
            self._probe.append(stamp is not None)
            if len(self._probe) >= self.STAMP_PROBE_FRAMES:
                self._stamped = sum(self._probe) >= self.STAMP_PROBE_FRAMES // 2
                self._probe = []
        elif self._stamped is False:
            if stamp is not None:  # stamps appeared: probe the next frames
                self._stamped, self._probe = None, [True]
        elif stamp is None:
            self._misses += 1
            if self._misses >= 2 * self.STAMP_PROBE_FRAMES:
                self._stamped, self._misses = False, 0
        else:
            self._misses = 0
        return stamp

    # ---- deciding ------------------------------------------------------------------
    def _frames_for(self, seconds: float) -> int:
        return max(1, round(seconds / self._interval))

    def _at(self, index: int) -> _Frame | None:
        i = index - self._base
        return self._frames[i] if 0 <= i < len(self._frames) else None

    def _decide(self, final: bool) -> list[Event]:
        events: list[Event] = []
        lookahead = self._frames_for(self.settings.lookahead_s)
        end = self._base + len(self._frames)
        while self._next < end and (final or end - self._next > lookahead):
            events += self._judge(self._next)
            self._next += 1
        keep = self._frames_for(self.settings.relock_s + self.settings.lookahead_s) + 2
        excess = len(self._frames) - keep
        if excess > 0 and self._next - self._base > excess:
            del self._frames[:excess]
            self._base += excess
        return events

    def _judge(self, index: int) -> list[Event]:
        frame = self._at(index)
        assert frame is not None
        if self._stamped:
            kinds = self._judge_stamp(index, frame)
        else:
            self._classify(index)
            kinds = self._judge_cadence(index, frame)
        events: list[Event] = []
        if self._open and frame.t - self._open[-1][0] > self.settings.merge_gap_s:
            events = self._close_event()
        self._open += [(frame.t, kind) for kind in kinds]
        return events

    def _judge_stamp(self, index: int, frame: _Frame) -> list[str]:
        before = self._at(index - 1)
        if frame.stamp is None or before is None or before.stamp is None or frame.mafd is None:
            return []
        step = frame.stamp - before.stamp
        if step == 0:
            return ["repeat"]
        if step < 0:
            return ["backward"]
        return ["drop"] * (step - 1)

    def _side_motion(self, index: int, side: int) -> float | None:
        """Motion level (median MAFD) of the ``context_frames`` moving frames before (-1) /
        after (+1) ``index``, or None at the stream's edge or across a scene cut."""
        values: list[float] = []
        # a repeat re-encoded by a codec differs by a little noise: it is not motion
        moving = max(self.settings.repeat_noise, self.settings.min_motion / 2)
        i = index + side
        while len(values) < self.settings.context_frames:
            frame = self._at(i)
            if frame is None or abs(i - index) > 3 * self.settings.context_frames:
                return None
            if frame.mafd is not None and frame.mafd >= self.settings.cut_level:
                return None  # a scene cut: the other side is another scene
            if frame.mafd is not None and frame.mafd > moving:
                values.append(frame.mafd)
            i += side
        return float(np.median(values))

    def _local_motion(self, index: int) -> float | None:
        """The motion level around ``index``: the smaller of the two sides, None if unknown."""
        before, after = self._side_motion(index, -1), self._side_motion(index, +1)
        return None if before is None or after is None else min(before, after)

    def _still_run(self, index: int) -> int:
        """Consecutive frames around ``index`` that did not change (MAFD <= repeat_noise)."""
        run = 0
        for side in (-1, 1):
            i = index if side == -1 else index + 1
            while (
                (f := self._at(i)) is not None
                and f.mafd is not None
                and f.mafd <= self.settings.repeat_noise
            ):
                run += 1
                i += side
        return run

    def _classify(self, index: int) -> None:
        """Set repeat / drop flags of frame ``index`` and of the look-ahead not yet flagged."""
        settings = self.settings
        last = self._base + len(self._frames) - 1
        longest = self._frames_for(settings.max_repeat_run_s)
        for i in range(max(index, self._classified + 1), last - 3 * settings.context_frames + 1):
            self._classified = i
            frame = self._at(i)
            if frame is None or frame.mafd is None:
                continue
            before, after = self._side_motion(i, -1), self._side_motion(i, +1)
            if before is None or after is None or min(before, after) < settings.min_motion:
                continue
            frame.judged = True
            frame.motion = (before + after) / 2
            steady = max(before, after) <= STEADY_RATIO * min(before, after)
            if frame.mafd <= max(
                settings.repeat_noise, settings.repeat_ratio * (before + after) / 2
            ):
                frame.repeat = self._still_run(i) <= longest  # longer still runs are freezes
            elif frame.mafd < settings.cut_level:
                ratio = frame.mafd / max(before, after)
                neighbours = [f.mafd or 0.0 for f in (self._at(i - 1), self._at(i + 1)) if f]
                spike = frame.mafd >= NEIGHBOUR_RATIO * max(neighbours, default=0.0)
                after_still = min(neighbours[:1], default=1.0) <= settings.repeat_noise
                # the jump that ends a freeze or a repeat is not a second defect
                frame.drop = (
                    spike
                    and steady  # a change of pace (a cut, a new shot) is not a drop
                    and not after_still
                    and settings.drop_ratio <= ratio <= settings.max_drop_ratio
                )

    def _pattern(self, first: int, last: int) -> tuple[int, float, int, float] | None:
        """Best repeat period in frames [first, last]: (period, share of repeats with a
        partner one period away, frames from the first repeat to the last, share of the
        periods in that span holding a repeat)."""
        repeats = [i for i in range(first, last + 1) if (f := self._at(i)) is not None and f.repeat]
        if len(repeats) < 3:
            return None
        span = repeats[-1] - repeats[0]
        marks = set(repeats)
        best = None
        for period in range(2, self.settings.max_period + 1):
            partnered = sum((i - period in marks) or (i + period in marks) for i in repeats)
            share = partnered / len(repeats)
            if best is None or share > best[1] + 1e-9:
                blocks = {(i - repeats[0]) // period for i in repeats}
                best = (period, share, span, len(blocks) / (span // period + 1))
        return best

    def _update_lock(self, index: int) -> None:
        """Lock the period of a repeat pattern that fills a ``lock_s`` window around ``index``."""
        window = self._frames_for(self.settings.lock_s)
        first = max(self._base, index - window // 2)
        found = self._pattern(first, first + window)
        if found is None or found[1] < 0.9 or found[2] < 0.6 * window or found[3] < 0.6:
            self._candidate = None
            return
        period = found[0]
        if self._lock is None or period == self._lock:
            self._lock, self._candidate = period, None
            return
        if self._candidate is None or self._candidate[0] != period:
            self._candidate = (period, self._at(index).t)
        elif self._at(index).t - self._candidate[1] >= self.settings.relock_s:
            self._lock, self._candidate = period, None

    def _flag(self, index: int) -> bool | None:
        """Whether frame ``index`` repeats, or None when it could not be judged."""
        frame = self._at(index)
        if frame is None or not frame.judged:
            return None
        return frame.repeat

    def _hold_length(self, index: int, start: int = 1) -> int | None:
        """Output frames of the hold starting at new picture ``index`` (it and its repeats,
        from its ``start``-th frame on), or None when a frame of it could not be judged."""
        length = start
        while (flag := self._flag(index + length)) is True:
            length += 1
        return None if flag is None else length

    def _faint(self, index: int) -> bool:
        """Whether new picture ``index`` changed so little (under ``CLEAR_CHANGE`` of the
        local motion) that it may be a codec's re-encoding of a repeat."""
        frame = self._at(index)
        return frame is not None and (frame.mafd or 0.0) < CLEAR_CHANGE * frame.motion

    def _cadence_shape(self, index: int, period: int) -> tuple[int, set[int]]:
        """The locked cadence around ``index``, read from the ``lock_s`` window that locked
        it: new pictures per period (2 for 3:2, 1 for 2:2) and the usual hold lengths."""
        window = self._frames_for(self.settings.lock_s)
        first = max(self._base, index - window // 2)
        flags = [self._flag(i) for i in range(first, first + window + 1)]
        judged = [f for f in flags if f is not None]
        phase = max(1, round(period * judged.count(False) / max(1, len(judged))))
        lengths: list[int] = []
        starts = [i for i, flag in enumerate(flags) if flag is False]
        for a, b in zip(starts, starts[1:], strict=False):
            if all(flag is True for flag in flags[a + 1 : b]):
                lengths.append(b - a)
        if len(lengths) >= SHAPE_HOLDS:
            usual = {n for n in set(lengths) if lengths.count(n) >= 0.2 * len(lengths)}
            self._shape = (period, phase, usual)
        elif self._shape is not None and self._shape[0] == period:
            return self._shape[1], self._shape[2]  # too little motion here: the last shape
        else:
            usual = set()
        return phase, usual

    def _judge_hold(self, index: int, period: int) -> bool:
        """Whether the hold starting at ``index`` is mistimed: not one of the cadence's usual
        lengths, or not the length of the last good hold of its phase; records it."""
        length = self._hold_length(index)
        if length is None:
            self._holds = []  # unjudged frames: the phase is lost
            return False
        phase, usual = self._cadence_shape(index, period)
        reference = next(
            (
                held
                for held, good in self._holds[-phase::-phase][:3]
                if good and len(self._holds) >= phase
            ),
            None,
        )

        def fits(held: int) -> bool:
            return (not usual or held in usual) and (reference is None or held == reference)

        if not fits(length) and self._faint(index + length):
            longer = self._hold_length(index, length + 1)  # read the faint change as a repeat
            if longer is None:
                self._holds = []  # cannot tell which reading is right
                return False
            if fits(longer):
                length = longer
        mistimed = not fits(length)
        self._holds = [*self._holds[-4 * DENSE_PERIOD :], (length, not mistimed)]
        self._hold_until = index + length - 1
        if mistimed:
            self._mistimed_until = index + length - 1
        return mistimed

    def _judge_cadence(self, index: int, frame: _Frame) -> list[str]:
        self._update_lock(index)
        period = self._lock
        if period is not None and period <= DENSE_PERIOD:
            if index <= self._mistimed_until:
                return ["cadence"]
            new_hold = self._flag(index) is False and index > self._hold_until
            if new_hold and self._judge_hold(index, period):
                return ["cadence"]
            if self._flag(index) is None:
                self._holds = []
            return ["drop"] if frame.drop else []
        self._holds = []
        if frame.repeat:
            if period is None:
                return ["repeat"]
            partners = (self._at(index - period), self._at(index + period))
            return [] if any(f is not None and f.repeat for f in partners) else ["repeat"]
        return ["drop"] if frame.drop else []

    def _close_event(self) -> list[Event]:
        if not self._open:
            return []
        affected, self._open = self._open, []
        counts = Counter(kind for _, kind in affected)
        start, end = affected[0][0], affected[-1][0] + self._interval
        details = {
            "kind": affected[0][1],
            "frames": len(affected),
            "counts": dict(counts),
            "mode": "stamps" if self._stamped else "no-reference",
        }
        if self._lock is not None:
            details["cadence_period_frames"] = self._lock
        return [Event(self.name, start, end, 1.0 if self._stamped else 0.8, details)]

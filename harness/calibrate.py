"""``onglass calibrate``: measure a rig's capture noise floor on a still picture and tune the
picture detectors' noise thresholds to it.

When the rig declares an app, its first catalogue title is played for a few seconds and
paused (a picture that was moving a moment ago, the hardest still: the encoders in the chain
keep refining it); otherwise the device is sent HOME (a still menu). The capture runs for a
few seconds, and every frame's luma thumbnail (the one the detectors compare) is measured
against the previous frame and against the first frame. A still picture should not change
at all: what changes is the capture chain's noise and the encoders' refreshes. The
thresholds are set a safety factor above the worst of it:

* ``freeze.noise`` = ``SAFETY`` x the largest drift from the first frame (at least 0.001);
* ``stutter.repeat_noise`` = ``SAFETY`` x the largest frame-to-frame change (at least 0.0005).

``calibrate --av`` instead plays an in-sync flash + beep reference (the "AV Sync" title, or any
sync title the rig's app has) and measures the AV offset the capture chain itself adds (a
card's audio and video paths differ in latency); the median over the markers is stored as
``capture.av_offset_ms`` and ``av_sync`` subtracts it from then on.
"""

from __future__ import annotations

import contextlib
import queue
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from detectors.av_sync import drift_ms_per_min
from detectors.luma import mean_absolute_difference
from detectors.media import AudioChunk, VideoFrame
from detectors.registry import DETECTORS, build_detector
from harness.capture import Capture
from harness.errors import NoSignal
from harness.rig import Rig
from harness.session import RigSession

SAFETY = 2.0
"""How far above the measured noise floor the thresholds go."""
SETTLE_S = 1.0
"""Seconds between the key that makes the picture still and the first measured frame: the
device's reaction and the capture latency (the monitor's default ``expect_margin_s``)."""


@dataclass(frozen=True)
class NoiseFloor:
    """What a still picture looked like through the capture chain."""

    frames: int
    frame_to_frame_max: float
    frame_to_frame_p99: float
    drift_max: float

    def thresholds(self) -> dict[str, dict[str, float]]:
        """Tuned detector settings, by detector and field."""
        return {
            "freeze": {"noise": round(max(0.001, SAFETY * self.drift_max), 5)},
            "stutter": {"repeat_noise": round(max(0.0005, SAFETY * self.frame_to_frame_max), 5)},
        }


def _show_still(session: RigSession) -> None:
    """Pause the first catalogue title after 3 s of play, or show the home menu."""
    device = session.device
    if device.app is not None and device.app.catalogue:
        device.open_title(device.app.catalogue[0])
        device.press("PLAY")
        time.sleep(3.0)
        device.press("PAUSE")
        device.wait_for_player_state("paused", timeout=10)
    else:
        device.press("HOME")
    time.sleep(SETTLE_S)  # the key's effect reaches the capture


def measure_still(session: RigSession, seconds: float) -> NoiseFloor:
    """Show a still picture on the device and measure the capture's noise on it."""
    thumbs: list[np.ndarray] = []
    measuring = False

    def keep(item: VideoFrame | AudioChunk) -> None:
        if measuring and isinstance(item, VideoFrame):
            thumbs.append(item.thumbnail())

    capture = session.new_capture(record_to=None)
    capture.subscribe(keep)
    capture.start()
    try:
        _show_still(session)
        measuring = True
        deadline = time.monotonic() + seconds + 10
        while time.monotonic() < deadline and len(thumbs) < 2:
            time.sleep(0.05)
        if len(thumbs) < 2:
            raise NoSignal(f"calibrate: no video from {session.stream_url}")
        time.sleep(seconds)
    finally:
        capture.stop()
        _back_home(session)
    steps = [mean_absolute_difference(b, a) for a, b in zip(thumbs, thumbs[1:], strict=False)]
    drifts = [mean_absolute_difference(t, thumbs[0]) for t in thumbs[1:]]
    return NoiseFloor(
        frames=len(thumbs),
        frame_to_frame_max=max(steps),
        frame_to_frame_p99=float(np.percentile(steps, 99)),
        drift_max=max(drifts),
    )


def _back_home(session: RigSession) -> None:
    """Leave the device on its home screen; a failure here never hides the measurement's
    own error (it is only reported, on stderr)."""
    try:
        session.device.press("HOME")
    except Exception as error:
        print(f"onglass calibrate: could not press HOME afterwards: {error}", file=sys.stderr)


def write_thresholds(rig_path: str | Path, thresholds: dict[str, dict[str, Any]]) -> Path:
    """Merge ``thresholds`` into the rig file's ``detectors`` section; returns the backup path.

    The file is rewritten by a YAML dumper: comments are not kept (the backup keeps them).
    """
    path = Path(rig_path)
    original = path.read_text()
    data = yaml.safe_load(original) or {}
    # no detectors section means "all detectors": keep that true once the section exists
    detectors = data.get("detectors") or {name: {} for name in DETECTORS}
    data["detectors"] = detectors
    for name, fields in thresholds.items():
        section = detectors.get(name) or {}
        section.update(fields)
        detectors[name] = section
    backup = path.with_name(path.name + ".bak")
    backup.write_text(original)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return backup


def calibrate(rig: Rig, seconds: float) -> NoiseFloor:
    """Start the rig, measure its noise floor on a still picture, release the rig."""
    session = RigSession(rig)
    try:
        return measure_still(session, seconds)
    finally:
        session.close()


AV_REFERENCE_TITLE = "AV Sync"
"""Catalogue title ``calibrate --av`` plays: flash + beep markers known to be in sync."""
MIN_AV_MARKERS = 5
"""Markers ``calibrate --av`` needs before it trusts the measured offset."""


@dataclass(frozen=True)
class AvCalibration:
    """The capture chain's own AV offset, measured on an in-sync reference (ms, positive =
    audio early, as ``av_sync`` reports)."""

    markers: int
    offset_ms: float
    spread_ms: float
    """Standard deviation of the markers' offsets, in ms."""
    span_ms: tuple[float, float]
    drift_ms_per_min: float


def play_and_feed(
    session: RigSession,
    title: str,
    seconds: float,
    feed: Callable[[VideoFrame | AudioChunk], object],
    record_to: Path | None = None,
) -> Capture:
    """Play ``title`` from its start on the session's device and pass every captured item to
    ``feed`` (on this thread, in capture order) for ``seconds``, then the ones still queued.
    Returns the stopped capture (its ``health`` and ``error``); flushing is the caller's.
    """
    items: queue.Queue[VideoFrame | AudioChunk] = queue.Queue()
    capture = session.new_capture(record_to=record_to)
    capture.subscribe(items.put)  # audio may come on its own thread: feed from this one
    capture.start()
    try:
        session.device.open_title(title)  # playback (and the virtual device's faults) restart
        session.device.press("PLAY")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                feed(items.get(timeout=0.2))
    finally:
        capture.stop()
    while not items.empty():
        feed(items.get())
    return capture


def measure_av_offset(
    session: RigSession, seconds: float, title: str = AV_REFERENCE_TITLE
) -> AvCalibration:
    """Play the in-sync reference ``title`` for ``seconds`` and measure its AV offset through
    the rig's capture with ``av_sync`` (uncalibrated, the rig's other thresholds kept)."""
    settings = dict(session.rig.detectors.get("av_sync") or {})
    settings["calibration_ms"] = 0.0
    detector = build_detector("av_sync", settings)
    try:
        capture = play_and_feed(session, title, seconds, detector.feed)
    finally:
        _back_home(session)
    detector.flush()
    offsets = np.array([m.offset_ms for m in detector.markers])
    if len(offsets) < MIN_AV_MARKERS:
        raise NoSignal(
            f"calibrate --av: {len(offsets)} flash + beep markers found in {seconds:g} s of "
            f"{title!r} (need {MIN_AV_MARKERS}): is it a sync title, and does the capture "
            f"get its sound{'' if capture.error is None else f' ({capture.error})'}?"
        )
    return AvCalibration(
        markers=len(offsets),
        offset_ms=float(np.median(offsets)),
        spread_ms=float(offsets.std()),
        span_ms=(float(offsets.min()), float(offsets.max())),
        drift_ms_per_min=drift_ms_per_min(detector.markers),
    )


def write_av_offset(rig_path: str | Path, offset_ms: float) -> Path:
    """Store ``offset_ms`` as the rig file's ``capture.av_offset_ms``; returns the backup path.

    The file is rewritten by a YAML dumper: comments are not kept (the backup keeps them).
    """
    path = Path(rig_path)
    original = path.read_text()
    data = yaml.safe_load(original) or {}
    data.setdefault("capture", {})["av_offset_ms"] = round(offset_ms, 2)
    backup = path.with_name(path.name + ".bak")
    backup.write_text(original)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return backup


def av_calibration_warning(rig: Rig) -> str | None:
    """Why ``rig``'s measured AV offset will not hold next time, or None. A virtual rig whose
    sound goes through a PulseAudio sink (``simulator.pulse_sink``): pacat and the server
    buffer a different amount at each start (-121..+23 ms measured)."""
    if rig.simulator is None or not rig.simulator.pulse_sink:
        return None
    return (
        "onglass calibrate --av: warning: the virtual device's sound goes through PulseAudio "
        "(simulator.pulse_sink), whose offset changes at every start (-121..+23 ms measured): "
        "the stored value only holds until the device restarts"
    )


def calibrate_av(rig: Rig, seconds: float, title: str = AV_REFERENCE_TITLE) -> AvCalibration:
    """Start the rig, measure its capture chain's AV offset on ``title``, release the rig
    (``av_calibration_warning`` goes to stderr first, if any)."""
    warning = av_calibration_warning(rig)
    if warning is not None:
        print(warning, file=sys.stderr)
    session = RigSession(rig)
    try:
        return measure_av_offset(session, seconds, title)
    finally:
        session.close()

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
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from detectors.luma import mean_absolute_difference
from detectors.media import AudioChunk, VideoFrame
from detectors.registry import DETECTORS
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
        session.device.press("HOME")
    steps = [mean_absolute_difference(b, a) for a, b in zip(thumbs, thumbs[1:], strict=False)]
    drifts = [mean_absolute_difference(t, thumbs[0]) for t in thumbs[1:]]
    return NoiseFloor(
        frames=len(thumbs),
        frame_to_frame_max=max(steps),
        frame_to_frame_p99=float(np.percentile(steps, 99)),
        drift_max=max(drifts),
    )


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

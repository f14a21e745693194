"""The stutter detector on synthetic sequences: repeats, drops, cadence, stamps, capture gaps."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from detectors.media import VideoFrame
from detectors.settings import SettingsError
from detectors.stutter import StutterDetector, StutterSettings

W, H = 320, 180
RNG = np.random.default_rng(3)
# smooth texture: its change grows in proportion to the shift, as in most real footage
TEXTURE = cv2.GaussianBlur((RNG.random((H, W * 8)) * 255).astype(np.uint8), (0, 0), 6)
TEXTURE = cv2.normalize(TEXTURE, None, 0, 255, cv2.NORM_MINMAX)


def content(k: int) -> np.ndarray:
    """Content frame ``k``: a textured strip panning 3 pixels per frame."""
    x = (3 * k) % (TEXTURE.shape[1] - W)
    grey = np.ascontiguousarray(TEXTURE[:, x : x + W])
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)


def play(indices: list[int], fps: float = 25.0, gaps: dict[int, int] | None = None) -> list:
    """Events of the detector over output frames showing content ``indices``."""
    detector = StutterDetector(StutterSettings(stamps=False))
    events, n = [], 0
    for slot, k in enumerate(indices):
        n += 1 + (gaps or {}).get(slot, 0)
        events += detector.feed(VideoFrame(slot / fps, n, content(k)))
    return events + detector.flush()


def test_smooth_motion_has_no_stutter():
    assert play(list(range(200))) == []


def test_a_repeated_frame_is_one_event_at_its_time():
    indices = list(range(200))
    indices[100] = 99  # frame 100 shows 99 again
    events = play(indices)
    assert len(events) == 1
    assert events[0].start == pytest.approx(100 / 25)
    assert events[0].details["counts"].get("repeat") == 1


def test_a_dropped_frame_is_one_event():
    indices = list(range(100)) + list(range(101, 201))  # content 100 never shown
    events = play(indices)
    assert len(events) == 1
    assert events[0].start == pytest.approx(100 / 25)
    assert events[0].details["kind"] == "drop"


def test_a_long_hold_is_a_freeze_not_stutter():
    indices = list(range(100)) + [99] * 20 + list(range(120, 220))
    assert play(indices) == []


def test_a_burst_merges_into_one_event():
    indices = list(range(200))
    for slot in (100, 104, 108):
        indices[slot] = indices[slot - 1]
    events = play(indices)
    assert len(events) == 1 and events[0].details["frames"] == 3


def pulldown(content_frames: int, pattern: list[int]) -> list[int]:
    """Output frames for 3:2-style pulldown: content frame k held pattern[k % len] times."""
    out: list[int] = []
    for k in range(content_frames):
        out += [k] * pattern[k % len(pattern)]
    return out


def test_regular_32_pulldown_at_60_fps_is_normal():
    assert play(pulldown(240, [3, 2]), fps=60) == []


def test_a_broken_32_cadence_is_reported_as_cadence():
    indices = pulldown(120, [3, 2]) + [119] + pulldown(240, [3, 2])[300:]  # one extra hold
    events = play(indices, fps=60)
    assert len(events) == 1, events
    assert events[0].details["cadence_period_frames"] == 5
    # the event is the mistimed hold: content 119 shown 3 times (frames 298-300) instead of 2
    assert (events[0].start, events[0].end) == pytest.approx((298 / 60, 301 / 60))


def test_a_short_hold_in_22_cadence_is_reported_at_its_frames():
    indices = pulldown(100, [2]) + [100] + pulldown(200, [2])[202:]  # content 100 shown once
    events = play(indices, fps=50)
    assert len(events) == 1, events
    assert (events[0].start, events[0].end) == pytest.approx((200 / 50, 201 / 50))


def test_a_capture_gap_is_not_stutter():
    indices = list(range(100)) + list(range(103, 203))  # three frames lost by the capture
    assert play(indices, gaps={100: 3}) == []


def test_stamped_frames_give_exact_counts():
    av_drift_detector = pytest.importorskip("av_drift_detector")
    renderer = av_drift_detector.PatternRenderer(fps="25", width=320, height=180)
    shown = list(range(60))
    shown[30] = 29  # a repeat
    del shown[45:47]  # two frames dropped
    detector = StutterDetector()
    events = []
    for slot, k in enumerate(shown):
        luma = np.frombuffer(renderer.render(k), np.uint8).reshape(180, 320)
        events += detector.feed(
            VideoFrame(slot / 25, slot + 1, cv2.cvtColor(luma, cv2.COLOR_GRAY2BGR))
        )
    events += detector.flush()
    assert [e.details["mode"] for e in events] == ["stamps", "stamps"]
    assert events[0].details["counts"] == {"repeat": 1, "drop": 1}
    assert events[1].details["counts"] == {"drop": 2}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("repeat_noise", -0.1),
        ("drop_ratio", 0.5),
        ("max_drop_ratio", 1.0),
        ("max_period", 1),
        ("lock_s", 0),
    ],
)
def test_bad_settings_name_the_field(field, value):
    with pytest.raises(SettingsError, match=field):
        StutterSettings(**{field: value})

"""Behaviour of the freeze and black detectors on synthetic 25 fps frame sequences."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from detectors.black import BlackDetector, BlackSettings
from detectors.event import Event
from detectors.freeze import FreezeDetector, FreezeSettings
from detectors.luma import luma_thumbnail, mean_absolute_difference
from detectors.media import AudioChunk, VideoFrame
from detectors.registry import DETECTORS, build_detector, build_detectors
from detectors.settings import SettingsError

FPS = 25
FRAME_S = 1.0 / FPS
W, H = 320, 180


# ---- synthetic pictures -------------------------------------------------------------------


def texture(seed: int = 0, low: int = 0, high: int = 256) -> np.ndarray:
    """A random grey texture (BGR uint8) with values in [low, high)."""
    rng = np.random.default_rng(seed)
    grey = rng.integers(low, high, (H, W), dtype=np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)


BASE = texture(seed=1)


def moving(k: int) -> np.ndarray:
    """Frame ``k`` of motion: the random texture panned 7 pixels per frame."""
    return np.roll(BASE, 7 * k, axis=1)


def black() -> np.ndarray:
    return np.zeros((H, W, 3), np.uint8)


def sequence(images: list[np.ndarray], first_n: int = 0) -> list[VideoFrame]:
    """VideoFrames at 25 fps, numbered from ``first_n``."""
    return [VideoFrame((first_n + i) / FPS, first_n + i, image) for i, image in enumerate(images)]


def run(detector, frames: list[VideoFrame], flush: bool = True) -> list[Event]:
    events: list[Event] = []
    for frame in frames:
        events += detector.feed(frame)
    if flush:
        events += detector.flush()
    return events


def of(events: list[Event], name: str) -> list[Event]:
    return [e for e in events if e.detector == name]


def motion_freeze_motion(before: int, frozen: int, after: int) -> list[np.ndarray]:
    """``before`` moving frames, ``frozen`` repeats of the last one, ``after`` moving frames."""
    images = [moving(k) for k in range(before)]
    images += [images[-1]] * frozen
    images += [moving(before + k) for k in range(after)]
    return images


# ---- freeze ---------------------------------------------------------------------------------


def test_motion_alone_gives_no_freeze():
    assert run(FreezeDetector(), sequence([moving(k) for k in range(100)])) == []


def test_two_second_freeze_inside_motion_is_one_event_with_its_span():
    # frames 0..49 move, 50..99 repeat frame 49, frame 100 moves again.
    events = run(FreezeDetector(), sequence(motion_freeze_motion(50, 50, 50)))
    assert len(events) == 1
    event = events[0]
    assert event.detector == "freeze"
    assert event.start == pytest.approx(50 / FPS, abs=FRAME_S)
    assert event.end == pytest.approx(100 / FPS, abs=FRAME_S)
    assert 0.0 < event.score <= 1.0
    assert event.details["duration_s"] == pytest.approx(2.0, abs=FRAME_S)
    assert event.to_json()["detector"] == "freeze"


def test_exact_repeats_score_full_confidence():
    (event,) = run(FreezeDetector(), sequence(motion_freeze_motion(25, 25, 25)))
    assert event.score == pytest.approx(1.0)
    assert event.details["max_mafd"] == 0


@pytest.mark.parametrize("frozen", [1, 3, 6])
def test_freeze_shorter_than_min_duration_is_not_reported(frozen):
    # default min_duration_s 0.25 s: 6 repeats (0.24 s) is still too short.
    assert run(FreezeDetector(), sequence(motion_freeze_motion(25, frozen, 25))) == []


def test_freeze_just_over_min_duration_is_reported():
    events = run(FreezeDetector(), sequence(motion_freeze_motion(25, 7, 25)))
    assert len(events) == 1
    assert events[0].duration == pytest.approx(7 / FPS, abs=1e-6)


def test_min_duration_setting_is_honoured():
    detector = build_detector("freeze", {"min_duration_s": 1})
    assert detector.settings.min_duration_s == 1.0
    assert isinstance(detector.settings.min_duration_s, float)
    assert run(detector, sequence(motion_freeze_motion(25, 20, 25))) == []  # 0.8 s
    detector = build_detector("freeze", {"min_duration_s": 1})
    events = run(detector, sequence(motion_freeze_motion(25, 30, 25)))  # 1.2 s
    assert len(events) == 1
    assert events[0].duration == pytest.approx(1.2, abs=FRAME_S)


def test_freeze_lasting_to_the_end_is_reported_by_flush():
    detector = FreezeDetector()
    frames = sequence(motion_freeze_motion(50, 50, 0))
    fed = []
    for frame in frames:
        fed += detector.feed(frame)
    assert fed == []  # still open: nothing finished yet
    events = detector.flush()
    assert len(events) == 1
    assert events[0].start == pytest.approx(50 / FPS, abs=FRAME_S)
    # the run ends one frame interval after the last frame
    assert events[0].end == pytest.approx(100 / FPS, abs=FRAME_S)


def test_flush_without_frames_is_empty():
    assert FreezeDetector().flush() == []
    assert BlackDetector().flush() == []


def test_two_separate_freezes_are_two_events():
    images = motion_freeze_motion(25, 25, 25)
    images += [images[-1]] * 25 + [moving(200 + k) for k in range(25)]
    events = run(FreezeDetector(), sequence(images))
    assert len(events) == 2
    assert events[0].start == pytest.approx(1.0, abs=FRAME_S)
    assert events[1].start == pytest.approx(3.0, abs=FRAME_S)
    assert events[1].end == pytest.approx(4.0, abs=FRAME_S)


def test_timeline_offset_is_kept():
    # a capture that starts at t = 100 s reports events on that timeline.
    frames = [
        VideoFrame(100 + f.t, f.n, f.image) for f in sequence(motion_freeze_motion(25, 25, 25))
    ]
    (event,) = run(FreezeDetector(), frames)
    assert event.start == pytest.approx(101.0, abs=FRAME_S)
    assert event.end == pytest.approx(102.0, abs=FRAME_S)


def test_frozen_picture_with_capture_noise_is_still_a_freeze():
    rng = np.random.default_rng(7)
    still = moving(30).astype(np.float32)

    def noisy() -> np.ndarray:
        return np.clip(still + rng.normal(0.0, 1.0, still.shape), 0, 255).round().astype(np.uint8)

    images = [moving(k) for k in range(30)] + [noisy() for _ in range(50)]
    images += [moving(100 + k) for k in range(25)]
    # the frozen frames really differ pixel by pixel
    assert not np.array_equal(images[40], images[41])
    events = run(FreezeDetector(), sequence(images))
    assert len(events) == 1
    assert events[0].start == pytest.approx(31 / FPS, abs=FRAME_S)
    assert events[0].end == pytest.approx(80 / FPS, abs=FRAME_S)
    assert 0.5 <= events[0].score < 1.0  # noise lowers confidence below an exact repeat


def smooth_texture(seed: int = 3) -> np.ndarray:
    """A smooth, mid-grey random texture (float32, grey) that is far from flat."""
    rng = np.random.default_rng(seed)
    small = rng.uniform(40, 160, (H // 10, W // 10)).astype(np.float32)
    return cv2.resize(small, (W, H), interpolation=cv2.INTER_CUBIC)


def to_bgr(grey: np.ndarray) -> np.ndarray:
    grey = np.clip(grey, 0, 255).round().astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)


def frame_to_frame_mafd(images: list[np.ndarray]) -> list[float]:
    thumbs = [luma_thumbnail(i) for i in images]
    return [mean_absolute_difference(a, b) for a, b in zip(thumbs, thumbs[1:], strict=False)]


def test_slow_fade_is_not_a_freeze():
    base = smooth_texture()
    images = [to_bgr(base + 0.5 * k) for k in range(100)]  # half a grey level per frame
    noise = FreezeSettings().noise
    # each frame alone is within noise of the previous one: only the reference design sees
    # the change
    assert max(frame_to_frame_mafd(images)) <= noise
    assert run(FreezeDetector(), sequence(images)) == []


def test_slow_pan_is_not_a_freeze():
    base = smooth_texture(seed=5)
    images = []
    for k in range(100):
        shift = np.float32([[1, 0, 0.15 * k], [0, 1, 0]])  # 0.15 pixel per frame
        images.append(to_bgr(cv2.warpAffine(base, shift, (W, H), borderMode=cv2.BORDER_REFLECT)))
    assert max(frame_to_frame_mafd(images)) <= FreezeSettings().noise
    assert run(FreezeDetector(), sequence(images)) == []


def test_still_black_picture_is_black_not_freeze():
    images = [moving(k) for k in range(25)] + [black()] * 50 + [moving(100 + k) for k in range(25)]
    frames = sequence(images)
    assert run(FreezeDetector(), frames) == []
    events = run(BlackDetector(), frames)
    assert len(events) == 1
    assert events[0].start == pytest.approx(1.0, abs=FRAME_S)
    assert events[0].end == pytest.approx(3.0, abs=FRAME_S)


def test_still_uniform_grey_is_not_a_freeze():
    grey = np.full((H, W, 3), 128, np.uint8)
    images = [moving(k) for k in range(25)] + [grey] * 50 + [moving(100 + k) for k in range(25)]
    frames = sequence(images)
    assert run(FreezeDetector(), frames) == []
    assert run(BlackDetector(), frames) == []


def test_flat_level_zero_reports_still_black_as_freeze():
    # with flat_level 0 no picture is flat: the same black run is a freeze too, from the
    # first *repeated* black frame (the first black frame is a change).
    images = [moving(k) for k in range(25)] + [black()] * 50 + [moving(100 + k) for k in range(25)]
    events = run(build_detector("freeze", {"flat_level": 0}), sequence(images))
    assert len(events) == 1
    assert events[0].start == pytest.approx(26 / FPS, abs=1e-6)
    assert events[0].end == pytest.approx(75 / FPS, abs=1e-6)


def test_same_picture_at_another_capture_size_is_still_frozen():
    # both sizes give the same 80-pixel thumbnail: the picture did not change.
    small = cv2.resize(moving(24), (160, 90), interpolation=cv2.INTER_AREA)
    images = [moving(k) for k in range(25)] + [small] * 25 + [moving(100 + k) for k in range(25)]
    (event,) = run(FreezeDetector(), sequence(images))
    assert event.start == pytest.approx(1.0, abs=FRAME_S)
    assert event.end == pytest.approx(2.0, abs=FRAME_S)


def test_aspect_ratio_change_starts_afresh_without_error():
    # 320x240 gives an 80x60 thumbnail: not comparable, the detector re-references.
    tall = cv2.resize(moving(3), (W, 240))
    images = [moving(k) for k in range(10)] + [tall] * 3 + [moving(20 + k) for k in range(10)]
    assert run(FreezeDetector(), sequence(images)) == []


def test_freeze_open_when_the_capture_size_changes_is_still_reported():
    tall = [cv2.resize(moving(100 + k), (W, 240)) for k in range(25)]
    images = motion_freeze_motion(25, 25, 0) + tall  # 1 s freeze, then a 4:3 moving picture
    events = run(FreezeDetector(), sequence(images))
    assert len(events) == 1
    assert events[0].start == pytest.approx(1.0, abs=FRAME_S)
    assert events[0].end == pytest.approx(2.0, abs=FRAME_S)


# ---- black ----------------------------------------------------------------------------------


def test_black_inside_motion_is_one_event_with_its_span():
    images = [moving(k) for k in range(50)] + [black()] * 50 + [moving(100 + k) for k in range(50)]
    events = run(BlackDetector(), sequence(images))
    assert len(events) == 1
    event = events[0]
    assert event.detector == "black"
    assert event.start == pytest.approx(2.0, abs=FRAME_S)
    assert event.end == pytest.approx(4.0, abs=FRAME_S)
    assert event.score == pytest.approx(1.0)
    assert event.details["duration_s"] == pytest.approx(2.0, abs=FRAME_S)
    assert event.details["min_black_ratio"] == pytest.approx(1.0)


def logo_on_black() -> np.ndarray:
    image = black()
    # 36 x 24 = 864 px of 57600 = 1.5 % of the picture, aligned to the 4x4 thumbnail cells
    image[80:104, 200:236] = 255
    return image


def test_small_logo_on_black_still_counts_as_black():
    image = logo_on_black()
    assert np.count_nonzero(image[..., 0]) / (W * H) < 0.02
    images = [moving(k) for k in range(25)] + [image] * 25 + [moving(50 + k) for k in range(25)]
    events = run(BlackDetector(), sequence(images))
    assert len(events) == 1
    assert events[0].start == pytest.approx(1.0, abs=FRAME_S)
    assert events[0].end == pytest.approx(2.0, abs=FRAME_S)
    assert 0.98 <= events[0].score < 1.0  # the logo's share is not black


def test_large_bright_area_on_black_is_not_black():
    image = black()
    image[40:140, 80:240] = 255  # 28 % of the picture
    assert run(BlackDetector(), sequence([image] * 50)) == []


def test_dark_textured_scene_is_not_black():
    dark = texture(seed=4, low=0, high=61)
    images = [np.roll(dark, 5 * k, axis=1) for k in range(50)]
    assert run(BlackDetector(), sequence(images)) == []


def test_near_black_noise_counts_as_black():
    rng = np.random.default_rng(9)
    images = [rng.integers(0, 16, (H, W, 3), dtype=np.uint8) for _ in range(25)]
    events = run(BlackDetector(), sequence(images))
    assert len(events) == 1
    assert events[0].duration == pytest.approx(1.0, abs=FRAME_S)


def letterboxed(k: int) -> np.ndarray:
    image = moving(k).copy()
    bar = round(H * 0.12)
    image[:bar] = 0
    image[-bar:] = 0
    return image


def test_letterboxed_moving_content_is_not_black():
    detector = BlackDetector()
    ratio = detector.black_ratio(letterboxed(0))
    assert 0.2 < ratio < 0.98
    assert run(detector, sequence([letterboxed(k) for k in range(75)])) == []


@pytest.mark.parametrize("frames", [1, 4, 6])
def test_black_shorter_than_min_duration_is_not_reported(frames):
    images = [moving(k) for k in range(25)] + [black()] * frames
    images += [moving(100 + k) for k in range(25)]
    assert run(BlackDetector(BlackSettings(min_duration_s=0.25)), sequence(images)) == []


def test_a_single_black_frame_is_reported_by_default():
    images = [moving(k) for k in range(25)] + [black()] + [moving(100 + k) for k in range(25)]
    events = run(BlackDetector(), sequence(images))
    assert [(round(e.start, 2), round(e.end, 2)) for e in events] == [(1.0, 1.04)]


def test_black_min_duration_setting_is_honoured():
    images = [moving(k) for k in range(25)] + [black()] * 10 + [moving(100 + k) for k in range(25)]
    assert len(run(BlackDetector(), sequence(images))) == 1  # 0.4 s >= 0.04 s
    assert run(BlackDetector(BlackSettings(min_duration_s=0.5)), sequence(images)) == []


def test_black_lasting_to_the_end_is_reported_by_flush():
    detector = BlackDetector()
    frames = sequence([moving(k) for k in range(25)] + [black()] * 25)
    assert run(detector, frames, flush=False) == []
    events = detector.flush()
    assert len(events) == 1
    assert events[0].start == pytest.approx(1.0, abs=FRAME_S)
    assert events[0].end == pytest.approx(2.0, abs=FRAME_S)


def test_black_start_and_end_within_one_frame_at_odd_times():
    # capture timeline not starting at zero, black from frame 37 to frame 81
    images = [moving(k) for k in range(37)] + [black()] * 44 + [moving(100 + k) for k in range(20)]
    frames = sequence(images, first_n=1000)
    (event,) = run(BlackDetector(), frames)
    assert event.start == pytest.approx((1000 + 37) / FPS, abs=FRAME_S)
    assert event.end == pytest.approx((1000 + 81) / FPS, abs=FRAME_S)


def test_pixel_threshold_setting_is_honoured():
    grey30 = np.full((H, W, 3), 30, np.uint8)  # 0.118 of full scale
    assert run(BlackDetector(), sequence([grey30] * 25)) == []
    events = run(build_detector("black", {"pixel_threshold": 0.15}), sequence([grey30] * 25))
    assert len(events) == 1


# ---- both -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", sorted(n for n, cls in DETECTORS.items() if "video" in cls.consumes)
)
def test_audio_chunks_alone_make_no_events(name):
    detector = build_detector(name)
    loud = AudioChunk(0.0, np.ones((1920, 2), np.float32), 48_000)
    silent = AudioChunk(0.04, np.zeros((1920, 2), np.float32), 48_000)
    assert detector.feed(loud) == []
    assert detector.feed(silent) == []
    assert detector.flush() == []  # audio alone never starts a stream


def test_audio_between_frames_does_not_disturb_a_freeze():
    detector = FreezeDetector()
    events = []
    for frame in sequence(motion_freeze_motion(25, 25, 25)):
        events += detector.feed(frame)
        events += detector.feed(AudioChunk(frame.t, np.zeros((1920, 2), np.float32), 48_000))
    events += detector.flush()
    assert len(events) == 1
    assert events[0].start == pytest.approx(1.0, abs=FRAME_S)


# ---- settings validation --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "field", "problem"),
    [
        ({"noise": 2}, "freeze.noise", "[0, 1)"),
        ({"noise": -0.1}, "freeze.noise", "[0, 1)"),
        ({"min_duration_s": -1}, "freeze.min_duration_s", "> 0"),
        ({"min_duration_s": 0}, "freeze.min_duration_s", "> 0"),
        ({"flat_level": 1.0}, "freeze.flat_level", "[0, 1)"),
        ({"bogus": 1}, "freeze.bogus", "unknown setting"),
        ({"noise": "x"}, "freeze.noise", "expected a number"),
        ({"noise": True}, "freeze.noise", "expected a number"),
        ({"noise": None}, "freeze.noise", "expected a number"),
    ],
)
def test_bad_freeze_settings_name_the_field(settings, field, problem):
    with pytest.raises(SettingsError) as info:
        build_detector("freeze", settings)
    message = str(info.value)
    assert message.startswith(f"{field}:")
    assert problem in message


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"picture_threshold": 0}, "black.picture_threshold"),
        ({"picture_threshold": 1.5}, "black.picture_threshold"),
        ({"pixel_threshold": 1}, "black.pixel_threshold"),
        ({"min_duration_s": -0.5}, "black.min_duration_s"),
        ({"colour": "red"}, "black.colour"),
    ],
)
def test_bad_black_settings_name_the_field(settings, field):
    with pytest.raises(SettingsError, match=rf"^{field}:"):
        build_detector("black", settings)


def test_unknown_setting_lists_the_known_ones():
    with pytest.raises(SettingsError) as info:
        build_detector("freeze", {"bogus": 1})
    for known in ("flat_level", "min_duration_s", "noise"):
        assert known in str(info.value)


def test_unknown_detector_names_the_known_detectors():
    with pytest.raises(SettingsError) as info:
        build_detector("nope")
    message = str(info.value)
    assert "'nope'" in message
    assert "black" in message and "freeze" in message


def test_settings_direct_construction_validates_too():
    with pytest.raises(SettingsError, match="^noise:"):
        FreezeSettings(noise=1.0)
    with pytest.raises(SettingsError, match="^picture_threshold:"):
        BlackSettings(picture_threshold=0.0)


def test_build_detectors_gives_each_its_own_settings():
    freeze, black_detector = build_detectors(
        ["freeze", "black"], {"freeze": {"noise": 0.01}, "black": {"min_duration_s": 2}}
    )
    assert isinstance(freeze, FreezeDetector) and isinstance(black_detector, BlackDetector)
    assert freeze.settings.noise == 0.01
    assert freeze.settings.min_duration_s == FreezeSettings().min_duration_s
    assert black_detector.settings.min_duration_s == 2.0
    assert black_detector.settings.pixel_threshold == BlackSettings().pixel_threshold

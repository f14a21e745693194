"""The ``av_sync`` detector: flash + beep markers, sub-frame / sub-sample timing, tolerance
and drift events, files made by other tools, and silence on content without markers."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import av_drift_detector
import numpy as np
import pytest

from detectors.av_sync import AvSyncDetector, AvSyncSettings
from detectors.media import AudioChunk, VideoFrame
from detectors.registry import build_detector
from detectors.settings import SettingsError
from devices.simulator.content import big_buck_bunny_path
from harness.capture.file import FileCapture

REPO = Path(__file__).resolve().parents[1]
FPS, RATE = 25, 48_000


def sync_stream(
    seconds: float, lead_ms=lambda t: 0.0, fps: int = FPS, phases: int = 5
) -> list[VideoFrame | AudioChunk]:
    """Frames and 20 ms audio chunks of a flash + beep stream, in time order.

    Markers start at 1 s, one a second, at sub-frame phases; a frame shows the share of its
    interval the 100 ms flash covered (partly lit first frames). The 1 kHz beep of the marker
    at ``m`` starts at ``m - lead_ms(m) / 1000`` (positive lead: audio early), between samples.
    """
    interval = 1.0 / fps
    markers = [1.0 + i + (i % phases) / phases * interval for i in range(int(seconds) - 1)]
    frames = []
    for k in range(round(seconds * fps)):
        lit = sum(
            max(0.0, min((k + 1) * interval, m + 0.1) - max(k * interval, m)) for m in markers
        )
        level = 30 + (235 - 30) * min(1.0, lit / interval)
        frames.append(VideoFrame(k * interval, k, np.full((90, 160, 3), round(level), np.uint8)))
    t = np.arange(round(seconds * RATE)) / RATE
    audio = np.zeros_like(t)
    for m in markers:
        onset = m - lead_ms(m) / 1000.0
        inside = (t >= onset) & (t < onset + 0.1)
        audio[inside] = 0.5 * np.sin(2 * np.pi * 1000.0 * (t[inside] - onset))
    step = RATE // 50
    chunks = [
        AudioChunk(i / RATE, audio[i : i + step, None].astype(np.float32), RATE)
        for i in range(0, len(audio), step)
    ]
    return sorted([*frames, *chunks], key=lambda item: item.t)


def run(detector: AvSyncDetector, items) -> list:
    events = []
    for item in items:
        events += detector.feed(item)
    return events + detector.flush()


@pytest.mark.parametrize("lead_ms", [-200.0, -37.3, 0.0, 12.5, 120.0, 200.0])
def test_offsets_are_measured_to_a_fraction_of_a_millisecond(lead_ms):
    detector = AvSyncDetector()
    run(detector, sync_stream(9, lambda t: lead_ms))
    assert len(detector.markers) == 8
    errors = [abs(m.offset_ms - lead_ms) for m in detector.markers]
    assert max(errors) < 0.5, errors  # partly lit first frames and between-sample onsets


def test_sign_convention_and_tolerances_follow_bt1359():
    detector = AvSyncDetector()
    events = run(detector, sync_stream(6, lambda t: 60.0))  # audio 60 ms early: > +45
    assert [e.details["direction"] for e in events] == ["audio early"]
    assert events[0].details["mean_offset_ms"] == pytest.approx(60.0, abs=0.5)
    assert run(AvSyncDetector(), sync_stream(6, lambda t: -100.0)) == []  # late, within -125
    late = run(AvSyncDetector(), sync_stream(6, lambda t: -150.0))
    assert [e.details["direction"] for e in late] == ["audio late"]


def test_an_offset_window_is_one_event_with_mean_and_span():
    events = run(AvSyncDetector(), sync_stream(12, lambda t: 120.0 if 3.5 < t < 8.5 else 0.0))
    assert len(events) == 1
    event = events[0]
    assert 3.9 < event.start < 4.2 and 8.0 < event.end < 8.2
    assert event.details["markers"] == 5
    low, high = event.details["span_ms"]
    assert 119.5 < low <= high < 120.5


def test_calibration_is_subtracted():
    detector = build_detector("av_sync", {"calibration_ms": 80.0})
    assert run(detector, sync_stream(6, lambda t: 80.0)) == []
    assert all(abs(m.offset_ms) < 0.5 for m in detector.markers)


def test_a_chain_delay_beyond_half_the_marker_period_pairs_by_its_calibration():
    """Sound 700 ms late (a deep-buffered sound card path): nearest-beep pairing would read
    each flash against the next marker's beep (+300 ms); the calibrated rig pairs it with its
    own beep, and a +120 ms fault on top still reads +120."""
    uncalibrated = AvSyncDetector()
    run(uncalibrated, sync_stream(9, lambda t: -700.0))
    assert len(uncalibrated.markers) == 7
    assert all(250 < m.offset_ms < 350 for m in uncalibrated.markers), uncalibrated.markers
    detector = build_detector("av_sync", {"calibration_ms": -700.0})
    run(detector, sync_stream(9, lambda t: -700.0 + (120.0 if t > 5.5 else 0.0)))
    offsets = [m.offset_ms for m in detector.markers]
    assert len(offsets) >= 7, offsets
    assert [round(o) for o in offsets] == [0] * (len(offsets) - 3) + [120] * 3, offsets


def test_drift_is_reported_in_ms_per_minute():
    detector = AvSyncDetector()
    events = run(detector, sync_stream(16, lambda t: 40.0 * t / 60.0))
    drifts = [e for e in events if e.details["kind"] == "drift"]
    assert len(drifts) == 1
    assert drifts[0].details["drift_ms_per_min"] == pytest.approx(40.0, abs=1.0)
    assert detector.summary()["drift_ms_per_min"] == pytest.approx(40.0, abs=1.0)
    assert run(AvSyncDetector(), sync_stream(16, lambda t: 5.0 * t / 60.0)) == []


def stamped_stream(seconds: int, late_s: float, gap: tuple[float, float] | None = None) -> list:
    """av-drift-detector's pattern: frames and 20 ms chunks, the sound ``late_s`` late; the
    chunks starting within ``gap`` (seconds) are lost (the samples after it keep their time)."""
    renderer = av_drift_detector.PatternRenderer(fps="25", width=320, height=180)
    sound = np.frombuffer(
        av_drift_detector.synthesize_audio(seconds * RATE, fps="25", delay=late_s), np.float32
    ).copy()
    items: list = []
    for k in range(seconds * FPS):
        luma = np.frombuffer(renderer.render(k), np.uint8).reshape(180, 320)
        items.append(VideoFrame(k / FPS, k, np.dstack([luma] * 3)))
    step = RATE // 50
    for i in range(0, len(sound), step):
        if gap is None or not gap[0] <= i / RATE < gap[1]:
            items.append(AudioChunk(i / RATE, sound[i : i + step, None], RATE))
    return sorted(items, key=lambda item: item.t)


def test_av_drift_detector_stamped_pattern_is_measured_with_it():
    """The "Sync Test" pattern (frame numbers in picture and sound) is read by
    av-drift-detector's own StampReader + analyze_frames, one marker per 2 s window."""
    detector = build_detector("av_sync", {"late_tolerance_ms": 50.0, "calibration_ms": 10.0})
    events = run(detector, stamped_stream(7, 0.0803))
    assert len(detector.markers) >= 3
    assert all(abs(m.offset_ms + 90.3) < 0.5 for m in detector.markers), detector.markers
    assert [e.details["direction"] for e in events] == ["audio late"]
    for marker in detector.markers:  # beep_s is the raw sound time, as for flash markers
        assert (marker.flash_s - marker.beep_s) * 1000 == pytest.approx(-80.3, abs=0.5)


def test_a_gap_in_the_sound_does_not_shift_the_stamped_windows_after_it():
    detector = AvSyncDetector()
    run(detector, stamped_stream(9, 0.0803, gap=(2.5, 3.0)))
    after = [m for m in detector.markers if m.flash_s > 3.5]
    assert len(detector.markers) >= 3 and after, detector.markers
    assert all(abs(m.offset_ms + 80.3) < 0.5 for m in detector.markers), detector.markers


def test_flashes_without_sound_are_not_kept_forever():
    detector = AvSyncDetector()
    for item in sync_stream(30):
        if isinstance(item, VideoFrame):
            detector.feed(item)
    assert len(detector._pending_flashes) <= 1


def test_content_without_markers_gives_nothing():
    detector = AvSyncDetector()
    assert run(detector, FileCapture(big_buck_bunny_path()).items()) == []
    assert detector.markers == []


def test_a_flash_without_a_beep_or_a_beep_without_a_flash_is_no_marker():
    silent = [i for i in sync_stream(6) if isinstance(i, VideoFrame)]
    detector = AvSyncDetector()
    assert run(detector, silent) == [] and detector.markers == []
    dark = [
        VideoFrame(i.t, i.n, np.full((90, 160, 3), 30, np.uint8))
        if isinstance(i, VideoFrame)
        else i
        for i in sync_stream(6)
    ]
    detector = AvSyncDetector()
    assert run(detector, dark) == [] and detector.markers == []


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="Debian ffmpeg not installed")
def test_analyze_measures_a_sync_file_made_by_ffmpeg_lavfi(tmp_path):
    """A generic sync file: white flash on black and a 1 kHz burst once a second (FFmpeg's
    lavfi), the audio delayed 40 ms, H.264 + AAC; analysed by ``onglass analyze``."""
    media = tmp_path / "lavfi_sync.mp4"
    video = (
        "color=c=black:s=320x240:r=25:d=8[bg];color=c=white:s=320x240:r=25:d=8[fg];"
        "[bg][fg]overlay=enable='lt(mod(t,1),0.08)'"
    )
    audio = "aevalsrc='0.5*sin(2*PI*1000*t)*lt(mod(t,1),0.1)':s=48000:d=8,adelay=40"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", video, "-f", "lavfi", "-i", audio,
         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(media)],
        check=True, timeout=60,
    )  # fmt: skip
    out = tmp_path / "analysis.json"
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "analyze", str(media), "--json", str(out),
         "--detectors", "av_sync", "--set", "av_sync.late_tolerance_ms=30", "--quiet"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    events = json.loads(out.read_text())["events"]
    assert len(events) == 1, events
    assert events[0]["details"]["direction"] == "audio late"
    assert events[0]["details"]["mean_offset_ms"] == pytest.approx(-40.0, abs=1.0)
    assert events[0]["details"]["markers"] == 7


def test_bad_settings_are_named():
    with pytest.raises(SettingsError, match="av_sync.early_tolerance_ms: must be > 0"):
        build_detector("av_sync", {"early_tolerance_ms": 0})
    with pytest.raises(SettingsError, match="av_sync.pair_window_s"):
        build_detector("av_sync", {"pair_window_s": 2.0})
    assert AvSyncSettings().early_tolerance_ms == 45.0
    assert AvSyncSettings().late_tolerance_ms == 125.0

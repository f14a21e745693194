"""The ``card`` capture backend: mode negotiation and its one-line errors, with OpenCV's real
V4L2 backend (no /dev/video* exists on these machines, so success cannot be shown here), the
rig section, and the sound device's clock fit."""

from __future__ import annotations

import glob

import cv2
import numpy as np
import pytest
import yaml

from harness.calibrate import write_av_offset
from harness.capture.card import (
    CardCapture,
    CardError,
    CardMode,
    fourcc_text,
    mode_mismatch,
    open_video,
)
from harness.capture.sounddevice_audio import SampleClock
from harness.rig import RigError, default_rig_path, load_rig, parse_rig
from harness.session import RigSession

NO_CARD = not glob.glob("/dev/video*")


def test_fourcc_round_trips_through_opencv():
    for code in ("MJPG", "YUYV", "NV12"):
        assert fourcc_text(cv2.VideoWriter_fourcc(*code)) == code


def test_mode_mismatch_names_every_difference():
    asked = CardMode("MJPG", 1920, 1080, 60.0)
    assert mode_mismatch(asked, CardMode("MJPG", 1920, 1080, 59.94)) is None  # same mode
    assert mode_mismatch(asked, CardMode("YUYV", 1280, 720, 30.0)) == (
        "pixel format 'YUYV', size 1280x720, 30 fps"
    )
    assert mode_mismatch(asked, CardMode("mjpg", 1920, 1080, 50.0)) == "50 fps"


def test_bad_modes_are_refused():
    with pytest.raises(ValueError, match="fourcc: expected 4 characters"):
        CardMode("MJPEG")
    with pytest.raises(ValueError, match="fps: expected > 0"):
        CardMode(fps=0)


@pytest.mark.skipif(not NO_CARD, reason="a V4L2 device exists here")
@pytest.mark.parametrize("device", ["/dev/video0", 3])
def test_an_absent_card_is_one_line_naming_it(device):
    with pytest.raises(CardError) as error:
        open_video(device, CardMode())
    message = str(error.value)
    assert "\n" not in message
    assert "no such device" in message and "/dev/video" in message


def test_a_device_opencv_cannot_capture_from_is_named():
    """/dev/null exists but is no V4L2 device: OpenCV's real V4L2 backend refuses it."""
    with pytest.raises(CardError, match=r"/dev/null: cannot open with V4L2 \(busy"):
        open_video("/dev/null", CardMode())


@pytest.mark.skipif(not NO_CARD, reason="a V4L2 device exists here")
def test_a_capture_of_an_absent_card_ends_with_the_error():
    capture = CardCapture("/dev/video7", CardMode("YUYV", 1280, 720, 30))
    capture.start()
    assert capture.wait_until_ended(5)
    assert capture.error is not None and "/dev/video7: no such device" in capture.error
    assert capture.health.video_frames == 0


def _rig(capture: dict) -> dict:
    data = yaml.safe_load(default_rig_path().read_text())
    data.pop("simulator")
    data["device"]["transport"]["address"] = "192.168.1.20:5555"
    data["capture"] = capture
    return data


def test_rig_card_section():
    rig = parse_rig(
        _rig(
            {
                "backend": "card",
                "card": {"video": 0, "fourcc": "YUYV", "size": "1280x720", "fps": 50},
                "av_offset_ms": -12.5,
            }
        ),
        "lab.yaml",
    )
    assert rig.capture.card is not None
    assert (rig.capture.card.video, rig.capture.card.width, rig.capture.card.fps) == (0, 1280, 50)
    assert rig.capture.av_offset_ms == -12.5
    with pytest.raises(RigError, match="lab.yaml: capture.card: missing section"):
        parse_rig(_rig({"backend": "card"}), "lab.yaml")
    with pytest.raises(RigError, match="lab.yaml: capture.card.size: expected WIDTHxHEIGHT"):
        parse_rig(_rig({"backend": "card", "card": {"video": 0, "size": "big"}}), "lab.yaml")
    with pytest.raises(RigError, match="lab.yaml: capture.card.fourcc: expected 4 characters"):
        parse_rig(_rig({"backend": "card", "card": {"video": 0, "fourcc": "H"}}), "lab.yaml")


def test_sample_clock_measures_and_corrects_drift():
    """A card whose clock runs 100 ppm fast, its blocks arriving 5..25 ms late."""
    nominal, true_rate = 48_000, 48_000 * (1 + 100e-6)
    clock = SampleClock(nominal)
    rng = np.random.default_rng(1)
    for block in range(1, 20 * 100):  # 20 s of 480-sample blocks
        n = block * 480
        clock.observe(n, 10.0 + n / true_rate + 0.005 + rng.uniform(0, 0.02))
    assert clock.drift_ppm == pytest.approx(100.0, abs=10.0)
    n = 19 * nominal
    assert clock.host_time(n) == pytest.approx(10.0 + n / true_rate + 0.005, abs=0.001)


def test_calibrated_av_offset_is_stored_and_given_to_av_sync(tmp_path):
    path = tmp_path / "rig.yaml"
    path.write_text(yaml.safe_dump(_rig({"backend": "stream", "url": "udp://0.0.0.0:5004"})))
    backup = write_av_offset(path, -155.437)
    assert backup.exists()
    rig = load_rig(path)
    assert rig.capture.av_offset_ms == -155.44
    session = RigSession.__new__(RigSession)  # no device needed to build detectors
    session.rig = rig
    (av_sync,) = [d for d in session.new_detectors() if d.name == "av_sync"]
    assert av_sync.settings.calibration_ms == -155.44

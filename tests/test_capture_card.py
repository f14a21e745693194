"""The ``card`` capture backend: mode negotiation and its one-line errors, with OpenCV's real
V4L2 backend (no /dev/video* exists on these machines, so success cannot be shown here), the
rig section, and the sound device's clock fit."""

from __future__ import annotations

import glob
import os
import threading
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import yaml

from detectors.media import AudioChunk, VideoFrame
from devices.simulator.device import SimulatorConfig, render_playback
from harness.calibrate import write_av_offset
from harness.capture.card import (
    CardCapture,
    CardError,
    CardMode,
    fourcc_text,
    mode_mismatch,
    open_video,
)
from harness.capture.file import FileCapture
from harness.capture.frame_recorder import FrameRecorder
from harness.capture.sounddevice_audio import SampleClock, SoundDeviceAudio
from harness.rig import RigError, default_rig_path, load_rig, parse_rig
from harness.session import rig_detectors

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
    (av_sync,) = [d for d in rig_detectors(rig) if d.name == "av_sync"]  # RigSession's
    assert av_sync.settings.calibration_ms == -155.44


def _portaudio_blocks(seconds: float, adc_noise_s, *, adc_until_s: float = 1e9, seed: int = 2):
    """What PortAudio hands a 480-sample input callback on a card whose clock runs 50 ppm
    fast: (arrival, currentTime, inputBufferAdcTime) with the stream clock on its own epoch,
    the callback 10 ms after the block's last sample plus 0..20 ms of scheduling delay, and
    ``adc_noise_s(rng)`` seconds of error on the ADC time (0 from ``adc_until_s`` on)."""
    rng = np.random.default_rng(seed)
    rate, epoch = 48_000 * (1 + 50e-6), 7_654.321  # stream clock = host + epoch
    for block in range(round(seconds * 100)):
        first = 500.0 + block * 480 / rate  # host seconds the block's first sample was sampled
        arrival = first + 480 / rate + 0.010 + rng.uniform(0.0, 0.020)
        adc = first + epoch + adc_noise_s(rng) if block / 100 < adc_until_s else 0.0
        yield arrival, arrival + epoch + rng.uniform(0.0, 2e-5), adc


def _place_all(audio: SoundDeviceAudio, blocks) -> list[tuple[float, bool]]:
    placed = []
    for arrival, current, adc in blocks:
        t = audio.place(480, arrival=arrival, current=current, adc=adc)
        placed.append((t, audio.uses_adc_time))
    return placed


def _audio() -> SoundDeviceAudio:
    return SoundDeviceAudio("card", lambda chunk: None, lambda host: host - 499.0)


def test_auto_timing_decides_once_and_keeps_it_when_the_adc_jitter_hovers_at_the_limit():
    """ADC times whose jitter window moves across ADC_JITTER_S again and again (8 times here):
    the choice is made once, and later blocks follow each other without steps."""
    audio = _audio()
    placed = _place_all(audio, _portaudio_blocks(30, lambda rng: rng.normal(0, 0.00018)))
    assert audio.decision is not None and audio.decided_at_s is not None
    decided = next(i for i, (_, adc) in enumerate(placed) if i / 100 >= audio.decided_at_s)
    after = placed[decided + 1 :]
    assert len({adc for _, adc in after}) == 1  # never flips
    steps = np.diff([t for t, _ in after])
    assert np.all(np.abs(steps - 480 / 48_000) < 0.0005), np.abs(steps - 0.01).max()
    health = audio.health()
    assert health["audio_timing_decision"] == audio.decision
    assert health["audio_timing_forced_change"] is None


def test_auto_timing_takes_steady_adc_times_and_refuses_wandering_ones():
    steady = _audio()
    _place_all(steady, _portaudio_blocks(10, lambda rng: 0.0))
    assert steady.uses_adc_time and "<=" in steady.decision
    assert steady.health()["audio_drift_ppm"] == pytest.approx(50.0, abs=5.0)
    wandering = _audio()  # ALSA's pulse plugin: ADC times off by several ms
    _place_all(wandering, _portaudio_blocks(10, lambda rng: rng.uniform(-0.004, 0.004)))
    assert not wandering.uses_adc_time and ">" in wandering.decision
    none = _audio()  # a host API that gives no ADC times
    _place_all(none, _portaudio_blocks(13, lambda rng: 0.0, adc_until_s=0))
    assert not none.uses_adc_time and "no usable ADC times" in none.decision


def test_adc_times_that_stop_force_one_recorded_change_to_arrival():
    audio = _audio()
    _place_all(audio, _portaudio_blocks(14, lambda rng: 0.0, adc_until_s=10))
    assert not audio.uses_adc_time
    change = audio.health()["audio_timing_forced_change"]
    assert change.startswith("adc -> arrival at 10.0") and "ADC times stopped" in change


class _StallingCard(CardCapture):
    """A card whose frames come through OpenCV from a FIFO that stops delivering after 1 s
    of video: the real reader, timeout and recording code, only the device is different."""

    def __init__(self, fifo: Path, **kwargs) -> None:
        super().__init__("/dev/video-test", CardMode("H264", 320, 240, 25), **kwargs)
        self.fifo = fifo

    def _open(self) -> cv2.VideoCapture:
        return cv2.VideoCapture(str(self.fifo), cv2.CAP_FFMPEG)


def test_a_card_that_stops_delivering_ends_with_a_one_line_error_and_keeps_its_recording(
    tmp_path,
):
    source, fifo = tmp_path / "source.ts", tmp_path / "card.fifo"
    render_playback(str(source), "Big Buck Bunny", 2.0, config=SimulatorConfig(320, 240, 25))
    os.mkfifo(fifo)
    release = threading.Event()

    def feed() -> None:  # write the picture, then keep the pipe open and silent
        with fifo.open("wb") as pipe:
            pipe.write(source.read_bytes())
            pipe.flush()
            release.wait(30)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    capture = _StallingCard(fifo, read_timeout_s=0.5, record_to=tmp_path / "card.ts")
    try:
        capture.start()
        assert capture.wait_until_ended(20)
    finally:
        capture.stop()
        release.set()
    assert (
        capture.error
        == "CardError: capture card /dev/video-test: no frame within 0.5 s (signal lost?)"
    )
    assert capture.health.video_frames >= 20
    recorded = list(FileCapture(str(capture.recording)).items())
    frames = [item for item in recorded if isinstance(item, VideoFrame)]
    assert len(frames) >= capture.health.video_frames - 2  # a crash keeps what was captured
    assert frames[0].image.shape[:2] == (240, 320)


def test_rig_card_mode_errors_name_the_field():
    with pytest.raises(RigError, match=r"lab.yaml: capture.card.size: expected positive pixels"):
        parse_rig(_rig({"backend": "card", "card": {"video": 0, "size": "0x720"}}), "lab.yaml")
    with pytest.raises(RigError, match=r"lab.yaml: capture.card.fps: expected > 0"):
        parse_rig(_rig({"backend": "card", "card": {"video": 0, "fps": -5}}), "lab.yaml")


def test_the_card_recording_keeps_picture_and_sound_on_the_capture_timeline(tmp_path):
    """FrameRecorder (the card's recorder): 2 s of frames and 20 ms chunks with a flash and a
    beep at 1.0 s; read back, both are at 1.0 s of capture time (recording time - origin)."""
    recorder = FrameRecorder(tmp_path / "card.ts", 25, audio_rate=48_000, audio_channels=2)
    for k in range(50):
        image = np.full((240, 320, 3), 230 if 25 <= k < 28 else 20, np.uint8)
        recorder.write(VideoFrame(k / 25, k, image))
        for i in range(2):
            t = k / 25 + i * 0.02
            n = np.arange(960) / 48_000 + t
            tone = 0.5 * np.sin(2 * np.pi * 1000 * n) * ((n >= 1.0) & (n < 1.1))
            recorder.write(AudioChunk(t, np.repeat(tone[:, None], 2, axis=1), 48_000))
    recorder.close()
    assert recorder.error is None and recorder.dropped == 0
    frames, sound = [], []
    with av.open(str(tmp_path / "card.ts")) as container:
        for frame in container.decode(video=0, audio=0):
            t = float(frame.time) - recorder.origin_s
            if isinstance(frame, av.VideoFrame):
                frames.append((t, float(frame.to_ndarray(format="gray").mean())))
            else:
                sound.append((t, float(np.abs(frame.to_ndarray()).max())))
    assert len(frames) == 50 and frames[0][0] == pytest.approx(0.0, abs=1e-3)
    assert min(t for t, level in frames if level > 128) == pytest.approx(1.0, abs=1e-3)
    loud = min(t for t, level in sound if level > 0.1)
    assert loud == pytest.approx(1.0, abs=0.03)  # the AAC frame (21 ms) holding the onset

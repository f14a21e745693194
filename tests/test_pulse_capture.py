"""The audio capture path for real: a private PulseAudio server with a null sink, the virtual
device playing its sound into it (``pacat``), the harness recording the sink's monitor with
sounddevice through ALSA's ``pulse`` device, paired with the device's stream video on one
timeline (a rig with ``capture.audio_device: pulse``), ``onglass calibrate --av``'s
measurement stored in the rig file, and the calibrated ``av_sync`` measuring the "AV Sync"
title's markers.

CI installs pulseaudio + pulseaudio-utils + libportaudio2 (scripts/bootstrap); the fixture
starts the server itself."""

from __future__ import annotations

import os
import signal
import sys
import threading
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml

from detectors.av_sync import AvSyncSettings, BeepFinder, Marker
from detectors.media import AudioChunk
from devices.simulator.pulse_out import QUEUE_S, PulseAudioOutput
from harness.calibrate import (
    AvCalibration,
    av_calibration_warning,
    measure_av_offset,
    play_and_feed,
    write_av_offset,
)
from harness.errors import InfrastructureError
from harness.pulse_server import PulseServer
from harness.rig import default_rig_path, load_rig
from harness.session import RigSession
from harness.virtual_device import VirtualDeviceProcess

FAULT_AT_S = 10.0
FAULTS = f"av_offset@{FAULT_AT_S:g}s+30s:120ms"
"""In sync for the first 10 s of each playback, then +120 ms (audio early)."""


@pytest.fixture(scope="session")
def pulse() -> Iterator[PulseServer]:
    with PulseServer() as server:
        previous = os.environ.get("PULSE_SERVER")
        os.environ["PULSE_SERVER"] = server.server  # PortAudio's ALSA pulse plugin reads it
        try:
            yield server
        finally:
            if previous is None:
                os.environ.pop("PULSE_SERVER", None)
            else:
                os.environ["PULSE_SERVER"] = previous


def test_the_server_has_the_null_sink(pulse):
    info = pulse.info()
    assert f"Default Sink: {pulse.sink}" in info
    assert f"Default Source: {pulse.sink}.monitor" in info


@pytest.fixture(scope="module")
def pulse_rig(pulse, tmp_path_factory) -> Path:
    """The virtual rig, its device also playing into the sink, its capture taking the sound
    from the ``pulse`` device instead of the stream."""
    rig = yaml.safe_load(default_rig_path().read_text())
    rig["simulator"].update(faults=FAULTS, pulse_sink=pulse.sink)
    rig["capture"]["audio_device"] = "pulse"
    rig["detectors"] = {"av_sync": {}}
    path = tmp_path_factory.mktemp("pulse_rig") / "rig.yaml"
    path.write_text(yaml.safe_dump(rig, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def measured(pulse_rig, tmp_path_factory) -> tuple[AvCalibration, list[Marker], dict, Path]:
    """``calibrate --av`` on the Pulse path (written into the rig file), then ~18 s of the AV
    Sync title measured by the rig's calibrated ``av_sync``, through the same session, the
    stream recorded with the device's sound beside it."""
    record_to = tmp_path_factory.mktemp("pulse_recording") / "capture.ts"
    session = RigSession(load_rig(pulse_rig))
    try:
        calibration = measure_av_offset(session, seconds=8.5)  # before the fault (10 s)
        write_av_offset(pulse_rig, calibration.offset_ms)
        session.rig = load_rig(pulse_rig)
        (detector,) = session.new_detectors()
        capture = play_and_feed(session, "AV Sync", 18.0, detector.feed, record_to=record_to)
        detector.flush()
        return calibration, detector.markers, capture.health.as_dict(), capture.audio_recording
    finally:
        session.close()


def test_device_audio_is_captured_through_pulse_on_the_video_timeline(measured):
    calibration, markers, health, _ = measured
    assert health["audio_device"] == "pulse"
    assert health["audio_timing"] == "arrival" and health["audio_timing_decision"], health
    assert health["audio_samples"] > 10 * 48_000, health
    assert health["audio_overruns"] == 0, health
    assert calibration.markers >= 5, calibration
    assert len(markers) >= 12, (markers, health)  # a beep paired with each flash


def test_offset_after_calibration_is_within_tolerance_and_the_fault_is_measured(
    measured, pulse_rig
):
    calibration, markers, health, _ = measured
    stored = yaml.safe_load(pulse_rig.read_text())["capture"]["av_offset_ms"]
    assert stored == pytest.approx(calibration.offset_ms, abs=0.01)
    first = markers[0].flash_s  # the first marker plays 1-2 s into playback
    clean = np.array([m.offset_ms for m in markers if m.flash_s < first + 6.0])
    faulty = np.array([m.offset_ms for m in markers if m.flash_s > first + FAULT_AT_S])
    assert len(clean) >= 5 and len(faulty) >= 3, (markers, health)
    assert np.all(np.abs(clean) <= 45.0), clean  # in sync, within BT.1359's +45 / -125 ms
    assert abs(float(np.median(clean))) <= 20.0, clean
    assert float(np.median(faulty)) == pytest.approx(120.0, abs=20.0), faulty


def test_the_device_sound_is_kept_beside_the_recording_on_the_capture_timeline(measured):
    _, markers, _, wav_path = measured
    assert wav_path is not None and wav_path.name == "capture.device-audio.wav"
    with wave.open(str(wav_path)) as wav:
        rate, channels = wav.getframerate(), wav.getnchannels()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
    samples = (pcm.reshape(-1, channels) / 32768.0).astype(np.float32)
    finder = BeepFinder(AvSyncSettings())
    beeps = finder.feed(AudioChunk(0.0, samples, rate)) + finder.flush()
    for (
        marker
    ) in markers:  # sample index / rate = capture time: the beeps are where av_sync heard them
        assert min(abs(b - marker.beep_s) for b in beeps) < 0.005, (marker, beeps[:5])


def test_a_stalled_pulse_server_never_blocks_the_device_output(pulse):
    """The server stopped (SIGSTOP): the render loop's writes still return at once; the sound
    beyond the queue is dropped and counted."""
    output = PulseAudioOutput(pulse.sink)
    frame = np.zeros((1920, 2), np.float32)  # one 25 fps frame of sound
    os.kill(pulse._process.pid, signal.SIGSTOP)
    try:
        writer = threading.Thread(target=lambda: [output.write(frame) for _ in range(150)])
        writer.start()
        writer.join(30)
        assert not writer.is_alive()
        assert output.dropped_s >= 6.0 - QUEUE_S - 0.5, output.dropped_s
    finally:
        os.kill(pulse._process.pid, signal.SIGCONT)
        output.close()
    assert "onglass" in pulse.info()  # the server is fine again


def test_a_device_that_cannot_play_into_pulse_says_so_in_one_line(pulse, tmp_path):
    """pacat missing (an empty PATH for the device): the device stops at start and the
    harness reports the device's one-line reason, not "no video within N s"."""
    env = {**pulse.environ(), "PATH": str(tmp_path)}
    device = VirtualDeviceProcess(pulse_sink=pulse.sink, env=env)
    device.args[0] = sys.executable  # an absolute path: the empty PATH cannot find it
    with pytest.raises(InfrastructureError, match="pacat not installed") as error:
        device.start(timeout_s=60)
    assert "\n" not in str(error.value)


def test_calibrating_the_pulse_path_warns_that_the_offset_does_not_last(pulse_rig):
    warning = av_calibration_warning(load_rig(pulse_rig))
    assert warning is not None and "pulse_sink" in warning and "\n" not in warning
    assert av_calibration_warning(load_rig(default_rig_path())) is None

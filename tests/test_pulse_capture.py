"""The audio capture path for real: a private PulseAudio server with a null sink, the virtual
device playing its sound into it (``pacat``), the harness recording the sink's monitor with
sounddevice through ALSA's ``pulse`` device, paired with the device's stream video on one
timeline (a rig with ``capture.audio_device: pulse``), ``onglass calibrate --av``'s
measurement stored in the rig file, and the calibrated ``av_sync`` measuring the "AV Sync"
title's markers.

CI installs pulseaudio + pulseaudio-utils + libportaudio2 (scripts/bootstrap); the fixture
starts the server itself."""

from __future__ import annotations

import contextlib
import os
import queue
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml

from detectors.av_sync import Marker
from harness.calibrate import AvCalibration, measure_av_offset, write_av_offset
from harness.pulse_server import PulseServer
from harness.rig import default_rig_path, load_rig
from harness.session import RigSession

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
def measured(pulse_rig) -> tuple[AvCalibration, list[Marker], dict]:
    """``calibrate --av`` on the Pulse path (written into the rig file), then ~18 s of the AV
    Sync title measured by the rig's calibrated ``av_sync``, through the same session."""
    session = RigSession(load_rig(pulse_rig))
    try:
        calibration = measure_av_offset(session, seconds=8.5)  # before the fault (10 s)
        write_av_offset(pulse_rig, calibration.offset_ms)
        session.rig = load_rig(pulse_rig)
        (detector,) = session.new_detectors()
        capture = session.new_capture(record_to=None)
        items: queue.Queue = queue.Queue()
        capture.subscribe(items.put)
        capture.start()
        try:
            session.device.open_title("AV Sync")  # playback (and the fault schedule) restart
            session.device.press("PLAY")
            deadline = time.monotonic() + 18.0
            while time.monotonic() < deadline:
                with contextlib.suppress(queue.Empty):
                    detector.feed(items.get(timeout=0.2))
        finally:
            capture.stop()
        while not items.empty():
            detector.feed(items.get())
        detector.flush()
        return calibration, detector.markers, capture.health.as_dict()
    finally:
        session.close()


def test_device_audio_is_captured_through_pulse_on_the_video_timeline(measured):
    calibration, markers, health = measured
    assert health["audio_device"] == "pulse"
    assert health["audio_samples"] > 10 * 48_000, health
    assert health["audio_overruns"] == 0, health
    assert calibration.markers >= 5, calibration
    assert len(markers) >= 12, (markers, health)  # a beep paired with each flash


def test_offset_after_calibration_is_within_tolerance_and_the_fault_is_measured(
    measured, pulse_rig
):
    calibration, markers, health = measured
    stored = yaml.safe_load(pulse_rig.read_text())["capture"]["av_offset_ms"]
    assert stored == pytest.approx(calibration.offset_ms, abs=0.01)
    first = markers[0].flash_s  # the first marker plays 1-2 s into playback
    clean = np.array([m.offset_ms for m in markers if m.flash_s < first + 6.0])
    faulty = np.array([m.offset_ms for m in markers if m.flash_s > first + FAULT_AT_S])
    assert len(clean) >= 5 and len(faulty) >= 3, (markers, health)
    assert np.all(np.abs(clean) <= 45.0), clean  # in sync, within BT.1359's +45 / -125 ms
    assert abs(float(np.median(clean))) <= 20.0, clean
    assert float(np.median(faulty)) == pytest.approx(120.0, abs=20.0), faulty

"""``onglass analyze --detectors silence,audio_artifact`` on a rendered recording (AAC in the
loop) with injected hiss and a dropout, and the spectrogram evidence cut from it."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from detectors.event import Event
from devices.simulator.device import render_playback
from devices.simulator.faults import FaultSchedule
from reports.spectrogram import event_spectrogram


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("media") / "hiss_dropout.ts"
    faults = FaultSchedule.parse("hiss@3s+3s:-40db,dropout@8s+100ms")
    render_playback(str(path), "Big Buck Bunny", 11.0, faults)
    return path


def test_analyze_reports_the_injected_hiss_and_dropout(recording, tmp_path):
    out = tmp_path / "analysis.json"
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "analyze", str(recording), "--json", str(out)]
        + ["--detectors", "silence,audio_artifact", "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    events = json.loads(out.read_text())["events"]
    found = [(e["detector"], e["details"].get("class"), e["start_s"], e["end_s"]) for e in events]
    silences = [(s, e) for d, _, s, e in found if d == "silence"]
    assert len(silences) == 1, found  # the dropout; not the AAC priming at the file's start
    assert abs(silences[0][0] - 8.0) <= 0.05 and abs(silences[0][1] - 8.1) <= 0.05, found
    hiss = [e for e in events if e["details"].get("class") == "hiss"]
    assert len(hiss) == 1, found
    assert 2.0 <= hiss[0]["start_s"] <= 3.6 and 5.9 <= hiss[0]["end_s"] <= 7.1, found
    assert hiss[0]["details"]["probabilities"]["hiss"] > 0.5
    # the model's false flags on clean content (Big Buck Bunny's loop starts read as clicks)
    # are measured in benchmarks/results/audio_artifact.md, not asserted away here


def test_spectrogram_of_a_recorded_event(recording):
    png = event_spectrogram(
        str(recording), 0.0, Event("audio_artifact", 3.0, 6.0, 0.9, {"class": "hiss"})
    )
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape[1] >= 800
    with pytest.raises(ValueError, match="no audio between"):
        event_spectrogram(str(recording), 0.0, Event("silence", 50.0, 51.0, 1.0))

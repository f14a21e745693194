"""``onglass analyze``: the JSON contract on real media, and exit code 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from devices.simulator.device import render_playback
from devices.simulator.faults import FaultSchedule


def onglass(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def faulty_recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("media") / "faulty.ts"
    render_playback(
        str(path), "Big Buck Bunny", 14.0, FaultSchedule.parse("freeze@4s+2s,black@9s+1s")
    )
    return path


def test_analyze_writes_the_contract(faulty_recording, tmp_path):
    out = tmp_path / "analysis.json"
    done = onglass("analyze", str(faulty_recording), "--json", str(out))
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    assert doc["schema"] == "onglass.analysis/1"
    assert doc["media"]["video"]["width"] == 640 and doc["media"]["audio"]["rate"] == 48000
    assert doc["stats"]["video_frames"] == 14 * 25
    events = doc["events"]
    assert [e["detector"] for e in events] == ["freeze", "black"], events
    freeze, black = events
    assert set(freeze) == {"detector", "start_s", "end_s", "score", "details"}
    # times are on the file's timeline, which starts up to one AAC frame (21 ms) before video
    assert abs(freeze["start_s"] - 4.0) <= 0.12 and abs(freeze["end_s"] - 6.0) <= 0.12
    assert abs(black["start_s"] - 9.0) <= 0.12 and abs(black["end_s"] - 10.0) <= 0.12
    assert 0 < freeze["score"] <= 1 and 0 < black["score"] <= 1


def test_analyze_selected_detectors_and_thresholds(faulty_recording, tmp_path):
    out = tmp_path / "a.json"
    done = onglass(
        "analyze",
        str(faulty_recording),
        "--json",
        str(out),
        "--detectors",
        "freeze",
        "--set",
        "freeze.min_duration_s=3",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["events"] == []


@pytest.mark.parametrize(
    ("make", "args", "message"),
    [
        (None, [], "no such file"),
        ("text", [], "cannot open as media"),
        ("dir", [], "is a directory"),
        ("empty", [], "cannot open as media"),
        ("media", ["--detectors", "freez"], "unknown detector 'freez'"),
        ("media", ["--set", "freeze.noise=2"], "noise"),
        ("media", ["--set", "noise"], "DETECTOR.FIELD=VALUE"),
    ],
)
def test_bad_input_exits_2_with_one_line(make, args, message, tmp_path, faulty_recording):
    target = tmp_path / "input"
    if make == "text":
        target.write_text("this is not a video\n")
    elif make == "dir":
        target.mkdir()
    elif make == "empty":
        target.write_bytes(b"")
    elif make == "media":
        target = faulty_recording
    done = onglass("analyze", str(target), "--json", str(tmp_path / "out.json"), *args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert not (tmp_path / "out.json").exists()

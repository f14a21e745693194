"""AV sync end to end: the virtual device plays the "AV Sync" title (flash + beep markers)
with a scheduled ``av_offset`` / ``av_drift`` fault, the harness captures its stream, and the
``av_sync`` detector's verdict decides the scenario."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from scenario_run import run_pytest

from harness.rig import default_rig_path

DETECTORS = ("freeze", "black", "stutter", "av_sync")
"""The detectors the scenario runs: the title's beeps sit in digital silence, which the
audio detectors would rightly report; this rig watches the picture and the sync."""

SCENARIO = """
def play_av_sync(dut, monitor, seconds):
    dut.open_title("AV Sync")
    dut.press("PLAY")
    monitor.wait_for_playback(timeout=10)
    with monitor.expect("silence"):  # the title is digitally silent between its beeps
        dut.wait(seconds)
    with monitor.expect("black", "still"):  # STOP fades out to black, then the catalogue
        dut.press("STOP")
        dut.wait_for_player_state("stopped", timeout=5)
        dut.wait(1)
    monitor.playback_ended()


def test_in_sync(dut, monitor):  # the faults start later than this plays
    play_av_sync(dut, monitor, 7)


def test_offset_then_drift(dut, monitor):
    play_av_sync(dut, monitor, 25)
"""
FAULT_AT_S = 9.0
FAULTS = f"av_offset@{FAULT_AT_S:g}s+5s:120ms,av_drift@15s+60s:40ms"
"""Both scenarios play from the start of the title: in sync up to 9 s, +120 ms (audio early)
from 9 s to 14 s, then in sync again and drifting 40 ms per minute from 15 s."""


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory) -> tuple[int, str, dict[str, list[dict]]]:
    """Run both scenarios on one virtual device: exit code, output and, per test, its av_sync
    events (each with ``playback_s``, its start in seconds from the start of playback)."""
    folder = tmp_path_factory.mktemp("av_e2e")
    (folder / "test_av_scenario.py").write_text(SCENARIO)
    rig = yaml.safe_load(default_rig_path().read_text())
    rig["detectors"] = {name: {} for name in DETECTORS}  # the picture detectors and av_sync
    (folder / "rig.yaml").write_text(yaml.safe_dump(rig))
    output = folder / "out"
    done = run_pytest(
        output, "-q", "-rA", "--rootdir", str(folder), "--rig", str(folder / "rig.yaml"),
        "--sim-faults", FAULTS, str(folder / "test_av_scenario.py"),
    )  # fmt: skip
    events: dict[str, list[dict]] = {}
    for summary in output.rglob("summary.json"):
        data = json.loads(summary.read_text())
        test = summary.parent.name.split("test_av_scenario.py_")[-1]
        events[test] = [
            {**event, "playback_s": event["start_s"] - data["playback_start_s"]}
            for event in data["events"]
            if event["detector"] == "av_sync"
        ]
    return done.returncode, done.stdout + done.stderr, events


def test_in_sync_title_passes(scenarios):
    _, out, events = scenarios
    assert re.search(r"^PASSED \S*test_av_scenario.py::test_in_sync$", out, re.M), out
    assert events["test_in_sync"] == [], events


def test_scheduled_offset_fails_the_scenario_and_is_measured(scenarios):
    code, out, events = scenarios
    assert code == 1, out
    assert re.search(r"^FAILED \S*test_av_scenario.py::test_offset_then_drift", out, re.M), out
    assert "av_sync" in out, out
    offsets = [e for e in events["test_offset_then_drift"] if e["details"]["kind"] == "offset"]
    assert len(offsets) == 1, events
    event = offsets[0]
    assert abs(event["details"]["mean_offset_ms"] - 120.0) <= 3.0, event
    assert event["details"]["direction"] == "audio early"
    assert event["verdict"] == "defect"
    # the first marker the fault shifts comes within a marker period of its start
    assert FAULT_AT_S - 0.2 <= event["playback_s"] <= FAULT_AT_S + 1.3, event


def test_drift_of_40_ms_per_minute_is_reported_as_drift(scenarios):
    _, out, events = scenarios
    drifts = [e for e in events["test_offset_then_drift"] if e["details"]["kind"] == "drift"]
    assert len(drifts) == 1, (events, out)
    assert abs(drifts[0]["details"]["drift_ms_per_min"] - 40.0) <= 4.0, drifts[0]
    assert drifts[0]["verdict"] == "defect"

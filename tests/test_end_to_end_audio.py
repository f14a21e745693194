"""Audio faults end to end: the virtual device plays Big Buck Bunny with scheduled dropout,
hum, hiss, clicks and distortion (``--sim-faults``), sends them through its AAC / MPEG-TS
output, and the ``silence`` and ``audio_artifact`` detectors of the virtual rig must report
each one (and ``silence`` nothing else); a clean run with a scripted mute passes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scenario_run import run_pytest, virtual_rig_with

SCENARIO = """
def test_audio_scenario(dut, monitor):
    dut.open_title("Big Buck Bunny")
    dut.press("PLAY")
    monitor.wait_for_playback(timeout=10)
    dut.wait(BEFORE_MUTE_S)
    if MUTE_S:
        with monitor.expect("silence"):  # the script mutes the sound: silence is intended
            dut.press("MUTE")
            dut.wait(MUTE_S)
            dut.press("MUTE")
        dut.wait(3)
    with monitor.expect("black", "still"):  # STOP fades out to black, then the catalogue
        dut.press("STOP")
        dut.wait_for_player_state("stopped", timeout=5)
        dut.wait(1)
    monitor.playback_ended()
"""

FAULTS = "dropout@2.5s+100ms,hum@4s+3s,hiss@9s+2s,clicks@14s+1500ms,distortion@19s+2s"
"""One run, faults apart in time; distortion lands on a loud passage of the soundtrack."""
EXPECTED = [  # (detector, class, start s, end s) in playback time
    ("silence", None, 2.5, 2.6),
    ("audio_artifact", "hum", 4.0, 7.0),
    ("audio_artifact", "hiss", 9.0, 11.0),
    ("audio_artifact", "clicks", 14.0, 15.5),
    ("audio_artifact", "distortion", 19.0, 21.0),
]


def _run(
    tmp_path: Path, faults: str, before_mute_s: float, mute_s: float, classifier: bool = False
) -> tuple[int, str, dict]:
    """Run the scenario on the virtual rig (plus ``audio_artifact`` if ``classifier``): exit
    code, output and the test's summary."""
    (tmp_path / "test_audio_scenario.py").write_text(
        f"BEFORE_MUTE_S = {before_mute_s}\nMUTE_S = {mute_s}\n{SCENARIO}"
    )
    output = tmp_path / "out"
    args = ["-q", "--rootdir", str(tmp_path)]
    if classifier:  # the virtual rig leaves the classifier out (see its model card)
        args += ["--rig", str(virtual_rig_with(tmp_path, "audio_artifact: {}"))]
    args += ["--sim-faults", faults] if faults else []
    done = run_pytest(output, *args, str(tmp_path / "test_audio_scenario.py"))
    summaries = list(output.rglob("summary.json"))
    assert len(summaries) == 1, done.stdout + done.stderr
    return done.returncode, done.stdout + done.stderr, json.loads(summaries[0].read_text())


def test_each_audio_fault_is_caught(tmp_path):
    code, out, summary = _run(tmp_path, FAULTS, before_mute_s=23, mute_s=0, classifier=True)
    assert code == 1, out
    start = summary["playback_start_s"]
    defects = [
        (e["detector"], e["details"].get("class"), e["start_s"] - start, e["end_s"] - start)
        for e in summary["events"]
        if e["verdict"] == "defect" and e["detector"] in ("silence", "audio_artifact")
    ]
    for detector, kind, begin, end in EXPECTED:
        slack = 0.15 if detector == "silence" else 1.1  # 1 s segments, 0.5 s hop
        assert any(
            d == detector and k == kind and begin - slack <= s <= begin + 0.6 and e >= end - 0.3
            for d, k, s, e in defects
        ), (detector, kind, begin, defects, out)
    for d, k, s, e in defects:  # every silence is a fault; the classifier's false flags on
        if d != "silence":  # clean content are measured by benchmarks/eval_audio_artifact.py
            continue
        assert any(
            d == detector and k == kind and s < end + 1.0 and e > begin - 1.0
            for detector, kind, begin, end in EXPECTED
        ), ((d, k, s, e), defects)
    assert "audio_artifact" in out and "silence" in out


@pytest.mark.slow  # short form in the default run: test_vod.py::test_mute_and_unmute
def test_clean_playback_with_a_scripted_mute_passes(tmp_path):
    code, out, summary = _run(tmp_path, "", before_mute_s=5, mute_s=3)
    assert code == 0, out
    muted = [e for e in summary["events"] if e["detector"] == "silence"]
    assert any(e["verdict"] == "expected" and e["end_s"] - e["start_s"] >= 2.5 for e in muted), (
        summary["events"]
    )
    assert not [e for e in summary["events"] if e["verdict"] == "defect"], summary["events"]

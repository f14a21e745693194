"""End-to-end checks of the harness against the virtual device, through real clients."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest

from detectors.luma import luma_thumbnail, mean_absolute_difference

REPO = Path(__file__).resolve().parents[1]


def _free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _latest_frame(monitor, after: float):
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        frame = monitor.latest_frame
        if frame is not None and frame.t > after:
            return frame
        time.sleep(0.05)
    raise AssertionError(f"no frame after capture time {after:.2f} s")


def test_debian_adb_client_drives_the_virtual_device(rig, monitor, tmp_path):
    adb = shutil.which("adb")
    assert adb, "Debian's adb client is not installed (the bootstrap script installs it)"
    env = {**os.environ, "ANDROID_ADB_SERVER_PORT": str(_free_tcp_port()), "HOME": str(tmp_path)}
    address = rig.device.transport.address

    def run(*args: str) -> str:
        done = subprocess.run(
            [adb, *args], env=env, capture_output=True, text=True, timeout=30, check=True
        )
        return done.stdout

    try:
        assert f"connected to {address}" in run("connect", address)
        run("-s", address, "shell", "input", "keyevent", "KEYCODE_HOME")
        time.sleep(1.0)
        home = _latest_frame(monitor, monitor.now() - 0.2)
        assert "HomeActivity" in run("-s", address, "shell", "dumpsys", "window")

        run("-s", address, "shell", "input", "keyevent", "KEYCODE_DPAD_CENTER")
        time.sleep(1.0)
        catalogue = _latest_frame(monitor, home.t + 0.5)
        assert "MainActivity" in run("-s", address, "shell", "dumpsys", "window")
        change = mean_absolute_difference(
            luma_thumbnail(home.image), luma_thumbnail(catalogue.image)
        )
        assert change > 0.02, f"the captured picture did not change (MAFD {change:.4f})"

        run("-s", address, "shell", "input", "keyevent", "KEYCODE_DPAD_DOWN")
        time.sleep(1.0)
        moved = _latest_frame(monitor, catalogue.t + 0.5)
        highlight = mean_absolute_difference(
            luma_thumbnail(catalogue.image), luma_thumbnail(moved.image)
        )
        assert highlight > 0.005, f"the catalogue highlight did not move (MAFD {highlight:.4f})"
    finally:
        subprocess.run([adb, "kill-server"], env=env, capture_output=True, timeout=30)


def _pytest(*args: str, output: Path, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--onglass-output",
            str(output),
            *args,
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **popen,
    )


@pytest.mark.parametrize(
    ("faults", "expected"),
    [
        ("freeze@8s+2s,black@15s+1s", [("freeze", 8.0, 10.0), ("black", 15.0, 16.0)]),
        (
            "drop@6s+600ms,repeat@11s+600ms,cadence@16s+1500ms",
            [("stutter", 6.0, 6.6), ("stutter", 11.0, 11.6), ("stutter", 16.0, 17.5)],
        ),
    ],
    ids=["freeze-black", "drop-repeat-cadence"],
)
def test_playback_with_scheduled_faults_fails_naming_them(faults, expected, tmp_path):
    """Each scheduled fault is reported within 0.2 s of its start; nothing else is."""
    run = _pytest(
        "test_suites/playback/test_vod.py::test_play_title_to_end",
        "--sim-faults",
        faults,
        output=tmp_path,
    )
    out, _ = run.communicate(timeout=240)
    assert run.returncode == 1, out
    found = [
        (m["detector"], float(m["offset"]))
        for m in re.finditer(
            r"(?P<detector>freeze|black|stutter)\s+[\d.]+-[\d.]+ s \(playback \+(?P<offset>[\d.]+) s\)",
            out,
        )
    ]
    for detector, start, _ in expected:
        assert any(d == detector and abs(t - start) <= 0.2 for d, t in found), (
            detector,
            start,
            out,
        )
    for detector, t in found:  # a fault's own tail (the picture re-syncing) may follow it
        assert any(d == detector and s - 0.2 <= t <= e + 0.5 for d, s, e in expected), out
    recordings = list(tmp_path.rglob("capture.ts"))
    assert recordings, "the failing test's recording was not kept"


def test_killed_run_leaves_a_decodable_recording(tmp_path):
    run = _pytest(
        "test_suites/playback/test_vod.py::test_play_title_to_end",
        output=tmp_path,
        start_new_session=True,  # one process group: the run and its virtual device
    )
    try:
        deadline = time.monotonic() + 120
        recording = None
        while time.monotonic() < deadline:
            found = list(tmp_path.rglob("capture.ts"))
            if found and found[0].stat().st_size > 1_000_000:  # a few seconds of video
                recording = found[0]
                break
            time.sleep(0.2)
        assert recording is not None, "no recording grew while the scenario ran"
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.communicate(timeout=30)
    assert run.returncode == -signal.SIGKILL
    frames = 0
    with av.open(str(recording)) as container:
        for frame in container.decode(video=0):
            frames += 1
            last_t = float(frame.time)
    assert frames >= 50, f"only {frames} frames decodable from the killed run's recording"
    assert last_t > 1.5

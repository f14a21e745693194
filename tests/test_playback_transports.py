"""The playback scenarios over every control transport of the virtual device.

Default run: one short scenario per transport (open a title, play, pause, stop) on the
session's virtual device, the keys going over that transport's real wire protocol and
player state read back through it (Roku ECP) or the ADB status link. The full playback
suite per transport (``pytest test_suites/playback --transport KIND``, about 2 min each) is
behind ``-m slow``.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from devices.profiles.catalog import TRANSPORT_KINDS

TITLE = "Big Buck Bunny"


@pytest.mark.parametrize("kind", TRANSPORT_KINDS)
def test_short_playback_over_each_transport(kind, rig, monitor):
    dut = rig.device_over(kind)
    sent = []
    dut.key_listeners.append(sent.append)  # the list the monitor's key log is on too
    try:
        dut.press("HOME")
        dut.open_title(TITLE)
        dut.press("PLAY")
        monitor.wait_for_playback(timeout=10)
        dut.wait(1)
        assert dut.player_state().state == "playing"
        with monitor.expect("still", "black"):  # paused, then STOP fades to black
            dut.press("PAUSE")
            dut.wait_for_player_state("paused", timeout=5)
            dut.press("STOP")
            dut.wait_for_player_state("stopped", timeout=5)
            dut.wait(1)
        monitor.playback_ended()
    finally:
        dut.key_listeners.remove(sent.append)
    assert {p.transport for p in sent} == {kind}
    assert [p.key.value for p in sent][-3:] == ["PLAY", "PAUSE", "STOP"]


@pytest.mark.slow
@pytest.mark.parametrize("kind", TRANSPORT_KINDS)
def test_full_playback_suite_over_each_transport(kind, tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "test_suites/playback",
            "--transport",
            kind,
            "-p",
            "no:cacheprovider",
            "-q",
            "--onglass-output",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:]

"""Video-on-demand playback scenarios.

Each test drives the device with key presses while the ``monitor`` fixture watches the
captured picture and sound; a detector firing outside an expected window fails the test.
"""

import pytest

TITLE = "Big Buck Bunny"
pytestmark = pytest.mark.tier(1)


def test_play_title_to_end(dut, monitor):
    dut.open_title(TITLE)
    dut.press("PLAY")
    monitor.wait_for_playback(timeout=10)
    dut.wait_for_player_state("stopped", timeout=45)  # the title is about 32 s long
    monitor.playback_ended()


def test_pause_and_resume(dut, monitor):
    dut.open_title(TITLE)
    dut.press("PLAY")
    monitor.wait_for_playback(timeout=10)
    dut.wait(6)
    dut.press("PAUSE")
    with monitor.expect("still"):  # a paused picture is meant to be still
        dut.wait(3)
    dut.press("PLAY")
    monitor.wait_for_playback(timeout=5)
    dut.wait(10)
    assert dut.player_state().state == "playing"


def test_seek_forward_and_back(dut, monitor):
    dut.open_title(TITLE)
    dut.press("PLAY")
    monitor.wait_for_playback(timeout=10)
    dut.wait(4)
    before = dut.player_state().position_s
    dut.press("FF")
    dut.wait(5)
    after_forward = dut.player_state().position_s
    assert after_forward >= before + 10, f"FF moved from {before:.1f} s to {after_forward:.1f} s"
    dut.press("RW")
    dut.wait(1)
    after_back = dut.player_state().position_s
    assert after_back <= after_forward - 8, (
        f"RW moved from {after_forward:.1f} s to {after_back:.1f} s"
    )
    dut.wait(8)


def test_stop_fades_to_black(dut, monitor):
    dut.open_title(TITLE)
    dut.press("PLAY")
    monitor.wait_for_playback(timeout=10)
    dut.wait(5)
    with monitor.expect("black", "still"):  # STOP fades out to black, then the catalogue
        dut.press("STOP")
        dut.wait_for_player_state("stopped", timeout=5)
        dut.wait(1)
    monitor.playback_ended()


def test_sync_test_pattern_plays_clean(dut, monitor):
    """The stamped pattern: every frame carries its number, so any stutter is counted exactly."""
    dut.open_title("Sync Test")
    dut.press("PLAY")
    monitor.wait_for_playback(timeout=10)
    dut.wait(8)
    with monitor.expect("black", "still"):
        dut.press("STOP")
        dut.wait_for_player_state("stopped", timeout=5)
        dut.wait(1)
    monitor.playback_ended()


def test_mute_and_unmute(dut, monitor):
    """A scripted mute: the silence it causes is declared, so it is not a defect."""
    dut.open_title(TITLE)
    dut.press("PLAY")
    monitor.wait_for_playback(timeout=10)
    dut.wait(4)
    with monitor.expect("silence"):  # muted on purpose
        dut.press("MUTE")
        dut.wait(3)
        dut.press("MUTE")
    dut.wait(4)
    assert dut.player_state().state == "playing"

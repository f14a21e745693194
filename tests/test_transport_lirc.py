"""LIRC: a real lircd (file driver) fed by LircTransport and by LIRC's own ``irsend``."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from devices.keys import Key
from devices.profiles.ir_codes import STB_REMOTE, lirc_name
from devices.simulator.lirc_sim import LircSimulator
from devices.transports.base import TransportError
from devices.transports.lirc import LircTransport


@pytest.fixture(scope="module")
def lirc():
    keys: list[Key] = []
    sim = LircSimulator(keys.append)
    sim.start()
    sim.keys = keys
    yield sim
    sim.stop()


def wait_for(keys: list, count: int, timeout_s: float = 3.0) -> None:
    deadline = time.monotonic() + timeout_s
    while len(keys) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def test_transport_keys_are_decoded_from_lircds_timings(lirc):
    lirc.keys.clear()
    transport = LircTransport(lirc.address, STB_REMOTE.name, timeout_s=3)
    transport.connect()
    sequence = [Key.UP, Key.DOWN, Key.OK, Key.PLAY, Key.PAUSE, Key.FF, Key.DIGIT_7]
    for key in sequence:
        transport.send_key(lirc_name(key))
    wait_for(lirc.keys, len(sequence))
    assert lirc.keys == sequence
    assert "KEY_PLAY" in transport.list_codes()


def test_irsend_is_a_real_client_of_the_same_daemon(lirc):
    irsend = shutil.which("irsend")
    assert irsend, "LIRC's irsend is missing: scripts/bootstrap installs the lirc package"
    lirc.keys.clear()
    for remote, key in (
        ("onglass-stb", "KEY_HOME"),
        ("lg-tv", "KEY_OK"),
        ("samsung-tv", "KEY_STOP"),
    ):
        subprocess.run(
            [irsend, "-d", lirc.address, "SEND_ONCE", remote, key], check=True, timeout=10
        )
    wait_for(lirc.keys, 3)
    assert lirc.keys == [Key.HOME, Key.OK, Key.STOP]
    assert [r for r, _ in lirc.received[-3:]] == ["onglass-stb", "lg-tv", "samsung-tv"]
    listed = subprocess.run(
        [irsend, "-d", lirc.address, "LIST", "lg-tv", ""],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert "KEY_POWER" in listed.stdout + listed.stderr


def test_hold_sends_one_key_then_repeat_frames(lirc):
    lirc.keys.clear()
    transport = LircTransport(lirc.address, STB_REMOTE.name, timeout_s=3)
    transport.hold_key("KEY_RIGHT", 0.4)
    wait_for(lirc.keys, 1)
    time.sleep(0.2)
    assert lirc.keys == [Key.RIGHT]  # NEC repeat frames are not new presses


def test_lircd_errors_name_the_command(lirc):
    transport = LircTransport(lirc.address, "no-such-remote", timeout_s=3)
    with pytest.raises(TransportError, match=r"^lirc .*lircd refused 'LIST no-such-remote'"):
        transport.connect()
    transport = LircTransport(lirc.address, STB_REMOTE.name, timeout_s=3)
    with pytest.raises(TransportError, match="refused 'SEND_ONCE onglass-stb KEY_NOPE'"):
        transport.send_key("KEY_NOPE")


def test_no_daemon_is_a_clear_error_within_the_timeout(tmp_path):
    transport = LircTransport(str(tmp_path / "lircd.sock"), "x", timeout_s=0.5)
    start = time.monotonic()
    with pytest.raises(
        TransportError, match=r"cannot connect within 0.5 s .*is the daemon running"
    ):
        transport.send_key("KEY_OK")
    assert time.monotonic() - start < 2

"""Global Caché iTach: ItachTransport's sendir against the iTach simulator."""

from __future__ import annotations

import socket
import threading

import pytest

from devices.keys import Key
from devices.profiles.ir_codes import LG_REMOTE, SAMSUNG_REMOTE
from devices.simulator.itach_sim import ItachSimulator
from devices.transports.base import TransportError
from devices.transports.itach import ItachTransport


@pytest.fixture
def itach():
    keys: list[Key] = []
    sim = ItachSimulator(keys.append)
    sim.start()
    sim.keys = keys
    yield sim
    sim.stop()


def raw(sim: ItachSimulator, line: str) -> str:
    host, port = sim.address.split(":")
    with socket.create_connection((host, int(port)), timeout=3) as sock:
        sock.sendall(line.encode() + b"\r")
        data = b""
        while not data.endswith(b"\r"):
            data += sock.recv(4096)
    return data.decode().strip("\r")


def test_pronto_keys_from_two_remotes_move_the_device(itach):
    transport = ItachTransport(itach.address, "1:2", timeout_s=3)
    transport.connect()
    for key in (Key.UP, Key.OK, Key.PLAY):
        transport.send_key(LG_REMOTE.pronto(key))
    transport.send_key(SAMSUNG_REMOTE.pronto(Key.STOP))
    assert itach.keys == [Key.UP, Key.OK, Key.PLAY, Key.STOP]


def test_hold_repeats_the_frame_for_the_duration(itach):
    transport = ItachTransport(itach.address, timeout_s=3)
    transport.hold_key(LG_REMOTE.pronto(Key.RIGHT), 0.3)
    assert itach.keys == [Key.RIGHT]


def test_hold_longer_than_the_timeout_waits_for_its_repeats(itach):
    transport = ItachTransport(itach.address, timeout_s=0.3)
    transport.hold_key(LG_REMOTE.pronto(Key.RIGHT), 1.0)  # completeir comes after ~1 s
    assert itach.keys == [Key.RIGHT]


def test_hold_past_fifty_repeats_continues_with_the_repeat_part(itach):
    sent: list[str] = []
    answer = itach._answer

    def spy(line: str) -> str:
        sent.append(line)
        return answer(line)

    itach._answer = spy
    short = "0000 006D 0001 0001 0010 0300 0008 0300"  # 38 kHz: 41 ms first, 20.4 ms repeats
    ItachTransport(itach.address, timeout_s=0.3).hold_key(short, 1.5)
    sendirs = [line.split(",") for line in sent if line.startswith("sendir,")]
    assert [(f[4], f[5], len(f) - 6) for f in sendirs] == [("50", "3", 4), ("22", "1", 2)]
    assert sendirs[1][6:] == ["8", "768"]  # only the repeat part, no second first frame


def test_busy_connector_is_retried_until_free(itach):
    transport = ItachTransport(itach.address, timeout_s=5)
    code = LG_REMOTE.pronto(Key.FF)
    threads = [threading.Thread(target=transport.send_key, args=(code,)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert itach.keys == [Key.FF] * 3  # each got busyIR at first, then went out


def test_sendir_validation_errors_are_itachs_codes(itach):
    assert raw(itach, "sendir,1:1,1,38000,1,2,10,10") == "ERR_1:1,007"  # even offset
    assert raw(itach, "sendir,1:1,1,38000,1,1,10,10,10") == "ERR_1:1,010"
    assert raw(itach, "sendir,1:9,1,38000,1,1,10,10") == "ERR_1:1,003"
    assert raw(itach, "getversion")
    assert raw(itach, "get_IR,1:1") == "IR,1:1,IR"
    transport = ItachTransport(itach.address, "1:4", timeout_s=3)
    with pytest.raises(TransportError, match=r"^itach .*ERR_1:1,003 \(invalid connector address\)"):
        transport.send_key(LG_REMOTE.pronto(Key.OK))


def test_bad_pronto_is_a_value_error_naming_it():
    transport = ItachTransport("127.0.0.1:1", timeout_s=1)
    with pytest.raises(ValueError, match="itach key code: pronto code"):
        transport.send_key("0000 006D 0005")

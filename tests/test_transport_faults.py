"""Faulty devices: a connection dropped mid-sequence, garbage replies, a stalled device.

Each gives a one-line ``TransportError`` naming the transport, the address and what was
expected, within the transport's timeout. That such a test is *broken*, not failed, is
checked in a real (xdist) pytest run by ``tests/test_xdist_lease.py``.
"""

from __future__ import annotations

import os
import sys
import time

import pytest
from misbehaving import MisbehavingServer, make_transport

from devices.simulator.cec_sim import CecBus
from devices.transports.base import TransportError
from devices.transports.cec import CecTransport
from devices.transports.serial_tv import LgSerialTransport

TIMEOUT_S = 0.8
SOCKET_KINDS = ("lirc", "itach", "roku_ecp")
EXPECTED = {
    ("lirc", "drop"): r"connection closed by the device awaiting lircd's reply to 'SEND_ONCE",
    ("lirc", "garbage"): r"expected lircd's reply to 'SEND_ONCE onglass-stb KEY_OK', got bytes",
    ("lirc", "stall"): r"no reply within 0.8 s: expected lircd's reply to 'SEND_ONCE",
    ("itach", "drop"): r"connection closed by the device awaiting 'completeir,1:1,3'",
    ("itach", "garbage"): r"expected 'completeir,1:1,3', got '\\x00zz#garbage'|got '.*zz#garbage'",
    # an iTach's budget is the timeout plus the frame's time on the air (~0.1 s)
    ("itach", "stall"): r"no reply within 0\.9\d* s: expected 'completeir,1:1,3'",
    ("roku_ecp", "drop"): r"/keypress/Select: expected an HTTP reply, got Remote end closed",
    ("roku_ecp", "garbage"): r"/keypress/Select: expected an HTTP reply, got",
    ("roku_ecp", "stall"): r"/keypress/Select: no reply within 0.8 s",
}


@pytest.mark.parametrize("mode", ("drop", "garbage", "stall"))
@pytest.mark.parametrize("kind", SOCKET_KINDS)
def test_socket_transports_fail_clearly_mid_sequence(kind, mode):
    server = MisbehavingServer(kind, mode, good=2)
    transport, press = make_transport(kind, server.address, TIMEOUT_S)
    try:
        press()
        press()  # the first two keys of the sequence go through
        start = time.monotonic()
        with pytest.raises(TransportError) as caught:
            press()
        elapsed = time.monotonic() - start
    finally:
        server.close()
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{kind} 127.0.0.1:"), message
    assert __import__("re").search(EXPECTED[kind, mode], message), message
    assert elapsed < TIMEOUT_S + 1.0
    assert len(server.requests) == 3  # a key whose reply was lost is never sent twice


def test_serial_garbage_and_silence(tmp_path):
    master, slave = os.openpty()
    __import__("tty").setraw(master)
    __import__("tty").setraw(slave)
    tv = LgSerialTransport(os.ttyname(slave), timeout_s=TIMEOUT_S)
    try:
        os.write(master, b"\x00\x13 zz NO 12x")  # garbage waiting as the "reply"
        # (the transport drops stale input first, so this is silence...)
        with pytest.raises(
            TransportError, match=r"^serial_lg /dev/pts/\d+: expected 'c 01 OK44x'.*got nothing"
        ):
            tv.send_key("44")
        import threading

        def answer_garbage() -> None:
            time.sleep(0.1)
            os.write(master, b"\x7f?? a 99 WHATx")

        threading.Thread(target=answer_garbage).start()
        with pytest.raises(TransportError, match=r"expected 'c 01 OK44x' for 'mc 01 44', got b"):
            tv.send_key("44")
    finally:
        tv.close()
        os.close(master)
        os.close(slave)


def test_cec_bus_gone_mid_sequence():
    bus = CecBus(lambda key: None)
    bus.start()
    transport = CecTransport(
        bus.address, client=f"{sys.executable} -m devices.simulator.cec_sim", timeout_s=3
    )
    try:
        transport.send_key("01")
        bus.stop()
        start = time.monotonic()
        with pytest.raises(TransportError, match=r"^cec 127.0.0.1:\d+: cec-client could not open"):
            transport.send_key("02")
        assert time.monotonic() - start < 10
    finally:
        transport.close()

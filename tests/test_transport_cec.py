"""HDMI-CEC: CecTransport driving the cec-client stand-in against the CEC bus model.

No CEC adapter exists here: the real ``cec-client`` is installed and finds none, and the
transport reports that clearly; keys go through the stand-in that takes the same options and
stdin commands.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

import pytest

from devices.keys import Key
from devices.simulator.cec_sim import CecBus
from devices.transports.base import TransportError
from devices.transports.cec import OUTPUT_LINES, CecTransport, user_control_code

STAND_IN = f"{sys.executable} -m devices.simulator.cec_sim"


@pytest.fixture
def bus():
    keys: list[Key] = []
    sim = CecBus(keys.append)
    sim.start()
    sim.keys = keys
    yield sim
    sim.stop()


def test_user_control_keys_reach_the_device(bus):
    transport = CecTransport(bus.address, client=STAND_IN, timeout_s=5)
    try:
        transport.connect()
        for key in (Key.UP, Key.OK, Key.PLAY, Key.PAUSE, Key.STOP):
            transport.send_key(user_control_code(key))
        transport.hold_key(user_control_code(Key.RIGHT), 0.1)
    finally:
        transport.close()
    assert bus.keys == [Key.UP, Key.OK, Key.PLAY, Key.PAUSE, Key.STOP, Key.RIGHT]
    assert bus.frames[:2] == ["14:44:01", "14:45"]
    assert any("<< 14:44:44" in line for line in transport.output)


def test_stand_in_speaks_cec_clients_stdin_commands(bus):
    done = subprocess.run(
        [*STAND_IN.split(), "-t", "p", "-d", "8", bus.address],
        input="pow 4\npow x\non 1F\ntx 45:44:41\ntx 4f:82:10:00\nq\n",
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert "waiting for input" in done.stdout
    assert "power status: on" in done.stdout
    assert "invalid logical address: 'x'" in done.stdout  # an error line, no traceback
    assert "invalid logical address: '1F'" in done.stdout
    assert "Traceback" not in done.stderr
    assert "<< 45:44:41" not in done.stdout  # destination 5: nobody there, no ACK
    assert "Failed to transmit 45:44:41" in done.stdout
    assert bus.keys == []


def test_frame_to_an_absent_device_is_a_transport_error(bus):
    transport = CecTransport(bus.address, client=STAND_IN, destination=5, timeout_s=3)
    try:
        with pytest.raises(TransportError, match=r"^cec .*expected the '<< 15:44:00' TRAFFIC line"):
            transport.send_key("00")
    finally:
        transport.close()


STALE_CLIENT = (
    "import sys, time; print('waiting for input', flush=True); time.sleep(0.1);"
    " print('TRAFFIC: [ 1]\\t<< 14:44:01', flush=True); sys.stdin.read()"
)
"""A client that logs a press nobody asked for after starting, then never confirms one."""


def test_a_press_is_not_confirmed_by_an_earlier_traffic_line(tmp_path):
    script = tmp_path / "stale_client.py"
    script.write_text(STALE_CLIENT)
    transport = CecTransport("bus", client=f"{sys.executable} {script}", timeout_s=0.5)
    try:
        transport.connect()
        deadline = time.monotonic() + 5
        while not any("<< 14:44:01" in line for line in transport.output):
            assert time.monotonic() < deadline, "the stand-in never printed its stale line"
            time.sleep(0.02)
        with pytest.raises(TransportError, match="expected the '<< 14:44:01' TRAFFIC line"):
            transport.send_key("01")
    finally:
        transport.close()


def test_output_keeps_only_the_last_lines():
    transport = CecTransport("bus")
    assert transport.output.maxlen == OUTPUT_LINES


@pytest.mark.slow  # libcec retries the missing adapter for about 10 s
def test_real_cec_client_without_an_adapter_fails_clearly():
    if shutil.which("cec-client") is None:
        pytest.fail("cec-client is missing: scripts/bootstrap installs cec-utils")
    transport = CecTransport("/dev/ttyACM9", timeout_s=3)
    with pytest.raises(TransportError, match=r"^cec /dev/ttyACM9: "):
        transport.connect()
    transport.close()

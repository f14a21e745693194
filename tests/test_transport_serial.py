"""Serial: LG RS-232C, Samsung EX-Link and an STB debug console, over real ptys (pyserial)."""

from __future__ import annotations

import threading
import time

import pytest
import serial

from devices.device import Device
from devices.keys import Key
from devices.profiles.lg_tv import mc_code
from devices.profiles.samsung_tv import exlink_code
from devices.simulator.serial_sim import ConsoleSim, LgSerialSim, SamsungSerialSim
from devices.transports.base import TransportError
from devices.transports.serial_console import SerialConsole
from devices.transports.serial_tv import LgSerialTransport, SamsungSerialTransport, exlink_frame


@pytest.fixture
def keys() -> list[Key]:
    return []


@pytest.fixture
def lg(keys):
    sim = LgSerialSim(keys.append)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def samsung(keys):
    sim = SamsungSerialSim(keys.append)
    sim.start()
    yield sim
    sim.stop()


def test_lg_mc_keys_and_power(lg, keys):
    tv = LgSerialTransport(lg.path, timeout_s=2)
    tv.connect()
    for key in (Key.HOME, Key.DOWN, Key.OK, Key.PLAY):
        tv.send_key(mc_code(key))
    assert keys == [Key.HOME, Key.DOWN, Key.OK, Key.PLAY]
    tv.power(False)
    assert lg.power is False
    assert tv.command("k", "a", "FF") == "00"
    tv.close()


def test_lg_refusal_and_missing_key(lg):
    tv = LgSerialTransport(lg.path, timeout_s=2)
    with pytest.raises(
        TransportError, match=r"^serial_lg /dev/pts/\d+: the TV refused 'mc 01 FE' \(NG\)"
    ):
        tv.send_key("FE")
    with pytest.raises(ValueError, match="LG TVs have no PLAY_PAUSE key"):
        mc_code(Key.PLAY_PAUSE)


def test_lg_other_set_id_is_silence_within_the_timeout(lg):
    tv = LgSerialTransport(lg.path, set_id=7, timeout_s=0.5)
    start = time.monotonic()
    with pytest.raises(TransportError, match=r"expected 'c 07 OK44x' .* within 0.5 s, got nothing"):
        tv.send_key("44")
    assert time.monotonic() - start < 2


def test_samsung_exlink_keys_ack_and_nak(samsung, keys):
    tv = SamsungSerialTransport(samsung.path, timeout_s=2)
    for key in (Key.UP, Key.OK, Key.STOP):
        tv.send_key(exlink_code(key))
    assert keys == [Key.UP, Key.OK, Key.STOP]
    assert exlink_frame(0, 0, 0, 2) == bytes.fromhex("08220000 0002D4".replace(" ", ""))
    tv.power(False)
    assert samsung.power is False
    bad = bytearray(exlink_frame(0x0D, 0, 0, 0x68))
    bad[-1] ^= 1
    with pytest.raises(TransportError, match=r"refused 08 22 0d 00 00 68 60 \(NAK 03 0C FF\)"):
        tv.command(bytes(bad))
    for code in ("zz", "100", ""):
        with pytest.raises(ValueError, match=rf"^serial_samsung key code '{code}' must be two hex"):
            tv.send_key(code)


def test_missing_port_is_a_clear_error():
    tv = LgSerialTransport("/dev/does-not-exist", timeout_s=1)
    with pytest.raises(
        TransportError, match="^serial_lg /dev/does-not-exist: cannot open the serial port"
    ):
        tv.send_key("44")


class LogApp:
    def __init__(self) -> None:
        self.log_lines: list[str] = ["01-01 00:00:00.000  4242  4243 I Boot    : ready"]

    def media_session(self):
        return 3, 4.0, "Big Buck Bunny"


def test_console_lines_are_captured_with_timestamps_and_commands_run():
    app = LogApp()
    sim = ConsoleSim(app)
    sim.start()
    console = SerialConsole(sim.path, timeout_s=3)
    try:
        console.start()
        time.sleep(0.3)
        before = time.monotonic()
        app.log_lines.append("01-01 00:00:01.000  4242  4243 I OnglassPlayer: play from 0.00s")
        deadline = time.monotonic() + 3
        while not any("play from" in line.text for line in console.lines_between(before)):
            assert time.monotonic() < deadline, [line.text for line in console.lines]
            time.sleep(0.02)
        line = next(line for line in console.lines_between(before) if "play from" in line.text)
        assert line.text.endswith("OnglassPlayer: play from 0.00s")
        assert before <= line.t <= time.monotonic()
        assert "player state=3 position=4.00" in console.run("state")
    finally:
        console.stop()
        sim.stop()


def test_console_run_returns_its_own_output_while_logs_stream():
    app = LogApp()
    sim = ConsoleSim(app)
    sim.start()
    console = SerialConsole(sim.path, timeout_s=3)
    streaming = threading.Event()

    def log_forever() -> None:
        n = 0
        while not streaming.wait(0.005):  # faster than the console's 50 ms log poll
            n += 1
            app.log_lines.append(f"01-01 00:00:02.000  4242  4243 I Noise   : message {n}")

    noise = threading.Thread(target=log_forever, daemon=True)
    try:
        console.start()
        noise.start()
        time.sleep(0.2)
        for _ in range(10):
            assert console.run("state") == "player state=3 position=4.00 title=Big Buck Bunny"
        assert any("Noise" in line.text for line in console.lines)  # logs did interleave
    finally:
        streaming.set()
        noise.join()
        console.stop()
        sim.stop()


def test_pyserial_sees_the_pty_as_a_serial_port(lg):
    with serial.Serial(lg.path, 9600, timeout=1) as port:
        port.write(b"ka 01 FF\r")
        assert port.read_until(b"x") == b"a 01 OK01x"


def test_device_hold_without_a_hold_command_repeats_the_key(lg, keys):
    device = Device(LgSerialTransport(lg.path, timeout_s=2), mc_code, interpress_delay_s=0.1)
    logged = []
    device.key_listeners.append(logged.append)
    device.hold("RIGHT", 0.35)
    assert keys == [Key.RIGHT] * len(keys) and 2 <= len(keys) <= 4
    assert len(logged) == 1 and logged[0].done_at - logged[0].sent_at >= 0.3

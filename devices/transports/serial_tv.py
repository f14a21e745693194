"""TVs over RS-232 (pyserial): LG's RS-232C ASCII commands and Samsung's EX-Link frames.

LG: ``[c1][c2] [set id] [data]\\r``, answered ``[c2] [set id] OK[data]x`` (or ``NG``); a key
press is the ``mc`` command (``mc 01 44\\r`` -> ``c 01 OK44x``). Samsung EX-Link: 7-byte
frames ``08 22 c1 c2 c3 value checksum`` (checksum = -sum of the first six, mod 256), answered
``03 0C F1`` (ACK) or ``03 0C FF`` (NAK); a key press is ``08 22 0D 00 00 <key>``.

``port`` is a device path (``/dev/ttyUSB0``) or any pyserial URL (``socket://host:port`` for
a serial-over-IP server, ``rfc2217://...``). A port that fails is closed and reopened once
after a short backoff; a missing, partial or garbled reply is a ``TransportError`` naming the
port and the reply expected.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

import serial

from devices.transports.base import TransportError

REOPEN_BACKOFF_S = 0.2
"""Pause before reopening a port that failed, in seconds."""
SAMSUNG_ACK = bytes.fromhex("030CF1")
SAMSUNG_NAK = bytes.fromhex("030CFF")


def open_port(kind: str, port: str, baud: int, timeout_s: float) -> serial.SerialBase:
    """Open ``port`` (path or pyserial URL) 8N1; TransportError naming it on failure."""
    try:
        return serial.serial_for_url(
            port, baudrate=baud, timeout=timeout_s, write_timeout=timeout_s
        )
    except (serial.SerialException, OSError, ValueError) as error:
        reason = " ".join(str(error).split())
        raise TransportError(f"{kind} {port}: cannot open the serial port: {reason}") from None


class _SerialTransport:
    """Request-reply over one serial port, reopened once after a failure."""

    kind = "serial"

    def __init__(self, port: str, *, baud: int = 9600, timeout_s: float = 2.0) -> None:
        if timeout_s <= 0:
            raise ValueError(f"{self.kind} timeout_s must be positive, got {timeout_s}")
        self.address, self.baud, self.timeout_s = port, baud, float(timeout_s)
        self._port: serial.SerialBase | None = None
        self._lock = threading.Lock()

    def connect(self) -> None:
        """Open the port (TransportError naming it if it cannot be opened)."""
        with self._lock:
            self._open()

    def close(self) -> None:
        """Close the port; the next command reopens it."""
        with self._lock:
            if self._port is not None:
                port, self._port = self._port, None
                port.close()

    def _open(self) -> serial.SerialBase:
        if self._port is None:
            self._port = open_port(self.kind, self.address, self.baud, self.timeout_s)
        return self._port

    def fail(self, text: str) -> TransportError:
        return TransportError(f"{self.kind} {self.address}: {text}")

    def exchange(
        self, request: bytes, read_reply: Callable[[serial.SerialBase], bytes], expected: str
    ) -> bytes:
        """Write ``request`` and read its reply with ``read_reply(port)``; reopen once on I/O errors."""
        with self._lock:
            for attempt in (1, 2):
                port = self._open()
                try:
                    port.reset_input_buffer()  # stale bytes are not this request's reply
                    port.write(request)
                    port.flush()
                    return read_reply(port)
                except (serial.SerialException, OSError) as error:
                    port.close()
                    self._port = None
                    if attempt == 2:
                        reason = " ".join(str(error).split())
                        raise self.fail(f"port failed awaiting {expected}: {reason}") from None
                    time.sleep(REOPEN_BACKOFF_S)
            raise AssertionError("unreachable")

    def read_exact(self, port: serial.SerialBase, count: int, expected: str) -> bytes:
        data = port.read(count)
        if len(data) < count:
            got = f"only {data!r}" if data else "nothing"
            raise self.fail(f"expected {expected} within {self.timeout_s:g} s, got {got}")
        return data


class LgSerialTransport(_SerialTransport):
    """An LG TV on RS-232C; key codes are ``mc`` data bytes (two hex digits)."""

    kind = "serial_lg"
    _REPLY = re.compile(rb"^([a-z]) ([0-9A-Fa-f]{2}) (OK|NG)([0-9A-Fa-f]{0,2})$")

    def __init__(
        self, port: str, *, set_id: int = 1, baud: int = 9600, timeout_s: float = 2.0
    ) -> None:
        super().__init__(port, baud=baud, timeout_s=timeout_s)
        if not 0 <= set_id <= 99:
            raise ValueError(f"LG set id must be 0-99 (0 = all sets), got {set_id}")
        self.set_id = set_id

    def send_key(self, code: str) -> None:
        """``mc <set id> <code>``: the remote key ``code``."""
        self.command("m", "c", code)

    def power(self, on: bool) -> None:
        """``ka <set id> 01`` / ``00``."""
        self.command("k", "a", "01" if on else "00")

    def command(self, cmd1: str, cmd2: str, data: str) -> str:
        """Send one command; the data the set acknowledged, or TransportError."""
        if not re.fullmatch(r"[0-9A-Fa-f]{2}", data):
            raise ValueError(f"LG command data {data!r} must be two hex digits")
        request = f"{cmd1}{cmd2} {self.set_id:02d} {data}\r".encode()
        expected = f"'{cmd2} {self.set_id:02d} OK{data}x' for {request.decode().strip()!r}"

        def read(port: serial.SerialBase) -> bytes:
            reply = port.read_until(b"x", 32)
            if not reply.endswith(b"x"):
                got = repr(reply) if reply else "nothing"
                raise self.fail(f"expected {expected} within {self.timeout_s:g} s, got {got}")
            return reply[:-1].strip()

        reply = self.exchange(request, read, expected)
        match = self._REPLY.match(reply)
        if match is None or match.group(1).decode() != cmd2:
            raise self.fail(f"expected {expected}, got {reply + b'x'!r}")
        if match.group(3) == b"NG":
            raise self.fail(f"the TV refused {request.decode().strip()!r} (NG)")
        return match.group(4).decode()


def exlink_frame(c1: int, c2: int, c3: int, value: int) -> bytes:
    """A Samsung EX-Link frame with its checksum."""
    body = bytes([0x08, 0x22, c1, c2, c3, value])
    return body + bytes([(0x100 - sum(body)) & 0xFF])


class SamsungSerialTransport(_SerialTransport):
    """A Samsung TV on EX-Link; key codes are remote-key values (two hex digits)."""

    kind = "serial_samsung"

    def send_key(self, code: str) -> None:
        """``08 22 0D 00 00 <code>``: the remote key ``code``; ValueError unless two hex digits."""
        if not re.fullmatch(r"[0-9A-Fa-f]{2}", code):
            raise ValueError(f"{self.kind} key code {code!r} must be two hex digits (00-FF)")
        self.command(exlink_frame(0x0D, 0x00, 0x00, int(code, 16)))

    def power(self, on: bool) -> None:
        self.command(exlink_frame(0x00, 0x00, 0x00, 0x02 if on else 0x01))

    def command(self, frame: bytes) -> None:
        """Send one frame; TransportError unless the TV ACKs it."""
        expected = f"ACK 03 0C F1 for {frame.hex(' ')}"
        reply = self.exchange(frame, lambda port: self.read_exact(port, 3, expected), expected)
        if reply == SAMSUNG_NAK:
            raise self.fail(f"the TV refused {frame.hex(' ')} (NAK 03 0C FF)")
        if reply != SAMSUNG_ACK:
            raise self.fail(f"expected {expected}, got {reply.hex(' ')}")

"""HDMI-CEC for the virtual device: a bus model on loopback and a stand-in for ``cec-client``.

No CEC adapter exists here, so two pieces replace it:

* ``CecBus`` (inside the virtual device) is the CEC bus with the device on logical address 4
  (playback 1). It takes one frame per line as hex (``14:44:46``) over TCP, answers ``ACK``
  or ``NACK`` plus any reply frames (``>> 41:90:00``), and turns User Control Pressed (44),
  Play (41) and Deck Control (42) into key presses; 8F gets the power status (90), 83 the
  physical address (84), 46 the OSD name (47); other opcodes addressed to it get Feature Abort.
* ``python -m devices.simulator.cec_sim [options] PORT`` behaves like ``cec-client`` in
  interactive mode with ``-d 8``: prints ``opening a connection to the CEC adapter...`` and
  ``waiting for input``, reads ``tx``, ``on``, ``standby``, ``pow``, ``q`` on stdin and logs
  frames as ``TRAFFIC: [ ms]\\t<< 14:44:46`` / ``>> 41:90:00``. ``PORT`` is the bus's
  ``host:port`` (where a real cec-client takes the adapter's COM port).
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from collections.abc import Callable

from devices.keys import Key
from devices.simulator.tcp_server import LoopbackServer, read_lines
from devices.transports.address import parse_host_port
from devices.transports.cec import USER_CONTROL_CODES

DEVICE_ADDRESS = 4
PHYSICAL_ADDRESS = "10:00"
OSD_NAME = "onglass"
_KEYS = {code: key for key, code in USER_CONTROL_CODES.items()}
_PLAY_MODES = {0x24: Key.PLAY, 0x25: Key.PAUSE}
_DECK_CONTROL = {0x01: Key.FF, 0x02: Key.RW, 0x03: Key.STOP}


class CecBus:
    """The bus as seen from the adapter; ``frames`` logs every frame put on it."""

    def __init__(self, on_key: Callable[[Key], None], port: int = 0) -> None:
        self.on_key = on_key
        self.power_on = True
        self.frames: list[str] = []
        self.server = LoopbackServer("cec-bus", self._handle, port)

    @property
    def address(self) -> str:
        return self.server.address

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def _handle(self, sock: socket.socket) -> None:
        next_line = read_lines(sock, b"\n")
        while (raw := next_line()) is not None:
            text = raw.decode("ascii", "replace").strip().lower()
            try:
                frame = [int(b, 16) for b in text.split(":")]
            except ValueError:
                sock.sendall(b"NACK\n")
                continue
            self.frames.append(text)
            acked, replies = self.apply(frame)
            out = ("ACK\n" if acked else "NACK\n") + "".join(f">> {r}\n" for r in replies)
            sock.sendall(out.encode() + b"END\n")

    def apply(self, frame: list[int]) -> tuple[bool, list[str]]:
        """Deliver one frame; (acknowledged, reply frames as hex)."""
        if not frame:
            return False, []
        initiator, destination = frame[0] >> 4, frame[0] & 0xF
        if destination != DEVICE_ADDRESS and destination != 0xF:
            return False, []  # nobody at that address: no ACK
        if len(frame) == 1:
            return True, []  # a poll
        opcode, operands = frame[1], frame[2:]
        me = f"{DEVICE_ADDRESS:x}{initiator:x}"
        if opcode == 0x44 and operands and operands[0] in _KEYS:
            self.on_key(_KEYS[operands[0]])
        elif opcode == 0x41 and operands and operands[0] in _PLAY_MODES:
            self.on_key(_PLAY_MODES[operands[0]])
        elif opcode == 0x42 and operands and operands[0] in _DECK_CONTROL:
            self.on_key(_DECK_CONTROL[operands[0]])
        elif opcode == 0x8F:
            return True, [f"{me}:90:{0 if self.power_on else 1:02x}"]
        elif opcode == 0x83:
            return True, [f"{DEVICE_ADDRESS:x}f:84:{PHYSICAL_ADDRESS}:04"]
        elif opcode == 0x46:
            return True, [f"{me}:47:" + ":".join(f"{ord(c):02x}" for c in OSD_NAME)]
        elif opcode == 0x36:
            self.power_on = False
        elif opcode == 0x04:
            self.power_on = True
        elif opcode not in (0x45, 0x82, 0x86, 0x9D):
            return True, [f"{me}:00:{opcode:02x}:00"]  # Feature Abort: unrecognised opcode
        return True, []


# ---- the cec-client stand-in ----------------------------------------------------------


def _traffic(start: float, direction: str, frame: str) -> None:
    print(
        f"TRAFFIC: [{int((time.monotonic() - start) * 1000):8d}]\t{direction} {frame}", flush=True
    )


_ADDRESS_COMMANDS = {"on": "04", "standby": "36", "pow": "8f"}
"""cec-client commands taking a logical address -> the opcode they send to it."""


def _logical_address(text: str) -> int | None:
    """A logical address given as one hex digit (0-F), else None."""
    try:
        value = int(text, 16)
    except ValueError:
        return None
    return value if 0 <= value <= 15 else None


def client_main(argv: list[str] | None = None) -> int:
    """``cec-client``-compatible front end to a ``CecBus`` (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="cec-client (onglass simulator)")
    parser.add_argument("-t", "--type", default="p")
    parser.add_argument("-d", "--log-level", type=int, default=31)
    parser.add_argument("-s", "--single-command", action="store_true")
    parser.add_argument("-p", "--port", type=int, default=1)
    parser.add_argument("-o", "--osd-name", default="CECTester")
    parser.add_argument("bus", help="the simulated bus as host:port (a real client: COM port)")
    args = parser.parse_args(argv)
    own = {"p": 4, "r": 1, "t": 3, "a": 5, "x": 0}.get(args.type, 4)
    start = time.monotonic()
    print("opening a connection to the CEC adapter...", flush=True)
    try:
        sock = socket.create_connection(parse_host_port(args.bus, 0, "cec bus"), timeout=5)
    except (OSError, ValueError) as error:
        print(f"ERROR:   [{0:8d}]\tcould not open a connection (try 1): {error}", flush=True)
        print(f"unable to open the device on port {args.bus}", flush=True)
        return 1
    replies = read_lines(sock, b"\n")
    if not args.single_command:
        print("waiting for input", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "q":
            break
        frame = None
        if words[0] in ("tx", "txn") and len(words) > 1:
            frame = ":".join(words[1:]).replace("::", ":").lower()
        elif words[0] in _ADDRESS_COMMANDS and len(words) > 1:
            destination = _logical_address(words[1])
            if destination is None:
                print(f"ERROR:   [{0:8d}]\tinvalid logical address: {words[1]!r}", flush=True)
                continue
            frame = f"{own:x}{destination:x}:{_ADDRESS_COMMANDS[words[0]]}"
        if frame is None:
            print(f"unknown command: {line.strip()}", flush=True)
            continue
        try:
            sock.sendall(frame.encode() + b"\n")
            answer = []
            while (reply := replies()) not in (b"END", None):
                answer.append(reply.decode())
        except OSError as error:
            print(f"ERROR:   connection to the CEC adapter lost: {error}", flush=True)
            return 1
        if reply is None:
            print("ERROR:   connection to the CEC adapter lost", flush=True)
            return 1
        if answer and answer[0] == "ACK":
            _traffic(start, "<<", frame)
        else:
            print(f"ERROR:   [{0:8d}]\tFailed to transmit {frame}: not acked", flush=True)
        for reply_frame in answer[1:]:
            _traffic(start, ">>", reply_frame.removeprefix(">> "))
            if words[0] == "pow" and ":90:" in reply_frame:
                status = "on" if reply_frame.endswith("00") else "standby"
                print(f"power status: {status}", flush=True)
        if args.single_command:
            break
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(client_main())

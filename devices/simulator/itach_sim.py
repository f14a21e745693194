"""A Global Caché iTach IP2IR on loopback: ``sendir`` lines on TCP, IR decoded into keys.

Commands end with ``\\r``. ``sendir`` is validated field by field (ERR_1:1,NNN codes of the
iTach API v1.5), its carrier cycles are turned into microseconds and decoded as NEC or
Samsung32 (``devices.ir``); a recognised key goes to ``on_key`` and ``completeir`` follows
once the IR would have finished (cycles / frequency x repeats). A second ``sendir`` on a
connector still transmitting gets ``busyIR``. Also ``getdevices``, ``getversion``,
``get_IR`` and ``stopir``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

from devices import ir
from devices.keys import Key
from devices.profiles.ir_codes import key_for_code
from devices.simulator.tcp_server import LoopbackServer, read_lines

VERSION = "710-1005-05"
CONNECTORS = ("1:1", "1:2", "1:3")


class ItachSimulator:
    """The iTach endpoint; ``received`` lists every decoded key."""

    def __init__(self, on_key: Callable[[Key], None], port: int = 0) -> None:
        self.on_key = on_key
        self.server = LoopbackServer("itach-sim", self._handle, port)
        self.received: list[Key] = []
        self._busy: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        return self.server.address

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def _handle(self, sock: socket.socket) -> None:
        next_line = read_lines(sock, b"\r")
        while (raw := next_line()) is not None:
            line = raw.decode("ascii", "replace").strip("\n")
            sock.sendall(self._answer(line).encode() + b"\r")

    def _answer(self, line: str) -> str:
        if line == "getdevices":
            return "device,0,0 ETHERNET\rdevice,1,3 IR\rendlistdevices"
        if line == "getversion":
            return VERSION
        if line.startswith("get_IR,"):
            return f"IR,{line[7:]},IR"
        if line.startswith("stopir,"):
            return line
        if line.startswith("sendir,"):
            return self._sendir(line.split(","))
        return "unknowncommand,ERR_01"

    def _sendir(self, fields: list[str]) -> str:
        if len(fields) < 8:
            return "ERR_1:1,008"
        connector = fields[1]
        if connector not in CONNECTORS:
            return "ERR_1:1,003"
        try:
            ident, freq, repeat, offset = (int(f) for f in fields[2:6])
            cycles = [int(f) for f in fields[6:]]
        except ValueError:
            return f"ERR_{connector},017"
        checks = (
            (0 <= ident <= 65535, "004"),
            (15000 <= freq <= 500000, "005"),
            (1 <= repeat <= 50, "006"),
            (offset % 2 == 1 and 1 <= offset <= min(383, len(cycles)), "007"),
            (len(cycles) % 2 == 0, "010"),
            (len(cycles) <= 520, "020"),
            (all(c > 0 for c in cycles), "009"),
        )
        for ok, code in checks:
            if not ok:
                return f"ERR_{connector},{code}"
        with self._lock:
            if connector in self._busy:
                return f"busyIR,{connector},{ident}"
            self._busy[connector] = threading.Event()
        try:
            timings = [round(c * 1_000_000 / freq) for c in cycles]
            for frame in ir.decode(timings[:-1]):  # the last value is the gap, not a pulse
                found = key_for_code(frame.protocol, frame.code) if frame.code else None
                if found is not None:
                    self.received.append(found[1])
                    self.on_key(found[1])
            repeated = sum(cycles[offset - 1 :]) * (repeat - 1)
            time.sleep((sum(cycles) + repeated) / freq)
        finally:
            with self._lock:
                self._busy.pop(connector).set()
        return f"completeir,{connector},{ident}"

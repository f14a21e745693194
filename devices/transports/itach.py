"""IR through a Global Caché iTach (IP2IR): ``sendir`` over TCP port 4998.

Key codes are Pronto hex (what IR databases and learning tools hand out); each press becomes
``sendir,<connector>,<id>,<freq>,<repeat>,<offset>,<cycles...>\\r`` and the iTach answers
``completeir,<connector>,<id>\\r`` once the IR has gone out. ``busyIR`` (the connector is
still sending) is retried with backoff until the timeout; ``ERR_...`` codes are reported
with their meaning from the iTach API specification v1.5.
"""

from __future__ import annotations

import itertools
import re
import time

from devices.transports.pronto import ProntoCode, ProntoError, parse_pronto
from devices.transports.socket_link import SocketExchange, parse_endpoint

DEFAULT_PORT = 4998
BUSY_BACKOFF_S = 0.05
"""First pause before resending after ``busyIR``, in seconds (doubles each time)."""
ERRORS = {
    "001": "invalid command",
    "002": "invalid module address",
    "003": "invalid connector address",
    "004": "invalid ID",
    "005": "invalid frequency",
    "006": "invalid repeat",
    "007": "invalid offset",
    "008": "invalid pulse count",
    "009": "invalid pulse data",
    "010": "uneven amount of on/off statements",
    "011": "no carriage return found",
    "012": "repeat count exceeded",
    "013": "IR command sent to input connector",
    "014": "blaster command sent to non-blaster connector",
    "017": "syntax error",
    "019": "IR failure",
    "020": "more than 260 on/off pairs",
    "027": "connector locked",
}
_ERR = re.compile(r"^ERR[_ ]?(?:(\d+):(\d+),)?(\d+)$")
_CONNECTOR = re.compile(r"^\d:\d$")


class ItachTransport:
    """Sends Pronto-coded keys out of one iTach connector.

    Args:
        address: ``host[:port]`` of the iTach (port 4998).
        connector: ``module:port`` of the IR output, ``1:1`` to ``1:3``.
        timeout_s: longest wait for one key's ``completeir``, in seconds.
    """

    kind = "itach"

    def __init__(self, address: str, connector: str = "1:1", *, timeout_s: float = 5.0) -> None:
        if timeout_s <= 0:
            raise ValueError(f"itach timeout_s must be positive, got {timeout_s}")
        if not _CONNECTOR.match(connector):
            raise ValueError(f"itach connector {connector!r}: expected 'module:port' like 1:1")
        parse_endpoint(address, DEFAULT_PORT)
        self.address, self.connector, self.timeout_s = address, connector, float(timeout_s)
        self._ids = itertools.count(1)

    def connect(self) -> None:
        """Check the iTach answers (``getversion``)."""
        with self._link() as link:
            link.send(b"getversion\r")
            reply = link.read_until(b"\r", "a version string for 'getversion'").decode(
                "ascii", "replace"
            )
            if not reply or reply.startswith(("ERR", "unknowncommand")):
                raise link.fail(f"expected a version string for 'getversion', got {reply!r}")

    def send_key(self, code: str) -> None:
        """Send one Pronto-coded key; returns on ``completeir``."""
        self._send(code, repeat=1)

    def hold_key(self, code: str, seconds: float) -> None:
        """Hold a key by repeating its frame for about ``seconds`` (at most 50 repeats)."""
        pronto = self._parse(code)
        frame_s = sum(pronto.cycles) / pronto.frequency_hz
        self._send(code, repeat=max(1, min(50, round(seconds / frame_s))))

    def close(self) -> None:
        """Nothing to close: each key has its own connection."""

    def _parse(self, code: str) -> ProntoCode:
        try:
            return parse_pronto(code)
        except ProntoError as error:
            raise ValueError(f"itach key code: {error}") from None

    def _link(self) -> SocketExchange:
        return SocketExchange(self.kind, self.address, DEFAULT_PORT, self.timeout_s)

    def _send(self, code: str, repeat: int) -> None:
        pronto = self._parse(code)
        ident = next(self._ids) % 65536
        command = pronto.sendir(self.connector, ident, repeat)
        expected = f"'completeir,{self.connector},{ident}'"
        pause = BUSY_BACKOFF_S
        deadline = time.monotonic() + self.timeout_s
        while True:
            with self._link() as link:
                link.send(command.encode() + b"\r")
                reply = link.read_until(b"\r", expected).decode("ascii", "replace").strip()
            if reply == f"completeir,{self.connector},{ident}":
                return
            if reply.startswith("busyIR") and time.monotonic() + pause < deadline:
                time.sleep(pause)
                pause *= 2
                continue
            match = _ERR.match(reply)
            if match:
                meaning = ERRORS.get(match.group(3), "unknown error code")
                raise link.fail(f"sendir refused: {reply} ({meaning})")
            if reply.startswith("busyIR"):
                raise link.fail(f"connector {self.connector} stayed busy for {self.timeout_s:g} s")
            raise link.fail(f"expected {expected}, got {reply[:60]!r}")

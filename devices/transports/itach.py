"""IR through a Global Caché iTach (IP2IR): ``sendir`` over TCP port 4998.

Key codes are Pronto hex (what IR databases and learning tools hand out); each press becomes
``sendir,<connector>,<id>,<freq>,<repeat>,<offset>,<cycles...>\\r`` and the iTach answers
``completeir,<connector>,<id>\\r`` once the IR has gone out. ``busyIR`` (the connector is
still sending) is retried with backoff until the timeout; ``ERR_...`` codes are reported
with their meaning from the iTach API specification v1.5.

A hold sends the frame once and then its repeat part; the iTach answers only after the last
repeat, so a hold's exchange may take ``timeout_s`` plus the hold's IR time. ``sendir`` takes
at most ``MAX_REPEAT`` (50) repeats; a longer hold continues with further ``sendir`` commands
carrying only the repeat part (what a remote sends while a key stays down; a code without one
repeats its whole frame, as ``sendir`` itself does), so holds have no upper limit; between two
commands the connector is idle for one network round trip.
"""

from __future__ import annotations

import itertools
import re
import time

from devices.transports.address import parse_host_port
from devices.transports.base import TransportError
from devices.transports.pronto import ProntoCode, ProntoError, parse_pronto
from devices.transports.socket_link import SocketExchange

DEFAULT_PORT = 4998
MAX_REPEAT = 50
"""Most repeats one ``sendir`` may ask for (iTach API v1.5); longer holds re-send."""
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
        timeout_s: longest wait for one key's ``completeir``, in seconds (a hold adds the
            time its repeats take on the air).
    """

    kind = "itach"

    def __init__(self, address: str, connector: str = "1:1", *, timeout_s: float = 5.0) -> None:
        if timeout_s <= 0:
            raise ValueError(f"itach timeout_s must be positive, got {timeout_s}")
        if not _CONNECTOR.match(connector):
            raise ValueError(f"itach connector {connector!r}: expected 'module:port' like 1:1")
        parse_host_port(address, DEFAULT_PORT, self.kind)
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
        self._send(self._parse(code), repeat=1)

    def hold_key(self, code: str, seconds: float) -> None:
        """Hold a key for about ``seconds``: the frame, then its repeat part until the time is up.

        Any length works: past ``MAX_REPEAT`` repeats the hold continues with further
        ``sendir`` commands of the repeat part alone. Returns once the IR has gone out.
        """
        pronto = self._parse(code)
        first_s = sum(pronto.cycles) / pronto.frequency_hz
        again = ProntoCode(pronto.frequency_hz, (), pronto.repeat or pronto.once)
        again_s = sum(again.cycles) / again.frequency_hz
        remaining = max(0, round((seconds - first_s) / again_s))
        first = min(MAX_REPEAT - 1, remaining)
        self._send(pronto, repeat=1 + first)
        remaining -= first
        while remaining > 0:
            chunk = min(MAX_REPEAT, remaining)
            self._send(again, repeat=chunk)
            remaining -= chunk

    def close(self) -> None:
        """Nothing to close: each key has its own connection."""

    def _parse(self, code: str) -> ProntoCode:
        try:
            return parse_pronto(code)
        except ProntoError as error:
            raise ValueError(f"itach key code: {error}") from None

    def _link(
        self, timeout_s: float | None = None, deadline: float | None = None
    ) -> SocketExchange:
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        return SocketExchange(self.kind, self.address, DEFAULT_PORT, timeout_s, deadline)

    def _send(self, pronto: ProntoCode, repeat: int) -> None:
        """One ``sendir``; the exchange may last ``timeout_s`` plus the IR's time on the air,
        ``busyIR`` retries share that time (each retry gets only what is left)."""
        ident = next(self._ids) % 65536
        command = pronto.sendir(self.connector, ident, repeat)
        expected = f"'completeir,{self.connector},{ident}'"
        air_s = (sum(pronto.cycles) + sum(pronto.cycles[pronto.offset - 1 :]) * (repeat - 1)) / (
            pronto.frequency_hz
        )
        budget_s = self.timeout_s + air_s
        pause = BUSY_BACKOFF_S
        deadline = time.monotonic() + budget_s
        while True:
            if time.monotonic() >= deadline:
                raise TransportError(
                    f"{self.kind} {self.address}: no {expected} within {budget_s:.3g} s"
                )
            with self._link(budget_s, deadline) as link:
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
                raise link.fail(f"connector {self.connector} stayed busy for {budget_s:.3g} s")
            raise link.fail(f"expected {expected}, got {reply[:60]!r}")

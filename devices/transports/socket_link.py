"""One request-reply exchange over a stream socket (TCP or UNIX), with bounded waits.

The line-based device transports (LIRC, iTach) open a connection per command, the way
``irsend`` does: a connection that died between two key presses is never mistaken for a
reply, and a lost reply is never retried (the key may already have gone out; a retry could
press it twice). Connecting is retried with exponential backoff until the timeout: a daemon
that is restarting gets the time it needs, a dead one costs one bounded wait.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable
from typing import TypeVar

from devices.transports.address import parse_host_port
from devices.transports.base import TransportError

T = TypeVar("T")

CONNECT_BACKOFF_S = (0.05, 0.1, 0.2, 0.4, 0.8)
"""Pauses between connection attempts, in seconds (the last one repeats)."""
MAX_REPLY_BYTES = 64 * 1024
"""A reply longer than this without its terminator is garbage, not a slow reply."""


def parse_endpoint(address: str, default_port: int, kind: str = "socket") -> tuple[int, object]:
    """``/path`` or ``unix:/path`` -> UNIX socket; ``host[:port]`` or ``[v6]:port`` -> TCP.

    ValueError naming ``kind`` and the address when it is neither.
    """
    text = address.strip()
    if text.startswith("unix:"):
        text = text[5:]
    if text.startswith("/"):
        return socket.AF_UNIX, text
    host, port = parse_host_port(text, default_port, kind)
    return (socket.AF_INET6 if ":" in host else socket.AF_INET), (host, port)


def retry_refused(
    attempt: Callable[[], T],
    deadline: float,
    give_up: Callable[[OSError], Exception],
    refused: tuple[type[OSError], ...] = (ConnectionRefusedError,),
) -> T:
    """``attempt()``, retried with ``CONNECT_BACKOFF_S`` pauses while it raises ``refused``.

    When the next pause would pass ``deadline`` (host ``time.monotonic()`` seconds), raises
    ``give_up(last error)``. Other exceptions propagate at once.
    """
    tries = 0
    while True:
        try:
            return attempt()
        except refused as error:
            pause = CONNECT_BACKOFF_S[min(tries, len(CONNECT_BACKOFF_S) - 1)]
            if time.monotonic() + pause > deadline:
                raise give_up(error) from None
            time.sleep(pause)
            tries += 1


class SocketExchange:
    """A connection for one command; every wait ends by ``deadline`` (host monotonic s).

    ``deadline`` defaults to now + ``timeout_s``; a caller whose command has a longer or
    shared budget (an iTach hold, ``busyIR`` retries) passes its own and the ``timeout_s``
    that messages quote.
    """

    def __init__(
        self,
        kind: str,
        address: str,
        default_port: int,
        timeout_s: float,
        deadline: float | None = None,
    ) -> None:
        self.kind, self.address, self.timeout_s = kind, address, timeout_s
        self.family, self.target = parse_endpoint(address, default_port, kind)
        self.deadline = time.monotonic() + timeout_s if deadline is None else deadline
        self._buffer = b""
        self._sock = self._connect()

    def fail(self, text: str) -> TransportError:
        """A one-line error naming the transport and the address."""
        return TransportError(f"{self.kind} {self.address}: {text}")

    def _connect(self) -> socket.socket:
        def attempt() -> socket.socket:
            sock = socket.socket(self.family, socket.SOCK_STREAM)
            sock.settimeout(max(0.01, self.deadline - time.monotonic()))
            try:
                sock.connect(self.target)
            except BaseException:
                sock.close()
                raise
            return sock

        def give_up(error: OSError) -> TransportError:
            return self.fail(
                f"cannot connect within {self.timeout_s:.3g} s "
                f"({error.strerror or error}): is the daemon running?"
            )

        try:
            return retry_refused(
                attempt, self.deadline, give_up, (ConnectionRefusedError, FileNotFoundError)
            )
        except TimeoutError:
            raise self.fail(f"connect timed out after {self.timeout_s:.3g} s") from None
        except OSError as error:
            raise self.fail(f"cannot connect: {error.strerror or error}") from None

    def send(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except OSError as error:
            raise self.fail(f"connection lost while sending: {error.strerror or error}") from None

    def read_until(self, terminator: bytes, expected: str) -> bytes:
        """Bytes up to (without) ``terminator``; TransportError on EOF, timeout or garbage."""
        while terminator not in self._buffer:
            if len(self._buffer) > MAX_REPLY_BYTES:
                raise self.fail(f"expected {expected}, got {self._buffer[:60]!r}...")
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise self._silent(expected)
            self._sock.settimeout(remaining)
            try:
                part = self._sock.recv(4096)
            except TimeoutError:
                raise self._silent(expected) from None
            except OSError as error:
                raise self.fail(
                    f"connection lost awaiting {expected}: {error.strerror or error}"
                ) from None
            if not part:
                got = f" after {self._buffer[:60]!r}" if self._buffer else ""
                raise self.fail(f"connection closed by the device awaiting {expected}{got}")
            self._buffer += part
        line, _, self._buffer = self._buffer.partition(terminator)
        return line

    def _silent(self, expected: str) -> TransportError:
        got = f" (got only {self._buffer[:60]!r})" if self._buffer else ""
        return self.fail(f"no reply within {self.timeout_s:.3g} s: expected {expected}{got}")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()

    def __enter__(self) -> SocketExchange:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

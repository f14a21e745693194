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

from devices.transports.base import TransportError

CONNECT_BACKOFF_S = (0.05, 0.1, 0.2, 0.4, 0.8)
"""Pauses between connection attempts, in seconds (the last one repeats)."""
MAX_REPLY_BYTES = 64 * 1024
"""A reply longer than this without its terminator is garbage, not a slow reply."""


def parse_endpoint(address: str, default_port: int) -> tuple[int, object]:
    """``/path`` or ``unix:/path`` -> UNIX socket; ``host[:port]`` -> TCP; ValueError."""
    text = address.strip()
    if text.startswith("unix:"):
        text = text[5:]
    if text.startswith("/"):
        return socket.AF_UNIX, text
    host, sep, port = text.rpartition(":") if ":" in text else (text, "", "")
    if not sep:
        host, port = text, str(default_port)
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"address {address!r}: expected 'host:port' or a socket path")
    return socket.AF_INET, (host, int(port))


class SocketExchange:
    """A connection for one command; every wait ends by ``deadline`` (host monotonic s)."""

    def __init__(self, kind: str, address: str, default_port: int, timeout_s: float) -> None:
        self.kind, self.address, self.timeout_s = kind, address, timeout_s
        self.family, self.target = parse_endpoint(address, default_port)
        self.deadline = time.monotonic() + timeout_s
        self._buffer = b""
        self._sock = self._connect()

    def fail(self, text: str) -> TransportError:
        """A one-line error naming the transport and the address."""
        return TransportError(f"{self.kind} {self.address}: {text}")

    def _connect(self) -> socket.socket:
        attempt = 0
        while True:
            sock = socket.socket(self.family, socket.SOCK_STREAM)
            sock.settimeout(max(0.01, self.deadline - time.monotonic()))
            try:
                sock.connect(self.target)
                return sock
            except (ConnectionRefusedError, FileNotFoundError) as error:
                sock.close()
                pause = CONNECT_BACKOFF_S[min(attempt, len(CONNECT_BACKOFF_S) - 1)]
                if time.monotonic() + pause > self.deadline:
                    raise self.fail(
                        f"cannot connect within {self.timeout_s:g} s "
                        f"({error.strerror or error}): is the daemon running?"
                    ) from None
                time.sleep(pause)
                attempt += 1
            except TimeoutError:
                sock.close()
                raise self.fail(f"connect timed out after {self.timeout_s:g} s") from None
            except OSError as error:
                sock.close()
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
        return self.fail(f"no reply within {self.timeout_s:g} s: expected {expected}{got}")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()

    def __enter__(self) -> SocketExchange:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""IR through LIRC: commands to ``lircd`` over its socket, as ``irsend`` sends them.

A request is one line (``SEND_ONCE remote key``); lircd answers ``BEGIN``, the request echoed,
``SUCCESS`` or ``ERROR``, an optional ``DATA`` block, then ``END``. Lines of decoded-key
broadcasts (``<code> <repeat> <key> <remote>``) and ``SIGHUP`` blocks may come first and are
skipped. ``address`` is lircd's UNIX socket (``/var/run/lirc/lircd``) or, for
``lircd --listen``, ``host:port`` (default port 8765).
"""

from __future__ import annotations

import re
import time

from devices.transports.socket_link import SocketExchange, parse_endpoint

DEFAULT_PORT = 8765
_BROADCAST = re.compile(r"^[0-9a-fA-F]{16} [0-9a-fA-F]{2} \S+ \S+$")
_NAME = re.compile(r"\S+")


class LircTransport:
    """Sends keys of one remote in lircd's configuration.

    Args:
        address: lircd socket path or ``host:port``.
        remote: the remote's ``name`` in lircd.conf.
        timeout_s: longest wait for lircd's reply to one command, in seconds (SEND_ONCE
            replies once the IR has gone out, about 70 ms per frame).
    """

    kind = "lirc"

    def __init__(self, address: str, remote: str, *, timeout_s: float = 5.0) -> None:
        if timeout_s <= 0:
            raise ValueError(f"lirc timeout_s must be positive, got {timeout_s}")
        if not _NAME.fullmatch(remote):
            raise ValueError(f"lirc remote name {remote!r} must be one word")
        parse_endpoint(address, DEFAULT_PORT, self.kind)
        self.address, self.remote, self.timeout_s = address, remote, float(timeout_s)

    def connect(self) -> None:
        """Check that lircd answers and knows the remote (``LIST remote``)."""
        self.command(f"LIST {self.remote}")

    def send_key(self, code: str) -> None:
        """One press: ``SEND_ONCE remote code``; returns once lircd has sent it."""
        self.command(f"SEND_ONCE {self.remote} {self._check(code)}")

    def hold_key(self, code: str, seconds: float) -> None:
        """Hold a key: ``SEND_START``, wait ``seconds``, ``SEND_STOP`` (repeat frames between)."""
        code = self._check(code)
        self.command(f"SEND_START {self.remote} {code}")
        try:
            time.sleep(seconds)
        finally:
            self.command(f"SEND_STOP {self.remote} {code}")

    def list_codes(self) -> list[str]:
        """Key names of the remote, from ``LIST remote`` (``<code> <name>`` lines)."""
        return [line.split()[-1] for line in self.command(f"LIST {self.remote}") if line.split()]

    def close(self) -> None:
        """Nothing to close: each command has its own connection."""

    def _check(self, code: str) -> str:
        if not _NAME.fullmatch(code):
            raise ValueError(f"lirc key name {code!r} must be one word")
        return code

    def command(self, line: str) -> list[str]:
        """Run one lircd command; its DATA lines, or TransportError naming what went wrong."""
        with SocketExchange(self.kind, self.address, DEFAULT_PORT, self.timeout_s) as link:
            link.send(line.encode() + b"\n")
            return self._reply(link, line)

    def _reply(self, link: SocketExchange, sent: str) -> list[str]:
        expected = f"lircd's reply to {sent!r}"

        def next_line() -> str:
            raw = link.read_until(b"\n", expected)
            try:
                return raw.decode("ascii").rstrip("\r")
            except UnicodeDecodeError:
                raise link.fail(f"expected {expected}, got bytes {raw[:40]!r}") from None

        while True:
            first = next_line()
            if first != "BEGIN":
                if _BROADCAST.match(first) or not first:
                    continue
                raise link.fail(f"expected 'BEGIN' opening {expected}, got {first[:60]!r}")
            echo = next_line()
            if echo.lower() != sent.lower():  # SIGHUP or another broadcast block
                while next_line() != "END":
                    pass
                continue
            status = next_line()
            if status not in ("SUCCESS", "ERROR"):
                raise link.fail(f"expected SUCCESS or ERROR in {expected}, got {status[:60]!r}")
            data: list[str] = []
            tail = next_line()
            if tail == "DATA":
                count_text = next_line()
                if not count_text.isdigit():
                    raise link.fail(f"expected a DATA line count, got {count_text[:60]!r}")
                data = [next_line() for _ in range(int(count_text))]
                tail = next_line()
            if tail != "END":
                raise link.fail(f"expected 'END' closing {expected}, got {tail[:60]!r}")
            if status == "ERROR":
                reason = "; ".join(data) or "no reason given"
                raise link.fail(f"lircd refused {sent!r}: {reason}")
            return data

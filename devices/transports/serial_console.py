"""A set-top box's debug UART console: every line it prints, stamped as it arrives.

A reader thread keeps the console's output (boot log, kernel and app messages) as
``ConsoleLine`` records with the host's monotonic time (the clock key presses and captures
use) and wall-clock time. ``lines_between`` hands a test's share to its evidence;
``run`` types a command and returns what the console printed before the next prompt.
The port is reopened with backoff if it fails (a USB-serial adapter re-enumerating).
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections import deque
from dataclasses import dataclass

import serial

from devices.transports.base import TransportError
from devices.transports.serial_tv import open_port

REOPEN_BACKOFF_S = (0.2, 0.5, 1.0, 2.0)
"""Pauses before reopening a failed console port, in seconds (the last one repeats)."""
MAX_LINES = 20_000
"""Console lines kept in memory (the oldest are dropped first)."""
DEFAULT_PROMPT = r"(?m)^(?:[\w@:/~.-]*\s?)?[#$] ?$"
"""A shell prompt at the start of a line: ``# ``, ``$ ``, ``console:/ $``, ``root@stb:~#``."""


def _echoes(text: str, command: str, prompt: re.Pattern[str]) -> bool:
    """True if console line ``text`` is ``command`` typed, after a prompt or on its own."""
    typed = text.rstrip()
    if not typed.endswith(command.strip()):
        return False
    before = typed[: len(typed) - len(command.strip())]
    return not before.strip() or prompt.fullmatch(before) is not None


@dataclass(frozen=True)
class ConsoleLine:
    """One console line. ``t``: host monotonic seconds; ``wall``: UNIX time seconds."""

    t: float
    wall: float
    text: str

    def format(self) -> str:
        """``HH:MM:SS.mmm  text`` for evidence files."""
        stamp = time.strftime("%H:%M:%S", time.localtime(self.wall))
        return f"{stamp}.{int(self.wall * 1000) % 1000:03d}  {self.text}"


class SerialConsole:
    """Captures a debug console in the background once ``start`` is called.

    Args:
        port: device path or pyserial URL.
        baud: line speed (STB UARTs: 115200 8N1).
        timeout_s: longest wait for ``run``'s prompt and for opening the port, in seconds.
    """

    kind = "serial_console"

    def __init__(self, port: str, *, baud: int = 115200, timeout_s: float = 5.0) -> None:
        self.address, self.baud, self.timeout_s = port, baud, float(timeout_s)
        self.lines: deque[ConsoleLine] = deque(maxlen=MAX_LINES)
        self.problems: list[str] = []
        """Port failures seen while capturing (the capture carried on after reopening)."""
        self._port: serial.SerialBase | None = None
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._partial = ""
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Open the port (TransportError if it cannot) and start capturing."""
        self._port = open_port(self.kind, self.address, self.baud, 0.1)
        self._thread = threading.Thread(target=self._read, name="serial-console", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop capturing and close the port; the captured ``lines`` stay."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._port is not None:
            self._port.close()

    def lines_between(self, start: float, end: float | None = None) -> list[ConsoleLine]:
        """Lines stamped from ``start`` to ``end`` (host monotonic seconds; None: up to now)."""
        with self._changed:
            return [
                line for line in self.lines if line.t >= start and (end is None or line.t <= end)
            ]

    def run(self, command: str, prompt: str = DEFAULT_PROMPT) -> str:
        """Type ``command`` and return the output printed between its echo and the next prompt.

        The console echoes what is typed; lines before that echo (log messages that arrived
        meanwhile, each possibly followed by a fresh prompt) are not the command's output.
        Output ends at the first prompt after the echo. A log message printed between the
        echo and that prompt cannot be told apart from output and is returned with it.
        """
        if self._port is None:
            raise TransportError(f"{self.kind} {self.address}: console not started")
        sent = time.monotonic()
        try:
            self._port.write(command.encode() + b"\n")
        except (serial.SerialException, OSError) as error:
            raise TransportError(f"{self.kind} {self.address}: cannot write: {error}") from None
        pattern = re.compile(prompt)
        deadline = sent + self.timeout_s
        with self._changed:
            while True:
                new = [line.text for line in self.lines if line.t >= sent]
                echo = next(
                    (i for i, text in enumerate(new) if _echoes(text, command, pattern)), None
                )
                # the echoed command line first, then output, then the first prompt after it
                if echo is not None:
                    after = new[echo + 1 :]
                    end = next((i for i, t in enumerate(after) if pattern.fullmatch(t)), None)
                    if end is not None:
                        return "\n".join(after[:end])
                    if pattern.fullmatch(self._partial):
                        return "\n".join(after)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TransportError(
                        f"{self.kind} {self.address}: no prompt within {self.timeout_s:g} s "
                        f"after {command!r}"
                    )
                self._changed.wait(remaining)

    def _read(self) -> None:
        failures = 0
        while not self._stop.is_set():
            port = self._port
            if port is None:  # failed earlier: reopen after a backoff
                self._stop.wait(REOPEN_BACKOFF_S[min(failures, len(REOPEN_BACKOFF_S) - 1)])
                failures += 1
                with contextlib.suppress(TransportError):
                    self._port = open_port(self.kind, self.address, self.baud, 0.1)
                continue
            try:
                data = port.read(4096)
                failures = 0
            except (serial.SerialException, OSError) as error:
                self.problems.append(f"{time.strftime('%H:%M:%S')} {error}")
                with contextlib.suppress(serial.SerialException, OSError):
                    port.close()
                self._port = None
                continue
            if data:
                self._take(data.decode("utf-8", "replace"))
            elif self._partial:
                with self._changed:
                    self._changed.notify_all()  # a prompt has no newline: let run() look

    def _take(self, text: str) -> None:
        now, wall = time.monotonic(), time.time()
        with self._changed:
            parts = (self._partial + text.replace("\r", "")).split("\n")
            self._partial = parts.pop()
            for part in parts:
                self.lines.append(ConsoleLine(now, wall, part))
            self._changed.notify_all()

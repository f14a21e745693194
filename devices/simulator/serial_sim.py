"""Serial ports of the virtual device: pseudo-terminal pairs from ``os.openpty``.

The simulator keeps the master end; the transport opens the slave's ``/dev/pts/N`` path like
any serial device. Three personalities:

* ``LgSerialSim``: LG RS-232C. ``mc <id> <key>`` presses a remote key, ``ka <id> 00|01|FF``
  sets or reads power; replies ``<c2> <id> OK<data>x`` or ``NG<data>x`` (no CR).
* ``SamsungSerialSim``: EX-Link 7-byte frames; ``0D 00 00 <key>`` presses a key, ``00 00 00
  01|02`` power; ACK ``03 0C F1``, NAK ``03 0C FF`` on a bad checksum or unknown command.
* ``ConsoleSim``: an STB debug console at 115200 8N1: a boot log, a ``# `` prompt, a few
  commands (``help``, ``uptime``, ``state``, ``logread``) and the app's log lines streamed as
  kernel-style messages while it runs.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import threading
import time
import tty
from collections.abc import Callable
from typing import Any

from devices.keys import Key
from devices.profiles.ir_codes import LG_COMMANDS, SAMSUNG_COMMANDS

_LG_KEYS = {code: key for key, code in LG_COMMANDS.items()}
_SAMSUNG_KEYS = {code: key for key, code in SAMSUNG_COMMANDS.items()}


class PtySerial:
    """One pty pair served by ``on_bytes`` on a thread; ``path`` is what a client opens."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.master, self._slave = os.openpty()  # the slave stays open: no EIO between clients
        tty.setraw(self.master)
        tty.setraw(self._slave)
        os.set_blocking(self.master, False)  # nobody reading: bytes are lost, as on a UART
        self.path = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def write(self, data: bytes) -> None:
        with contextlib.suppress(OSError):  # BlockingIOError: the line's buffer is full
            os.write(self.master, data)

    def on_bytes(self, data: bytes) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:
                time.sleep(0.05)
                continue
            if data:
                self.on_bytes(data)

    def stop(self) -> None:
        """Stop the serving thread (if started) and close both ends of the pty."""
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=2)
        for fd in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class LgSerialSim(PtySerial):
    """An LG TV's RS-232C port (set ID 01)."""

    SET_ID = 1

    def __init__(self, on_key: Callable[[Key], None]) -> None:
        super().__init__("lg-serial-sim")
        self.on_key = on_key
        self.power = True
        self._buffer = b""

    def on_bytes(self, data: bytes) -> None:
        self._buffer += data
        while b"\r" in self._buffer:
            line, _, self._buffer = self._buffer.partition(b"\r")
            reply = self._answer(line.decode("ascii", "replace").strip())
            if reply:
                self.write(reply.encode())

    def _answer(self, line: str) -> str | None:
        parts = line.split()
        if len(parts) != 3 or len(parts[0]) != 2:
            return None  # a real set ignores what it cannot frame
        (c1, c2), set_id, data = parts[0], parts[1], parts[2].upper()
        if set_id not in ("00", f"{self.SET_ID:02d}"):
            return None
        me = f"{self.SET_ID:02d}"
        try:
            value = int(data, 16)
        except ValueError:
            return f"{c2} {me} NG{data[:2]}x"
        if c1 + c2 == "mc" and value in _LG_KEYS:
            self.on_key(_LG_KEYS[value])
            return f"{c2} {me} OK{data}x"
        if c1 + c2 == "ka" and data in ("00", "01", "FF"):
            if data != "FF":
                self.power = data == "01"
            return f"{c2} {me} OK{'01' if self.power else '00'}x"
        return f"{c2} {me} NG{data}x"


class SamsungSerialSim(PtySerial):
    """A Samsung TV's EX-Link port."""

    def __init__(self, on_key: Callable[[Key], None]) -> None:
        super().__init__("samsung-serial-sim")
        self.on_key = on_key
        self.power = True
        self._buffer = b""

    def on_bytes(self, data: bytes) -> None:
        self._buffer += data
        while self._buffer:
            start = self._buffer.find(b"\x08\x22")
            if start < 0:
                self._buffer = self._buffer[-1:] if self._buffer.endswith(b"\x08") else b""
                return
            frame = self._buffer[start : start + 7]
            if len(frame) < 7:
                self._buffer = self._buffer[start:]
                return
            self._buffer = self._buffer[start + 7 :]
            self.write(bytes.fromhex("030CF1" if self._apply(frame) else "030CFF"))

    def _apply(self, frame: bytes) -> bool:
        if sum(frame) & 0xFF != 0:
            return False
        c1, c2, c3, value = frame[2], frame[3], frame[4], frame[5]
        if (c1, c2, c3) == (0x0D, 0, 0) and value in _SAMSUNG_KEYS:
            self.on_key(_SAMSUNG_KEYS[value])
            return True
        if (c1, c2, c3) == (0, 0, 0) and value in (1, 2):
            self.power = value == 2
            return True
        return False


BOOT_LOG = (
    "U-Boot 2023.01-onglass (Jan 01 2026 - 00:00:00 +0000)",
    "DRAM:  2 GiB",
    "Hit any key to stop autoboot:  0 ",
    "Starting kernel ...",
    "[    0.000000] Booting Linux on physical CPU 0x0",
    "[    2.412345] onglass-stb: app framework started",
)
PROMPT = "# "
_LOGCAT = re.compile(r"^\S+ \S+\s+\d+\s+\d+ \w (.*?)\s*: (.*)$")
"""A logcat threadtime line: (tag, message)."""


class ConsoleSim(PtySerial):
    """An STB debug console; ``app`` gives ``log_lines`` and ``media_session``."""

    def __init__(self, app: Any) -> None:
        """``app``: the ``VirtualApp`` whose ``log_lines`` stream to the console."""
        super().__init__("console-sim")
        self.app = app
        self.started = time.monotonic()
        self._line = b""
        self._last: str | None = app.log_lines[-1] if app.log_lines else None
        self._console = threading.Lock()
        """Held from a command's echo to its prompt: log messages wait (a shell in the
        foreground); they still arrive between prompts, right before a command is typed."""
        self._follower = threading.Thread(
            target=self._stream_logs, name="console-logs", daemon=True
        )

    def start(self) -> None:
        super().start()
        self._follower.start()

    def on_bytes(self, data: bytes) -> None:
        with self._console:
            self.write(data.replace(b"\r", b"\r\n"))  # echo, as a tty in cooked mode would
            self._line += data.replace(b"\r", b"\n")
            while b"\n" in self._line:
                line, _, self._line = self._line.partition(b"\n")
                command = line.decode("ascii", "replace").strip()
                output = self._command(command) if command else ""
                self.write((output + PROMPT).encode())

    def _stamp(self) -> str:
        return f"[{time.monotonic() - self.started + 2.5:12.6f}]"

    def _command(self, command: str) -> str:
        if command == "help":
            return "commands: help uptime state logread\r\n"
        if command == "uptime":
            return f"up {time.monotonic() - self.started:.0f} s\r\n"
        if command == "state":
            state, position_s, title = self.app.media_session()
            return f"player state={int(state)} position={position_s:.2f} title={title}\r\n"
        if command == "logread":
            return "".join(line + "\r\n" for line in list(self.app.log_lines)[-50:])
        return f"sh: {command.split()[0]}: not found\r\n"

    def _stream_logs(self) -> None:
        self.write(("\r\n".join(BOOT_LOG) + "\r\n" + PROMPT).encode())
        last = self._last
        while not self._stop.is_set():
            lines = list(self.app.log_lines)
            if last is not None and last in lines:
                new = lines[len(lines) - lines[::-1].index(last) :]
            else:  # nothing seen yet, or the last line seen has rotated out
                new = lines
            for line in new:
                match = _LOGCAT.match(line)
                tag, message = match.groups() if match else ("app", line)
                with self._console:
                    self.write(f"\r\n{self._stamp()} {tag}: {message}\r\n{PROMPT}".encode())
            if lines:
                last = lines[-1]
            self._stop.wait(0.05)

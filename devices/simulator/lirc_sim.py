"""IR receiver of the virtual device, fed by a real ``lircd`` with its ``file`` driver.

``lircd`` (LIRC 0.10) is started with every built-in remote in its configuration and the
``file`` driver as its transmitter: each ``SEND_ONCE`` makes it write the frame's timings as
``pulse N`` / ``space N`` lines to a file. A thread follows that file, decodes the NEC and
Samsung32 frames (``devices.ir``) and hands each recognised key to ``on_key``, so ``irsend``
or ``LircTransport`` pointed at the socket moves the virtual device's UI.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from devices import ir
from devices.child_process import start_tied, stop_process
from devices.keys import Key
from devices.profiles.ir_codes import REMOTES, key_for_code

START_TIMEOUT_S = 10.0
"""Longest wait for lircd's socket to appear, in seconds."""


class LircdNotAvailable(RuntimeError):
    """lircd is not installed or did not start; the message says which."""


class LircSimulator:
    """A private lircd plus the decoder of what it transmits."""

    def __init__(self, on_key: Callable[[Key], None], workdir: str | None = None) -> None:
        self.on_key = on_key
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="onglass-lirc-")
        self.dir = Path(workdir or self._tmp.name)  # type: ignore[union-attr]
        self.socket_path = str(self.dir / "lircd.sock")
        self.tx_path = self.dir / "ir_tx.log"
        self.received: list[tuple[str, Key]] = []
        """(remote name, key) of every decoded frame."""
        self._process: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        return self.socket_path

    def start(self) -> None:
        lircd = shutil.which("lircd") or next(
            (p for p in ("/usr/sbin/lircd", "/sbin/lircd") if Path(p).exists()), None
        )
        if lircd is None:
            raise LircdNotAvailable("lircd not found (Debian: apt-get install lirc)")
        conf = self.dir / "lircd.conf"
        conf.write_text("".join(r.lircd_conf() for r in REMOTES.values()))
        options = self.dir / "lirc_options.conf"
        options.write_text(
            "[lircd]\nnodaemon = True\ndriver = file\n"
            f"device = {self.tx_path}\noutput = {self.socket_path}\n"
            f"pidfile = {self.dir / 'lircd.pid'}\nlogfile = {self.dir / 'lircd.log'}\n"
            "allow-simulate = yes\n"
        )
        self.tx_path.write_text("")
        self._process = start_tied(
            [lircd, f"--options-file={options}", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not Path(self.socket_path).exists():
            if self._process.poll() is not None or time.monotonic() > deadline:
                log = self.dir / "lircd.log"
                tail = log.read_text().strip().splitlines()[-1:] if log.exists() else []
                self.stop()
                raise LircdNotAvailable(f"lircd did not start: {' '.join(tail) or 'no log'}")
            time.sleep(0.02)
        self._thread = threading.Thread(target=self._follow, name="lirc-sim", daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        decoder = ir.FrameDecoder()
        with open(self.tx_path, encoding="ascii", errors="replace") as tx:
            pending = ""
            while not self._stop.is_set():
                chunk = tx.read()
                if not chunk:
                    self._stop.wait(0.01)
                    continue
                pending += chunk
                *lines, pending = pending.split("\n")
                for line in lines:
                    parts = line.split()
                    if len(parts) != 2 or parts[0] not in ("pulse", "space"):
                        continue
                    frame = decoder.feed(parts[0] == "pulse", int(parts[1]))
                    if frame is not None and frame.code is not None:
                        found = key_for_code(frame.protocol, frame.code)
                        if found is not None:
                            self.received.append((found[0].name, found[1]))
                            self.on_key(found[1])

    def stop(self) -> None:
        """Stop lircd and the decoder thread and remove the private directory."""
        self._stop.set()
        stop_process(self._process)
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._tmp is not None:
            self._tmp.cleanup()

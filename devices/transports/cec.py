"""HDMI-CEC through libcec's ``cec-client``, kept running and fed commands on stdin.

A key press is User Control Pressed then Released: ``tx 14:44:<code>`` and ``tx 14:45`` from
logical address 1 (``-t r``, a recording device) to 4 (playback device 1). With ``-d 8`` the
client logs each frame it put on the bus as ``TRAFFIC: [ ms]\\t<< 14:44:46``; the transport
waits for that line, so a press returns once the frame was sent (and acknowledged: libcec
logs a failed transmission instead).

What a real adapter needs: a Pulse-Eight USB-CEC adapter (``cec-client -l`` lists its COM
port, e.g. ``/dev/ttyACM0``), a Raspberry Pi's CEC (port ``RPI``) or a Linux ``/dev/cecN``
device, cabled into the HDMI chain between the device and the TV or capture card, and the
user in the ``dialout`` group. The rig's ``device.transport.address`` is that port. No
adapter exists here, so tests point ``client`` at the simulator's stand-in
(``python -m devices.simulator.cec_sim``), which takes the same options and stdin commands.
"""

from __future__ import annotations

import contextlib
import queue
import re
import shlex
import subprocess
import threading
import time
from collections import deque

from devices.child_process import start_tied, stop_process
from devices.keys import Key
from devices.transports.base import TransportError

USER_CONTROL_CODES: dict[Key, int] = {
    Key.OK: 0x00,
    Key.UP: 0x01,
    Key.DOWN: 0x02,
    Key.LEFT: 0x03,
    Key.RIGHT: 0x04,
    Key.HOME: 0x09,
    Key.MENU: 0x0A,
    Key.BACK: 0x0D,
    **{Key(str(d)): 0x20 + d for d in range(10)},
    Key.CH_UP: 0x30,
    Key.CH_DOWN: 0x31,
    Key.POWER: 0x40,
    Key.VOL_UP: 0x41,
    Key.VOL_DOWN: 0x42,
    Key.MUTE: 0x43,
    Key.PLAY: 0x44,
    Key.STOP: 0x45,
    Key.PAUSE: 0x46,
    Key.RW: 0x48,
    Key.FF: 0x49,
    Key.PLAY_PAUSE: 0x61,
}
"""onglass key -> CEC user-control code (operand of opcode 44), from libcec's cectypes.h."""
START_TIMEOUT_S = 15.0
"""Longest wait for ``cec-client`` to open the adapter and print ``waiting for input``."""
RESTART_BACKOFF_S = 0.5
"""Pause before restarting a ``cec-client`` that died, in seconds."""
OUTPUT_LINES = 2000
"""How many of cec-client's last output lines ``CecTransport.output`` keeps."""
QUIT_TIMEOUT_S = 1.0
"""Wait for cec-client to leave after ``q`` before it is terminated, in seconds."""


def user_control_code(key: Key) -> str:
    """The CEC user-control code of ``key``, two hex digits."""
    return f"{USER_CONTROL_CODES[key]:02X}"


class CecTransport:
    """Keys to one CEC device through a long-running ``cec-client``.

    Args:
        address: the adapter port given to cec-client (``/dev/ttyACM0``, ``RPI``, ...).
        client: the cec-client command line before its options (default ``cec-client``).
        initiator, destination: logical addresses (1 recording device, 4 playback 1).
        timeout_s: longest wait for one frame's TRAFFIC line, in seconds.
    """

    kind = "cec"

    def __init__(
        self,
        address: str,
        *,
        client: str = "cec-client",
        initiator: int = 1,
        destination: int = 4,
        timeout_s: float = 5.0,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError(f"cec timeout_s must be positive, got {timeout_s}")
        if not (0 <= initiator <= 15 and 0 <= destination <= 15):
            raise ValueError("cec logical addresses must be 0-15")
        self.address, self.timeout_s = address, float(timeout_s)
        self.client = shlex.split(client)
        self.header = f"{initiator:X}{destination:X}"
        self.output: deque[str] = deque(maxlen=OUTPUT_LINES)
        """The last ``OUTPUT_LINES`` lines cec-client printed (for evidence)."""
        self._process: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()

    def connect(self) -> None:
        """Start cec-client and wait until it has opened the adapter (``waiting for input``)."""
        with self._lock:
            self._start()

    def send_key(self, code: str) -> None:
        """User Control Pressed ``code``, then Released."""
        self.transmit(f"{self.header}:44:{code}")
        self.transmit(f"{self.header}:45")

    def hold_key(self, code: str, seconds: float) -> None:
        """Pressed, wait ``seconds``, Released (the device repeats while it is held)."""
        self.transmit(f"{self.header}:44:{code}")
        try:
            time.sleep(seconds)
        finally:
            self.transmit(f"{self.header}:45")

    def transmit(self, frame: str) -> None:
        """``tx <frame>``; returns once cec-client logs the frame as sent."""
        if not re.fullmatch(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2})*", frame):
            raise ValueError(f"cec frame {frame!r}: expected hex bytes like 14:44:46")
        with self._lock:
            for attempt in (1, 2):
                if self._process is None or self._process.poll() is not None:
                    if self._process is not None:
                        time.sleep(RESTART_BACKOFF_S)
                    self._start()
                try:
                    self._drop_stale_lines()
                    self._write(f"tx {frame}")
                    self._await(
                        rf"<< {re.escape(frame.lower())}\s*$", f"the '<< {frame}' TRAFFIC line"
                    )
                    return
                except _ClientDied:
                    self._kill()  # reap it: the next attempt starts a fresh client
                    if attempt == 2:
                        raise self._fail(f"cec-client exited while sending {frame}") from None

    def close(self) -> None:
        """Ask cec-client to quit (``q``), end it if it does not, and reap it."""
        with self._lock:
            self._kill()

    def _fail(self, text: str) -> TransportError:
        last = next((line for line in reversed(self.output) if line.strip()), "")
        tail = f" (last output: {last[:80]!r})" if last else ""
        return TransportError(f"{self.kind} {self.address}: {text}{tail}")

    def _start(self) -> None:
        self._kill()
        args = [*self.client, "-t", "r", "-d", "8", self.address]
        try:
            self._process = start_tied(
                args,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                bufsize=1,
            )
        except OSError as error:
            raise self._fail(f"cannot run {args[0]!r}: {error.strerror or error}") from None
        self._lines = queue.Queue()
        threading.Thread(
            target=self._pump, args=(self._process, self._lines), name="cec-client", daemon=True
        ).start()
        try:
            self._await(r"waiting for input", "'waiting for input'", START_TIMEOUT_S)
        except _ClientDied:
            self._kill()
            raise self._fail("cec-client could not open the adapter") from None
        except TransportError:
            self._kill()
            raise

    def _pump(self, process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.output.append(line.rstrip("\n"))
            lines.put(line.rstrip("\n"))
        lines.put(None)

    def _drop_stale_lines(self) -> None:
        """Empty the line queue so a reply is only matched against lines after the command."""
        while True:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                return
            if line is None:
                raise _ClientDied

    def _write(self, command: str) -> None:
        assert self._process is not None and self._process.stdin is not None
        try:
            self._process.stdin.write(command + "\n")
            self._process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise _ClientDied from None

    def _await(self, pattern: str, expected: str, timeout_s: float | None = None) -> None:
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout_s
        regex = re.compile(pattern, re.IGNORECASE)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._fail(f"expected {expected} within {timeout_s:g} s")
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise _ClientDied
            if regex.search(line):
                return
            if "ERROR" in line and ("transmit" in line.lower() or "failed" in line.lower()):
                raise self._fail(f"expected {expected}, got {line.strip()[:80]!r}")

    def _kill(self) -> None:
        if self._process is None:
            return
        process, self._process = self._process, None
        with contextlib.suppress(OSError, ValueError):
            if process.stdin:
                process.stdin.write("q\n")
                process.stdin.flush()
        try:
            process.wait(QUIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            stop_process(process)


class _ClientDied(Exception):
    """cec-client's output ended."""

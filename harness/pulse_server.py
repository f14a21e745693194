"""A private PulseAudio server with a null sink, for audio-capture tests and the simulator.

A lab captures HDMI audio from a sound card; here the virtual device plays its sound into a
PulseAudio *null sink* and the harness records the sink's monitor through ALSA's ``pulse``
device with sounddevice (PortAudio has no native Pulse host API). The server runs in the
foreground of a child process with its own socket, so it never touches a desktop's server, and
is tied to the process that started it (``devices.child_process``): a killed test run does not
leave ``pulseaudio --exit-idle-time=-1`` running::

    with PulseServer() as pulse:               # pulseaudio -n, null sink "onglass"
        env = pulse.environ()                   # PULSE_SERVER=unix:/tmp/.../pa.sock
        # children started with env play into the sink; sounddevice records "pulse"

Needs the ``pulseaudio`` and ``pulseaudio-utils`` packages (``scripts/bootstrap``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from devices.child_process import start_tied, stop_process
from harness.errors import InfrastructureError

SINK = "onglass"
"""Name of the null sink; its monitor source is ``onglass.monitor``."""
RATE = 48_000
"""Sample rate of the null sink, in Hz."""


class PulseServer:
    """``pulseaudio`` with a null sink, in a child process; ``stop()`` ends it."""

    def __init__(self, sink: str = SINK, rate: int = RATE, channels: int = 2) -> None:
        self.sink, self.rate, self.channels = sink, rate, channels
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self.socket: Path | None = None
        self.log: Path | None = None
        """The server's log (its stderr), while it runs."""

    @property
    def server(self) -> str:
        """The ``PULSE_SERVER`` value that reaches this server."""
        if self.socket is None:
            raise InfrastructureError("PulseAudio server not started")
        return f"unix:{self.socket}"

    def environ(self) -> dict[str, str]:
        """``os.environ`` with ``PULSE_SERVER`` and ``PULSE_SINK`` pointing here."""
        return {**os.environ, "PULSE_SERVER": self.server, "PULSE_SINK": self.sink}

    def start(self, timeout_s: float = 10.0) -> PulseServer:
        """Start the server and wait until ``pactl`` reaches it; InfrastructureError if not."""
        binary = shutil.which("pulseaudio")
        if binary is None or shutil.which("pactl") is None:
            raise InfrastructureError(
                "pulseaudio / pactl not installed (apt-get install pulseaudio pulseaudio-utils)"
            )
        self._folder = tempfile.TemporaryDirectory(prefix="onglass-pulse-")
        folder = Path(self._folder.name)
        self.socket = folder / "pa.sock"
        args = [
            binary,
            "--daemonize=no",
            "--exit-idle-time=-1",
            "-n",  # no default.pa: only the modules below
            "--log-target=stderr",
            f"--load=module-native-protocol-unix auth-anonymous=1 socket={self.socket}",
            f"--load=module-null-sink sink_name={self.sink} rate={self.rate} "
            f"channels={self.channels}",
        ]
        env = {**os.environ, "HOME": str(folder), "XDG_RUNTIME_DIR": str(folder)}
        env.pop("PULSE_SERVER", None)
        self.log = folder / "pulseaudio.log"  # a file: a pipe nobody reads would fill and block
        with self.log.open("wb") as log:  # tied: a killed test run leaves no server behind
            self._process = start_tied(args, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                error = self.log.read_text(errors="replace")
                self.stop()
                last = error.strip().splitlines()[-1:] or ["no output"]
                raise InfrastructureError(f"pulseaudio exited at start: {last[0]}")
            if self.socket.exists() and self._pactl("info").returncode == 0:
                return self
            time.sleep(0.05)
        self.stop()
        raise InfrastructureError(f"pulseaudio did not answer within {timeout_s:g} s")

    def _pactl(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PULSE_SERVER": f"unix:{self.socket}"}
        return subprocess.run(["pactl", *args], env=env, capture_output=True, text=True, timeout=10)

    def info(self) -> str:
        """``pactl info`` of this server."""
        return self._pactl("info").stdout

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and remove its folder."""
        stop_process(self._process)
        self._process = None
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def __enter__(self) -> PulseServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

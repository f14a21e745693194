"""Starting and stopping the virtual device as a separate process for a test session."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from devices.child_process import start_tied, stop_process
from devices.simulator.serve import READY_MARKER
from harness.errors import InfrastructureError

STOP_TIMEOUT_S = 10.0
"""Wait for the device to exit after SIGTERM before it is killed, in seconds."""


@dataclass(frozen=True)
class SimulatorEndpoints:
    adb: str
    stream: str
    faults: str
    controls: dict[str, str] = field(default_factory=dict)
    """Other control endpoints by transport kind (lirc, itach, serial_lg, roku_ecp, ...)."""
    unavailable: dict[str, str] = field(default_factory=dict)
    """Transport kind -> why the virtual device could not offer it here (e.g. no lircd)."""


class VirtualDeviceProcess:
    """``python -m devices.simulator`` in a child process; its output is kept for evidence."""

    def __init__(
        self,
        size: str = "640x360",
        fps: int = 25,
        faults: str = "",
        pulse_sink: str = "",
        env: dict[str, str] | None = None,
    ) -> None:
        """``pulse_sink``: also play the sound there (``env`` names the server)."""
        self.args = [sys.executable, "-m", "devices.simulator", "--size", size, "--fps", str(fps)]
        if faults:
            self.args += ["--faults", faults]
        if pulse_sink:
            self.args += ["--pulse-sink", pulse_sink]
        self.env = env
        self.output: deque[str] = deque(maxlen=500)
        self._process: subprocess.Popen[str] | None = None
        self.endpoints: SimulatorEndpoints | None = None

    def start(self, timeout_s: float = 90.0) -> SimulatorEndpoints:
        """Start the device and wait for its endpoints; InfrastructureError if it fails."""
        self._process = start_tied(
            self.args,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            env=self.env,
        )
        ready = threading.Event()

        def pump() -> None:
            assert self._process is not None and self._process.stdout is not None
            for line in self._process.stdout:
                self.output.append(line.rstrip())
                if line.startswith(READY_MARKER):
                    data = json.loads(line[len(READY_MARKER) :])
                    self.endpoints = SimulatorEndpoints(
                        data["adb"],
                        data["stream"],
                        data["faults"],
                        data.get("controls", {}),
                        data.get("unavailable", {}),
                    )
                    ready.set()

        threading.Thread(target=pump, name="virtual-device-output", daemon=True).start()
        deadline = time.monotonic() + timeout_s
        while not ready.wait(0.1):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = " | ".join(list(self.output)[-3:]) or "no output"
                raise InfrastructureError(f"virtual device did not start: {tail}")
        assert self.endpoints is not None
        return self.endpoints

    def stop(self) -> None:
        """Stop the device (SIGTERM, then SIGKILL after ``STOP_TIMEOUT_S``) and reap it."""
        stop_process(self._process, timeout_s=STOP_TIMEOUT_S)

"""Starting and stopping the virtual device as a separate process for a test session."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass

from devices.simulator.serve import READY_MARKER
from harness.errors import InfrastructureError


@dataclass(frozen=True)
class SimulatorEndpoints:
    adb: str
    stream: str
    faults: str


class VirtualDeviceProcess:
    """``python -m devices.simulator`` in a child process; its output is kept for evidence."""

    def __init__(self, size: str = "640x360", fps: int = 25, faults: str = "") -> None:
        self.args = [sys.executable, "-m", "devices.simulator", "--size", size, "--fps", str(fps)]
        if faults:
            self.args += ["--faults", faults]
        self.output: deque[str] = deque(maxlen=500)
        self._process: subprocess.Popen[str] | None = None
        self.endpoints: SimulatorEndpoints | None = None

    def start(self, timeout_s: float = 90.0) -> SimulatorEndpoints:
        """Start the device and wait for its endpoints; InfrastructureError if it fails."""
        self._process = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        ready = threading.Event()

        def pump() -> None:
            assert self._process is not None and self._process.stdout is not None
            for line in self._process.stdout:
                self.output.append(line.rstrip())
                if line.startswith(READY_MARKER):
                    data = json.loads(line[len(READY_MARKER) :])
                    self.endpoints = SimulatorEndpoints(data["adb"], data["stream"], data["faults"])
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
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(5)

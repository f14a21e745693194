"""The virtual device's sound on a PulseAudio sink, as a set-top box's HDMI audio reaches a
lab's sound card: ``pacat`` plays each output frame's audio as the picture is streamed.

The server comes from ``PULSE_SERVER`` (see ``harness/pulse_server.py``); the audio is float32
stereo at 48 kHz. ``latency_ms`` is what pacat asks the server to buffer: a larger buffer
survives a busy machine without gaps, and adds a constant delay that ``onglass calibrate --av``
measures.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess

import numpy as np

from devices.simulator.content import AUDIO_RATE


class PulseAudioOutput:
    """A ``pacat --playback`` child fed one frame's audio at a time."""

    def __init__(self, sink: str, latency_ms: int = 200) -> None:
        binary = shutil.which("pacat")
        if binary is None:
            raise RuntimeError("pacat not installed (apt-get install pulseaudio-utils)")
        self._process = subprocess.Popen(
            [
                binary, "--playback", f"--device={sink}", "--format=float32le",
                f"--rate={AUDIO_RATE}", "--channels=2", f"--latency-msec={latency_ms}",
                "--client-name=onglass-virtual-device", "--stream-name=hdmi-audio",
            ],
            stdin=subprocess.PIPE,
        )  # fmt: skip

    def write(self, audio: np.ndarray) -> None:
        """Play float32 (samples, 2) ``audio`` after what was written before."""
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(np.ascontiguousarray(audio, np.float32).tobytes())
            self._process.stdin.flush()
        except BrokenPipeError:
            pass  # the server went away: the picture goes on, the capture sees no sound

    def close(self) -> None:
        if self._process.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self._process.stdin.close()
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(5)

"""The virtual device's sound on a PulseAudio sink, as a set-top box's HDMI audio reaches a
lab's sound card: ``pacat`` plays each output frame's audio as the picture is streamed.

The server comes from ``PULSE_SERVER`` (see ``harness/pulse_server.py``); the audio is float32
stereo at 48 kHz. ``latency_ms`` is what pacat asks the server to buffer: a larger buffer
survives a busy machine without gaps, and adds a constant delay that ``onglass calibrate --av``
measures.

The render loop never waits for PulseAudio: ``write`` puts the frame's sound on a bounded queue
(``QUEUE_S`` seconds) that a writer thread feeds to pacat. A stalled server fills the queue;
further sound is then dropped and counted (``dropped_s``), so the picture keeps its pace (a
frozen picture would be blamed on the device) and the sound has a gap instead.

The chain's delay stays what a device's would be: short and the same all session. Sound that
waited longer than ``MAX_WAIT_S`` for pacat (pacat starting up, a stalled server) is dropped,
not queued, and the pipe to pacat holds ``PIPE_BYTES`` only, so no backlog builds up ahead of
pacat's own buffer (``latency_ms``). A backlog would add its length to the delay for the rest
of the session: seconds on a busy machine, more than half the marker period of a sync title.
"""

from __future__ import annotations

import contextlib
import fcntl
import queue
import shutil
import subprocess
import sys
import threading
import time

import numpy as np

from devices.child_process import start_tied, stop_process
from devices.simulator.content import AUDIO_RATE

QUEUE_S = 1.0
"""Seconds of sound the queue holds while pacat takes nothing (a stalled server); new sound
beyond it is dropped at once (``dropped_s``). What waits there longer than ``MAX_WAIT_S`` is
dropped when pacat takes sound again, so this only bounds the memory a stall uses."""
MAX_WAIT_S = 0.15
"""Seconds a frame's sound may wait for pacat; older sound is dropped (``dropped_s``)."""
PIPE_BYTES = 4096
"""Size of the pipe to pacat (Linux ``F_SETPIPE_SZ``; the default 64 KiB is 170 ms of sound)."""


class PulseAudioOutput:
    """A ``pacat --playback`` child fed from a bounded queue by its own thread.

    Create it from a thread that lives as long as the output (pacat is tied to that thread:
    ``devices.child_process``); RuntimeError if pacat is not installed.
    """

    def __init__(self, sink: str, latency_ms: int = 200) -> None:
        binary = shutil.which("pacat")
        if binary is None:
            raise RuntimeError("pacat not installed (apt-get install pulseaudio-utils)")
        self._process = start_tied(
            [
                binary, "--playback", f"--device={sink}", "--format=float32le",
                f"--rate={AUDIO_RATE}", "--channels=2", f"--latency-msec={latency_ms}",
                "--client-name=onglass-virtual-device", "--stream-name=hdmi-audio",
            ],
            stdin=subprocess.PIPE,
        )  # fmt: skip
        assert self._process.stdin is not None
        with contextlib.suppress(OSError):  # an older kernel keeps its default size
            fcntl.fcntl(self._process.stdin.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        self._queue: queue.Queue[tuple[float, bytes]] = queue.Queue()
        self._queued_samples = 0
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self.dropped_s = 0.0
        """Seconds of sound dropped because pacat did not take it in time (while it starts,
        and while the server stalls)."""
        self._writer = threading.Thread(target=self._feed, name="pacat-writer", daemon=True)
        self._writer.start()

    def write(self, audio: np.ndarray) -> None:
        """Queue float32 (samples, 2) ``audio`` to play after what was written before; never
        blocks (a full queue drops it, as pacat does sound that waited longer than
        ``MAX_WAIT_S``; both counted in ``dropped_s``)."""
        with self._lock:
            if self._queued_samples + len(audio) > QUEUE_S * AUDIO_RATE:
                self.dropped_s += len(audio) / AUDIO_RATE
                return
            self._queued_samples += len(audio)
        self._queue.put((time.monotonic(), np.ascontiguousarray(audio, np.float32).tobytes()))

    def _feed(self) -> None:
        assert self._process.stdin is not None
        frame_bytes = 2 * 4
        while True:
            try:
                queued_at, data = self._queue.get(timeout=0.1)
            except queue.Empty:
                if self._closing.is_set():
                    return
                continue
            samples = len(data) // frame_bytes
            with self._lock:
                self._queued_samples -= samples
                if time.monotonic() - queued_at > MAX_WAIT_S:
                    self.dropped_s += samples / AUDIO_RATE
                    continue
            try:
                self._process.stdin.write(data)
                self._process.stdin.flush()
            except (BrokenPipeError, ValueError, OSError):
                return  # the server (or pacat) went away: the picture goes on without sound

    def close(self) -> None:
        """Play what is queued (at most ``QUEUE_S`` more), then end pacat (SIGTERM, then SIGKILL)
        and say on stderr how much sound was dropped, if any."""
        self._closing.set()
        self._writer.join(QUEUE_S + 1.0)
        if not self._writer.is_alive():  # else it is stuck in a write: end pacat first
            self._close_stdin()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(1.0)  # pacat plays what it has and exits on end of input
        stop_process(self._process)
        self._writer.join(1.0)
        self._close_stdin()
        if self.dropped_s:
            print(
                f"pulse output: {self.dropped_s:.2f} s of sound dropped (pacat starting, or"
                " PulseAudio stalled)",
                file=sys.stderr,
            )

    def _close_stdin(self) -> None:
        if self._process.stdin is not None:
            with contextlib.suppress(BrokenPipeError, ValueError, OSError):
                self._process.stdin.close()

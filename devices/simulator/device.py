"""The virtual device as a whole: app + HDMI output loop + ADB endpoint."""

from __future__ import annotations

import random
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from devices.simulator.adbd import AdbDaemon
from devices.simulator.app import VirtualApp
from devices.simulator.content import default_titles
from devices.simulator.controls import ControlEndpoints
from devices.simulator.faults import FaultSchedule
from devices.simulator.hdmi_out import MpegTsOutput
from devices.simulator.pulse_out import PulseAudioOutput
from devices.simulator.shell import DeviceShell


@dataclass(frozen=True)
class SimulatorConfig:
    """How a virtual device is set up.

    Attributes:
        width, height: output picture size in pixels.
        fps: output frame rate in frames per second.
        faults: the fault schedule (times from the start of playback).
        adb_port: TCP port of the ADB endpoint on 127.0.0.1 (0 picks a free one).
        stream_port: UDP port on 127.0.0.1 the MPEG-TS goes to (0 picks a free one).
        pulse_sink: also play the sound into this PulseAudio sink ("" = no).
    """

    width: int = 640
    height: int = 360
    fps: int = 25
    faults: FaultSchedule = FaultSchedule()
    adb_port: int = 0
    stream_port: int = 0
    pulse_sink: str = ""


EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
"""Where Linux keeps the range of ports it hands out as automatic source ports."""


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that nothing is bound to right now, chosen at random *below* the
    kernel's ephemeral range (16384 up to its start, 32768 by default).

    A port from inside that range can be handed out again as the automatic source port of
    another socket, such as a stream sender's, after it was probed; the capture then cannot
    bind it ("Address already in use") for as long as that socket lives. Ports below the range
    are never given out automatically.
    """
    try:
        low = int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    rng = random.Random()
    for _ in range(500):
        port = rng.randrange(16384, max(low, 16385))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise OSError(f"no free UDP port on 127.0.0.1 between 16384 and {low}")


class VirtualDevice:
    """A running virtual device: renders in real time, streams, answers ADB."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        titles = default_titles(config.width, config.height)
        self.app = VirtualApp(titles, config.faults, config.width, config.height, config.fps)
        self.adbd = AdbDaemon(DeviceShell(self.app), port=config.adb_port)
        self.controls = ControlEndpoints(self.app)
        """IR, serial, Roku ECP and CEC endpoints (``controls.endpoints``)."""
        port = config.stream_port or free_udp_port()
        self.stream_url = f"udp://127.0.0.1:{port}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.late_frames = 0

    @property
    def adb_address(self) -> str:
        return self.adbd.address

    def start(self) -> None:
        """Start the ADB endpoint and the real-time output loop."""
        # the sound output first: if it cannot start (no pacat), nothing else has started
        pulse = PulseAudioOutput(self.config.pulse_sink) if self.config.pulse_sink else None
        try:
            self.adbd.start()
            self.controls.start()
            output = MpegTsOutput(
                f"{self.stream_url}?pkt_size=1316",
                self.config.width,
                self.config.height,
                self.config.fps,
            )
        except BaseException:
            if pulse is not None:
                pulse.close()
            raise
        self._thread = threading.Thread(
            target=self._run, args=(output, pulse), name="hdmi-out", daemon=True
        )
        self._thread.start()

    def _run(self, output: MpegTsOutput, pulse: PulseAudioOutput | None) -> None:
        interval = 1.0 / self.config.fps
        deadline = time.monotonic()
        try:
            while not self._stop.is_set():
                image, audio = self.app.render()
                output.write(image, audio)
                if pulse is not None:
                    pulse.write(audio)
                deadline += interval
                delay = deadline - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                elif delay < -1.0:  # fell far behind (machine overloaded): restart the pace
                    self.late_frames += 1
                    deadline = time.monotonic()
        finally:
            output.close()
            if pulse is not None:
                pulse.close()

    def stop(self) -> None:
        """Stop streaming and close the ADB endpoint."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.controls.stop()
        self.adbd.stop()


def render_playback(
    path: str,
    title: str,
    seconds: float,
    faults: FaultSchedule | None = None,
    config: SimulatorConfig | None = None,
) -> None:
    """Write ``seconds`` of the player playing ``title`` (with ``faults``) to an MPEG-TS file.

    Renders as fast as the machine allows, not in real time: for test media and corpora.
    """
    config = config or SimulatorConfig()
    app = VirtualApp(
        default_titles(config.width, config.height),
        faults or FaultSchedule(),
        config.width,
        config.height,
        config.fps,
    )
    names = [t.name for t in app.titles]
    if title not in names:
        raise ValueError(f"unknown title {title!r} (known: {', '.join(names)})")
    app.launch()
    for _ in range(names.index(title)):
        app.press("DOWN")
    app.press("OK")
    app.press("PLAY")
    output = MpegTsOutput(path, config.width, config.height, config.fps)
    try:
        for _ in range(round(seconds * config.fps)):
            output.write(*app.render())
    finally:
        output.close()

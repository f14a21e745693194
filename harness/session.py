"""A rig brought to life: the virtual device started (if any), the device connected,
and fresh captures and detectors made on request for each test."""

from __future__ import annotations

from pathlib import Path

from detectors.protocol import Detector
from detectors.registry import build_detectors
from devices.device import Device
from devices.profiles.android_tv import keycode
from devices.transports.adb import AdbTransport
from harness.capture import Capture, FileCapture, StreamCapture
from harness.rig import AUTO, Rig
from harness.virtual_device import VirtualDeviceProcess


class RigSession:
    """Everything a test session needs from one rig; ``close()`` releases it all."""

    def __init__(self, rig: Rig, sim_faults: str | None = None) -> None:
        self.rig = rig
        self.simulator: VirtualDeviceProcess | None = None
        self._transport: AdbTransport | None = None
        self.facts: dict[str, str] = {}
        """Model, firmware and app version the device reported when the session started."""
        adb_address, stream_url = rig.device.transport.address, rig.capture.url
        if rig.simulator is not None:
            faults = rig.simulator.faults if sim_faults is None else sim_faults
            self.simulator = VirtualDeviceProcess(rig.simulator.size, rig.simulator.fps, faults)
            endpoints = self.simulator.start()
            adb_address = endpoints.adb if adb_address == AUTO else adb_address
            stream_url = endpoints.stream if stream_url == AUTO else stream_url
        self.stream_url = stream_url
        try:  # whatever fails, the virtual device started above is stopped again
            self._transport = AdbTransport(adb_address, timeout_s=rig.device.transport.timeout_s)
            self.device = Device(self._transport, keycode, rig.device.app)
            self._transport.connect()
            self.facts = self.device.describe()
        except Exception:
            self.close()
            raise

    def new_capture(self, record_to: Path | None) -> Capture:
        """A capture of the rig's source, recording to ``record_to`` (stream backend)."""
        config = self.rig.capture
        if config.backend == "file":
            return FileCapture(config.url, realtime=True)
        return StreamCapture(
            self.stream_url,
            record_to=record_to,
            read_timeout_s=config.read_timeout_s,
            stall_threshold_s=self.rig.monitor.max_stall_s,
        )

    def new_detectors(self) -> list[Detector]:
        """Fresh detectors with the rig's thresholds."""
        return build_detectors(list(self.rig.detectors), self.rig.detectors)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
        if self.simulator is not None:
            self.simulator.stop()

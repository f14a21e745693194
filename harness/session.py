"""A rig brought to life: the virtual device started (if any), the device connected,
and fresh captures and detectors made on request for each test."""

from __future__ import annotations

from pathlib import Path

from detectors.protocol import Detector
from detectors.registry import build_detectors
from devices.device import Device
from devices.transports.serial_console import SerialConsole
from harness.capture import Capture, FileCapture, StreamCapture
from harness.capture.card import CardCapture, CardMode
from harness.capture.sounddevice_audio import VideoWithDeviceAudio
from harness.control import DeviceLinks, connect_device, for_transport
from harness.rig import AUTO, Rig
from harness.virtual_device import VirtualDeviceProcess


class RigSession:
    """Everything a test session needs from one rig; ``close()`` releases it all."""

    def __init__(
        self, rig: Rig, sim_faults: str | None = None, transport: str | None = None
    ) -> None:
        """``transport``: drive the virtual device over this kind instead (``--transport``)."""
        if transport is not None and rig.simulator is None:
            raise ValueError("--transport only applies to a virtual rig")
        self.rig = rig
        self.simulator: VirtualDeviceProcess | None = None
        self._links: list[DeviceLinks] = []
        self.endpoints = None
        self.console: SerialConsole | None = None
        """The device's debug console capture, if the rig has one."""
        self.lease = None
        """The device lease held for this session (set by the pytest plugin), if any."""
        self.facts: dict[str, str] = {}
        """Model, firmware and app version the device reported when the session started."""
        stream_url = rig.capture.url
        if rig.simulator is not None:
            faults = rig.simulator.faults if sim_faults is None else sim_faults
            self.simulator = VirtualDeviceProcess(
                rig.simulator.size, rig.simulator.fps, faults, rig.simulator.pulse_sink
            )
            self.endpoints = self.simulator.start()
            stream_url = self.endpoints.stream if stream_url == AUTO else stream_url
        self.stream_url = stream_url
        try:  # whatever fails, the virtual device started above is stopped again
            config = for_transport(rig.device, transport) if transport else rig.device
            links = connect_device(config, self.endpoints)
            self._links.append(links)
            self.device = links.device
            self.console = links.console
            self.facts = self.device.describe()
        except Exception:
            self.close()
            raise

    def device_over(self, kind: str) -> Device:
        """The virtual device driven over transport ``kind``, sharing the key log listeners."""
        if self.endpoints is None:
            raise ValueError("device_over needs the virtual device")
        for links in self._links:
            if links.device.transport.kind == kind:
                return links.device
        config = for_transport(self.rig.device, kind)
        links = connect_device(config, self.endpoints, with_console=False)
        self._links.append(links)
        links.device.key_listeners = self.device.key_listeners
        links.device.step = self.device.step
        return links.device

    def new_capture(self, record_to: Path | None) -> Capture:
        """A capture of the rig's source, recording to ``record_to`` (stream and card
        backends; with a sound device, its sound also goes to a WAV file beside it)."""
        config = self.rig.capture
        if config.backend == "file":
            return FileCapture(config.url, realtime=True)
        if config.backend == "card":
            card = config.card
            assert card is not None
            return CardCapture(
                card.video,
                CardMode(card.fourcc, card.width, card.height, card.fps),
                audio_device=card.audio,
                stall_threshold_s=self.rig.monitor.max_stall_s,
                read_timeout_s=config.read_timeout_s,
                record_to=record_to,
            )
        stream = StreamCapture(
            self.stream_url,
            record_to=record_to,
            read_timeout_s=config.read_timeout_s,
            stall_threshold_s=self.rig.monitor.max_stall_s,
        )
        if config.audio_device:  # the picture from the stream, the sound from a sound device
            return VideoWithDeviceAudio(stream, config.audio_device)
        return stream

    def new_detectors(self) -> list[Detector]:
        """Fresh detectors with the rig's thresholds (``rig_detectors``)."""
        return rig_detectors(self.rig)

    def close(self) -> None:
        for links in self._links:
            links.close()
        if self.simulator is not None:
            self.simulator.stop()


def rig_detectors(rig: Rig) -> list[Detector]:
    """Fresh detectors with ``rig``'s thresholds (``av_sync`` gets the rig's calibrated
    ``capture.av_offset_ms`` unless its own ``calibration_ms`` is set)."""
    settings = dict(rig.detectors)
    if "av_sync" in settings and rig.capture.av_offset_ms:
        av_sync = {"calibration_ms": rig.capture.av_offset_ms}
        settings["av_sync"] = {**av_sync, **(settings["av_sync"] or {})}
    return build_detectors(list(settings), settings)

"""From a rig's ``device`` section to a connected ``Device``: key transport, status link, console.

For the virtual device, ``auto`` addresses are taken from the endpoints it reported, and the
ADB endpoint doubles as the status link when keys go over a transport with no back channel
(IR, serial, CEC), the way a lab pairs an IR blaster with ADB or a debug console.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, replace

from devices.device import Device
from devices.profiles.catalog import PROFILE_FOR_TRANSPORT, keymap
from devices.transports.base import Transport, TransportError
from devices.transports.factory import build_transport
from devices.transports.serial_console import SerialConsole
from harness.rig import AUTO, DeviceConfig, TransportConfig
from harness.virtual_device import SimulatorEndpoints

VIRTUAL_OPTIONS = {
    "cec": {"client": "python -m devices.simulator.cec_sim"},
    "roku_ecp": {"app_id": "dev"},
}
"""Transport options the virtual device needs: a stand-in for the missing CEC adapter's
client, and its Roku channel id (a sideloaded developer channel is ``dev``)."""


@dataclass
class DeviceLinks:
    """A connected device and everything to close with it."""

    device: Device
    transports: list[Transport] = field(default_factory=list)
    console: SerialConsole | None = None

    def close(self) -> None:
        """Stop the console capture and close every transport (errors while closing ignored)."""
        if self.console is not None:
            self.console.stop()
        for transport in self.transports:
            with contextlib.suppress(TransportError, OSError):
                transport.close()


def _resolve(config: TransportConfig, endpoints: SimulatorEndpoints | None) -> TransportConfig:
    if config.address != AUTO:
        return config
    if endpoints is None:
        raise ValueError(f"{config.kind}: address 'auto' needs the virtual device")
    address = endpoints.adb if config.kind == "adb" else endpoints.controls.get(config.kind)
    if address is None:
        why = endpoints.unavailable.get(config.kind, "the virtual device has no such endpoint")
        raise TransportError(f"{config.kind}: not available on the virtual device here: {why}")
    options = {**VIRTUAL_OPTIONS.get(config.kind, {}), **config.options}
    return replace(config, address=address, options=options)


def for_transport(config: DeviceConfig, kind: str) -> DeviceConfig:
    """``config`` driven over ``kind`` on the virtual device (the ``--transport`` option)."""
    if kind == config.transport.kind:
        return config
    profile = PROFILE_FOR_TRANSPORT[kind]
    transport = TransportConfig(kind, AUTO, config.transport.timeout_s)
    return replace(config, profile=profile, transport=transport)


def _build(transport: TransportConfig, profile: str) -> Transport:
    """The (unconnected) transport a rig's ``transport`` section describes."""
    return build_transport(
        transport.kind,
        transport.address,
        timeout_s=transport.timeout_s,
        profile=profile,
        options=transport.options,
    )


def connect_device(
    config: DeviceConfig, endpoints: SimulatorEndpoints | None, with_console: bool = True
) -> DeviceLinks:
    """Build and connect the device's transports (and start its console capture unless
    ``with_console`` is False); the caller closes the result."""
    key_config = _resolve(config.transport, endpoints)
    key_link = _build(key_config, config.profile)
    codes = keymap(config.profile, key_config.kind, key_config.options.get("remote"))
    links = DeviceLinks(Device(key_link, codes, config.app))
    links.transports.append(key_link)
    try:
        status_config = config.status
        if status_config is None and endpoints is not None and key_config.kind != "adb":
            status_config = TransportConfig("adb", endpoints.adb, key_config.timeout_s)
        if status_config is not None:
            status = _build(_resolve(status_config, endpoints), config.profile)
            links.transports.append(status)
            links.device.status = status
            status.connect()
        key_link.connect()
        console_port = config.console.port if config.console else None
        if console_port == AUTO or (console_port is None and endpoints is not None):
            console_port = endpoints.controls.get("console") if endpoints else None
        if console_port and with_console:
            baud = config.console.baud if config.console else 115200
            links.console = SerialConsole(console_port, baud=baud, timeout_s=key_config.timeout_s)
            links.console.start()
    except BaseException:
        links.close()
        raise
    return links

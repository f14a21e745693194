"""Control transports: how the harness talks to a device (ADB, IR, serial, ...)."""

from devices.transports.base import Transport, TransportError

__all__ = ["Transport", "TransportError"]

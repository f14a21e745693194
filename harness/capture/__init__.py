"""Capture backends: where the device's picture and sound come from."""

from harness.capture.base import Capture
from harness.capture.file import FileCapture
from harness.capture.stream import StreamCapture

__all__ = ["Capture", "FileCapture", "StreamCapture"]

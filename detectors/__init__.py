"""Pure A/V defect detectors: fed frames and audio chunks in time order, they return events.

Nothing here knows about devices, pytest or reports; the same objects run live inside a test
(through the harness's monitor) and offline on a file (``onglass analyze``).
"""

from detectors.event import Event
from detectors.media import AudioChunk, VideoFrame
from detectors.protocol import Detector

__all__ = ["AudioChunk", "Detector", "Event", "VideoFrame"]

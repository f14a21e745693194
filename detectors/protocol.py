"""The streaming detector protocol."""

from __future__ import annotations

from typing import ClassVar, Protocol, runtime_checkable

from detectors.event import Event
from detectors.media import AudioChunk, VideoFrame


@runtime_checkable
class Detector(Protocol):
    """A streaming detector.

    The caller feeds it the media kinds named in ``consumes`` in time order, one item at a
    time; each call returns the events that *finished* with that item. ``flush`` ends the
    stream and returns the events still open. A detector keeps no reference to the caller
    and is used from one thread at a time.
    """

    name: ClassVar[str]
    consumes: ClassVar[frozenset[str]]  # subset of {"video", "audio"}

    def feed(self, item: VideoFrame | AudioChunk) -> list[Event]: ...

    def flush(self) -> list[Event]: ...

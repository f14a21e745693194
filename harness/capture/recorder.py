"""Writes a capture to disk as it arrives, so a crash keeps everything captured so far.

Packets are remuxed, not re-encoded, into MPEG-TS: a format with no index or trailer, so a
file cut off by a killed process still decodes up to its last complete packet. Each packet
is flushed to the file as soon as it is written.
"""

from __future__ import annotations

from pathlib import Path

import av


class Recorder:
    """Remuxes the packets of one input's video and audio streams into an MPEG-TS file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._container = av.open(
            str(self.path), mode="w", format="mpegts", options={"flush_packets": "1"}
        )
        self._streams: dict[int, av.stream.Stream] = {}

    def add_stream(self, template: av.stream.Stream) -> None:
        """Record the input stream ``template`` (same index on every later reopen)."""
        if template.index not in self._streams:
            self._streams[template.index] = self._container.add_stream_from_template(template)

    def write(self, packet: av.Packet) -> None:
        """Append ``packet`` (of a stream added before) to the file."""
        out = self._streams.get(packet.stream.index)
        if out is None or packet.dts is None or packet.size == 0:
            return
        packet.stream = out
        self._container.mux(packet)

    def close(self) -> None:
        self._container.close()

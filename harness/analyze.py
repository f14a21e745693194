"""Offline analysis of a recording or any media file with the configured detectors."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import av

from detectors.media import AudioChunk, VideoFrame
from detectors.protocol import Detector
from harness.capture.file import FileCapture
from harness.capture.pyav_source import PyAVSource
from harness.errors import MediaError

Progress = Callable[[float, float | None], None]
"""Called as ``progress(media_seconds_done, media_seconds_total_or_None)``."""


def describe_media(path: str) -> dict[str, Any]:
    """Container, duration and stream facts of a media file (MediaError if unreadable)."""
    container = PyAVSource(path).open()
    try:
        media: dict[str, Any] = {
            "path": path,
            "format": container.format.name,
            "duration_s": None
            if container.duration is None
            else round(container.duration / av.time_base, 3),
        }
        if container.streams.video:
            v = container.streams.video[0]
            rate = v.average_rate or v.guessed_rate
            media["video"] = {
                "codec": v.codec_context.name,
                "width": v.codec_context.width,
                "height": v.codec_context.height,
                "fps": None if rate is None else round(float(rate), 3),
            }
        if container.streams.audio:
            a = container.streams.audio[0]
            media["audio"] = {
                "codec": a.codec_context.name,
                "rate": a.codec_context.sample_rate,
                "channels": len(a.codec_context.layout.channels),
            }
        return media
    finally:
        container.close()


def _decoded_ahead(capture: FileCapture, depth: int = 64) -> Iterator[VideoFrame | AudioChunk]:
    """``capture.items()`` decoded on a second thread while the caller runs the detectors
    (decoding and the detectors overlap on two cores); errors surface in the caller."""
    items: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def decode() -> None:
        try:
            for item in capture.items():
                if stop.is_set():
                    return
                items.put(item)
            items.put(done)
        except BaseException as error:  # handed to the caller, re-raised there
            items.put(error)

    thread = threading.Thread(target=decode, name="analyze-decode", daemon=True)
    thread.start()
    try:
        while (item := items.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                items.get_nowait()
            thread.join(0.01)


def analyze_file(
    path: str, detectors: list[Detector], progress: Progress | None = None
) -> tuple[dict[str, Any], list, dict[str, Any]]:
    """Run ``detectors`` over every frame and chunk of ``path``.

    Returns (media description, events, stats). Raises MediaError on unreadable input.
    """
    media = describe_media(path)
    capture = FileCapture(path)
    total = media.get("duration_s")
    events = []
    started = time.perf_counter()
    last_report = started
    media_t = 0.0
    for item in _decoded_ahead(capture):
        kind = "video" if isinstance(item, VideoFrame) else "audio"
        for detector in detectors:
            if kind in detector.consumes:
                events.extend(detector.feed(item))
        media_t = max(media_t, item.t)
        if progress is not None and time.perf_counter() - last_report > 2.0:
            last_report = time.perf_counter()
            progress(media_t, total)
    for detector in detectors:
        events.extend(detector.flush())
    elapsed = time.perf_counter() - started
    health = capture.health
    stats = {
        "video_frames": health.video_frames,
        "audio_chunks": health.audio_chunks,
        "missing_frames": health.missing_frames,
        "decode_errors": health.decode_errors,
        "detectors": [d.name for d in detectors],
        "analysis_s": round(elapsed, 3),
        "speed_x_realtime": None if elapsed == 0 else round(media_t / elapsed, 2),
    }
    if health.video_frames == 0 and health.audio_chunks == 0:
        raise MediaError(f"{path}: no decodable video or audio")
    return media, events, stats

"""Evidence a QA engineer can look at: frame strips, short clips with sound, timeline plots.

Pictures and clips are cut from the test's recording (the capture as it arrived, on disk),
so evidence exists for any moment of the test, not only the last seconds. Times are seconds
on the capture timeline; ``origin_s`` is where that timeline starts in the recording's own
timestamps. Sizes are bounded: strips are 5 frames of at most 320 pixels wide, clips at most
``MAX_CLIP_S`` seconds at 480 pixels wide, timelines 1200 x (lanes) pixels.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction

import av
import cv2
import numpy as np

from detectors.event import Event

MAX_CLIP_S = 12.0
"""Longest evidence clip in seconds; longer events are clipped around their start."""
CLIP_WIDTH = 480
"""Width in pixels of evidence clips."""
CLIP_TICKS = 1000
"""Clip timestamps are in milliseconds, so any capture frame rate keeps its own timing."""
STRIP_FRAME_WIDTH = 320
"""Width in pixels of each frame in a frame strip."""

COLOURS = {  # BGR
    "defect": (40, 40, 220),
    "expected": (60, 170, 60),
    "outside playback": (150, 150, 150),
}


@dataclass(frozen=True)
class Span:
    """A labelled span of capture time in seconds (an expected window, a watch period)."""

    start: float
    end: float
    label: str = ""


def _seek(container: av.container.InputContainer, seconds: float) -> None:
    stream = container.streams.video[0]
    target = max(0.0, seconds - 1.0)
    container.seek(int(target / stream.time_base), stream=stream, backward=True, any_frame=False)


def _decode(
    recording: str, origin_s: float, start: float, end: float, audio: bool = False
) -> Iterator[tuple[float, av.VideoFrame | av.AudioFrame]]:
    """(capture time, frame) of the recording's frames between ``start`` and ``end`` seconds."""
    with av.open(recording) as container:
        _seek(container, origin_s + start)
        streams = [container.streams.video[0]]
        if audio and container.streams.audio:
            streams.append(container.streams.audio[0])
        for packet in container.demux(streams):
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                continue
            for frame in frames:
                if frame.time is None:
                    continue
                t = float(frame.time) - origin_s
                if t > end and isinstance(frame, av.VideoFrame):
                    return
                if t >= start:
                    yield t, frame


def frame_strip(recording: str, origin_s: float, event: Event, before_s: float = 1.0) -> bytes:
    """PNG: frames before, at the start, inside, at the end and after ``event``, labelled."""
    last = event.end - 0.001
    wanted = [
        ("before", event.start - before_s),
        ("start", event.start),
        ("middle", (event.start + last) / 2),
        ("end", last),
        ("after", event.end + before_s),
    ]
    frames: list[tuple[float, np.ndarray]] = []
    for t, frame in _decode(recording, origin_s, wanted[0][1] - 0.1, wanted[-1][1] + 0.1):
        frames.append((t, frame.to_ndarray(format="bgr24")))
    if not frames:
        raise ValueError(
            f"{recording}: no frames between {wanted[0][1]:.2f} and {wanted[-1][1]:.2f} s"
        )
    inside = [f for f in frames if event.start - 0.001 <= f[0] < event.end] or frames
    tiles = []
    for label, t in wanted:
        pool = inside if label in ("start", "middle", "end") else frames
        shown_t, image = min(pool, key=lambda f: abs(f[0] - t))
        h, w = image.shape[:2]
        tile = cv2.resize(image, (STRIP_FRAME_WIDTH, round(h * STRIP_FRAME_WIDTH / w)))
        cv2.rectangle(tile, (0, 0), (STRIP_FRAME_WIDTH, 22), (0, 0, 0), -1)
        text = f"{label} {shown_t:.2f} s"
        cv2.putText(
            tile, text, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA
        )
        tiles.append(tile)
    strip = cv2.hconcat([cv2.copyMakeBorder(t, 0, 0, 0, 4, cv2.BORDER_CONSTANT) for t in tiles])
    return _png(strip)


def clip(
    recording: str, origin_s: float, event: Event, pre_s: float = 2.0, post_s: float = 2.0
) -> bytes:
    """MP4 (H.264 + AAC) of the event with ``pre_s`` / ``post_s`` seconds around it."""
    start = max(0.0, event.start - pre_s)
    end = min(event.end + post_s, start + MAX_CLIP_S)
    buffer = io.BytesIO()
    out = av.open(buffer, mode="w", format="mp4")
    video = audio = resampler = None
    try:
        for t, frame in _decode(recording, origin_s, start, end, audio=True):
            if isinstance(frame, av.VideoFrame):
                if video is None:
                    height = round(frame.height * CLIP_WIDTH / frame.width / 2) * 2
                    video = out.add_stream(
                        "libx264", rate=CLIP_TICKS, options={"preset": "veryfast", "crf": "28"}
                    )
                    video.width, video.height, video.pix_fmt = CLIP_WIDTH, height, "yuv420p"
                    video.codec_context.time_base = Fraction(1, CLIP_TICKS)
                small = frame.reformat(width=video.width, height=video.height, format="yuv420p")
                small.pts = round((t - start) * CLIP_TICKS)  # the capture's own frame times
                small.time_base = Fraction(1, CLIP_TICKS)
                for packet in video.encode(small):
                    out.mux(packet)
            elif video is not None and t <= end:
                if audio is None:
                    audio = out.add_stream("aac", rate=48000, layout="stereo")
                    resampler = av.AudioResampler(format="fltp", layout="stereo", rate=48000)
                for part in resampler.resample(frame):
                    part.pts = None
                    for packet in audio.encode(part):
                        out.mux(packet)
        for stream in (video, audio):
            if stream is not None:
                for packet in stream.encode(None):
                    out.mux(packet)
    finally:
        out.close()
    if video is None:
        raise ValueError(f"{recording}: no frames between {start:.2f} and {end:.2f} s")
    return buffer.getvalue()


def timeline(
    duration_s: float,
    lanes: dict[str, Sequence[tuple[float, float, str]]],
    watch: Sequence[Span] = (),
    expected: Sequence[Span] = (),
    presses: Sequence[tuple[float, str]] = (),
    width: int = 1200,
) -> bytes:
    """PNG: one lane per detector with its events coloured by verdict, playback periods,
    expected windows (hatched) and key presses (ticks) over the whole test."""
    scale = width / 1200
    left, lane_h, top = int(110 * scale), max(14, int(34 * scale)), int(26 * scale)
    rows = max(1, len(lanes))
    height = top + rows * lane_h + int(40 * scale)
    image = np.full((height, width, 3), 255, np.uint8)
    span = max(duration_s, 1e-3)

    def x(t: float) -> int:
        return left + int((width - left - 10) * min(max(t, 0.0), span) / span)

    font, size = cv2.FONT_HERSHEY_SIMPLEX, 0.45 * scale
    for w in watch:
        cv2.rectangle(image, (x(w.start), top - 6), (x(w.end), top - 2), (200, 140, 40), -1)
    for e in expected:
        for xx in range(x(e.start), x(e.end), max(3, int(6 * scale))):
            cv2.line(image, (xx, top), (xx, top + rows * lane_h), (200, 230, 200), 1)
    for row, (name, events) in enumerate(sorted(lanes.items())):
        y = top + row * lane_h
        cv2.line(image, (left, y + lane_h // 2), (width - 10, y + lane_h // 2), (220, 220, 220), 1)
        cv2.putText(image, name, (4, y + lane_h // 2 + 5), font, size, (0, 0, 0), 1, cv2.LINE_AA)
        for start, end, verdict in events:
            colour = COLOURS.get(verdict, (0, 0, 0))
            x0, x1 = x(start), max(x(end), x(start) + 2)
            cv2.rectangle(image, (x0, y + 4), (x1, y + lane_h - 4), colour, -1)
    axis = top + rows * lane_h + 4
    cv2.line(image, (left, axis), (width - 10, axis), (0, 0, 0), 1)
    step = next(s for s in (1, 2, 5, 10, 20, 30, 60, 120, 300, 600) if span / s <= 12)
    for t in np.arange(0, span + 1e-9, step):
        cv2.line(image, (x(t), axis), (x(t), axis + 4), (0, 0, 0), 1)
        label = f"{t:g}s"
        cv2.putText(
            image,
            label,
            (x(t) - 8, axis + int(18 * scale)),
            font,
            size * 0.9,
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
    for t, key in presses:
        cv2.line(image, (x(t), top - 12), (x(t), top + rows * lane_h), (200, 80, 160), 1)
        if scale >= 0.8:
            cv2.putText(
                image, key, (x(t) + 2, top - 12), font, 0.35, (200, 80, 160), 1, cv2.LINE_AA
            )
    return _png(image)


def _png(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise ValueError("could not encode PNG")
    return data.tobytes()

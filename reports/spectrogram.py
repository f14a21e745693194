"""Spectrogram evidence for audio events: a PNG of the sound around the event.

Hum shows as steady lines at 50/60 Hz and their multiples, hiss as a raised floor across
all frequencies, clicks as thin vertical lines, distortion as smeared harmonics up the
spectrum, a dropout as a dark gap. Frequencies run on a logarithmic axis from ``FMIN_HZ``
to half the sample rate, so mains hum is as visible as treble hiss; levels are dB of full
scale from ``FLOOR_DB`` (black) to 0 (yellow). The event's span is marked by white lines.
Times are seconds on the capture timeline.
"""

from __future__ import annotations

import av
import cv2
import numpy as np

from detectors.event import Event

AUDIO_DETECTORS = frozenset({"silence", "audio_artifact", "loudness"})
"""Detectors whose events get a spectrogram in reports."""

FMIN_HZ = 20.0
"""Lowest frequency shown, in Hz."""
FLOOR_DB = -110.0
"""Level in dB of full scale drawn black."""
N_FFT = 2048
HEIGHT = 256
"""Height in pixels of the spectrogram area (without axes)."""
MAX_SPAN_S = 12.0
"""Longest stretch of sound shown, in seconds; longer events are cut around their start."""
_LEFT, _BOTTOM, _TOP = 56, 22, 20


def spectrogram_png(
    samples: np.ndarray,
    rate: int,
    start_t: float = 0.0,
    marks: tuple[float, float] | None = None,
    title: str = "",
    width: int = 800,
) -> bytes:
    """PNG of the spectrogram of ``samples`` ((frames,) or (frames, channels), +-1.0 full
    scale, mixed to mono) starting at capture time ``start_t`` seconds; ``marks``: an event's
    (start, end) in the same seconds."""
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    mono = np.asarray(mono, np.float64)
    hop = max(1, len(mono) // width)
    padded = np.pad(mono, (N_FFT // 2, N_FFT // 2))
    count = max(1, (len(padded) - N_FFT) // hop + 1)
    window = np.hanning(N_FFT)
    index = np.arange(N_FFT)[None, :] + hop * np.arange(count)[:, None]
    spectrum = np.abs(np.fft.rfft(padded[index] * window, axis=1)) * 2.0 / window.sum()
    level = 20.0 * np.log10(np.maximum(spectrum, 1e-12))  # (frames, bins), dBFS
    bins = np.fft.rfftfreq(N_FFT, 1.0 / rate)
    rows = np.geomspace(rate / 2.0, FMIN_HZ, HEIGHT)  # top row = highest frequency
    image = np.stack([np.interp(rows, bins, frame) for frame in level], axis=1)
    scaled = np.clip((image - FLOOR_DB) / -FLOOR_DB * 255.0, 0, 255).astype(np.uint8)
    picture = cv2.applyColorMap(scaled, cv2.COLORMAP_INFERNO)
    picture = cv2.resize(picture, (width, HEIGHT), interpolation=cv2.INTER_NEAREST)
    canvas = np.full((HEIGHT + _TOP + _BOTTOM, width + _LEFT + 8, 3), 255, np.uint8)
    canvas[_TOP : _TOP + HEIGHT, _LEFT : _LEFT + width] = picture
    duration = len(mono) / rate
    font = cv2.FONT_HERSHEY_SIMPLEX

    def x_of(t: float) -> int:
        return _LEFT + int(round((t - start_t) / max(duration, 1e-9) * (width - 1)))

    for hz, label in ((50, "50"), (100, "100"), (1000, "1k"), (10000, "10k")):
        if FMIN_HZ <= hz <= rate / 2:
            y = _TOP + int(np.log(rate / 2 / hz) / np.log(rate / 2 / FMIN_HZ) * (HEIGHT - 1))
            cv2.line(canvas, (_LEFT - 4, y), (_LEFT, y), (0, 0, 0), 1)
            cv2.putText(canvas, f"{label} Hz", (2, y + 4), font, 0.35, (0, 0, 0), 1, cv2.LINE_AA)
    step = max(0.5, float(np.ceil(duration / 8 * 2) / 2))
    for t in np.arange(np.ceil(start_t / step) * step, start_t + duration + 1e-9, step):
        x = x_of(float(t))
        cv2.line(canvas, (x, _TOP + HEIGHT), (x, _TOP + HEIGHT + 4), (0, 0, 0), 1)
        cv2.putText(
            canvas, f"{t:.1f} s", (x - 14, _TOP + HEIGHT + 16), font, 0.35, (0, 0, 0), 1,
            cv2.LINE_AA,
        )  # fmt: skip
    if marks is not None:
        for t in marks:
            if start_t <= t <= start_t + duration:
                cv2.line(canvas, (x_of(t), _TOP), (x_of(t), _TOP + HEIGHT - 1), (255, 255, 255), 1)
    cv2.putText(canvas, title, (_LEFT, 14), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    ok, png = cv2.imencode(".png", canvas)
    if not ok:
        raise ValueError("could not encode the spectrogram as PNG")
    return png.tobytes()


def recorded_audio(
    recording: str, origin_s: float, start: float, end: float
) -> tuple[np.ndarray, int, float]:
    """Audio of ``recording`` between capture times ``start`` and ``end`` seconds: (samples
    (frames, channels) float32, rate, capture time of the first sample). ValueError if the
    recording has no audio there."""
    chunks, rate, first = [], 0, None
    with av.open(recording) as container:
        if not container.streams.audio:
            raise ValueError(f"{recording}: no audio stream for a spectrogram")
        stream = container.streams.audio[0]
        container.seek(max(0, int((origin_s + start - 1.0) / stream.time_base)), stream=stream)
        for frame in container.decode(stream):
            if frame.time is None:
                continue
            t = float(frame.time) - origin_s
            if t > end:
                break
            data = frame.to_ndarray()
            data = (
                data.T if frame.format.is_planar else data.reshape(-1, len(frame.layout.channels))
            )
            if t + frame.samples / frame.sample_rate < start:
                continue
            rate = frame.sample_rate
            first = t if first is None else first
            chunks.append(data.astype(np.float32))
    if not chunks or first is None:
        raise ValueError(f"{recording}: no audio between {start:.2f} and {end:.2f} s")
    samples = np.concatenate(chunks)
    skip = max(0, int(round((start - first) * rate)))
    samples = samples[skip : skip + int(round((end - start) * rate))]
    return samples, rate, first + skip / rate


def event_spectrogram(
    recording: str, origin_s: float, event: Event, context_s: float = 1.0
) -> bytes:
    """PNG spectrogram of ``event``'s sound in ``recording`` with ``context_s`` either side."""
    start = max(0.0, event.start - context_s)
    end = min(event.end + context_s, start + MAX_SPAN_S)
    samples, rate, first = recorded_audio(recording, origin_s, start, end)
    kind = event.details.get("class", "") if isinstance(event.details, dict) else ""
    title = f"{event.detector} {kind} {event.start:.2f}-{event.end:.2f} s".replace("  ", " ")
    return spectrogram_png(samples, rate, first, (event.start, event.end), title)

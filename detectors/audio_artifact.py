"""``audio_artifact``: hum, hiss, distortion and clicks, found by a learned classifier.

Algorithm: the audio (channels averaged to mono) is cut into ``SEGMENT_S`` (1 s) segments
every ``hop_s`` seconds; each is resampled to 16 kHz and classified by ``AudioArtifactNet``
(``detectors/audio_model.py``: log-mel + a small PANNs-style CNN, optionally joined by hum /
hiss / click / clipping features, trained on simulated defects, see
``detectors/models/audio_artifact.md``) as one of none / hum / hiss / distortion / clicks. A
segment is defective when its defect probability (1 - P(none)) is
at least ``threshold``. Consecutive or overlapping defective segments merge into one event
from the first segment's start to the last one's end; its class is the defect class with
the highest mean probability over the run, its score the highest defect probability.
Segments holding digital silence (a 10 ms stretch with RMS below ``silence_below_dbfs``:
a mute, a pause, a dropout, sound starting or stopping) are not classified: silence and its
edges are the ``silence`` detector's business, and an abrupt start of sound is no artifact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from detectors.audio_model import (
    CLASSES,
    DEFAULT_WEIGHTS,
    MODEL_RATE,
    SEGMENT_S,
    AudioModelError,
    load_classifier,
    to_model_rate,
)
from detectors.event import Event
from detectors.media import AudioChunk, VideoFrame
from detectors.settings import require

SILENT_BLOCK = MODEL_RATE // 100
"""Samples (10 ms at the model rate) of the blocks checked for digital silence."""
BATCH_SEGMENTS = 8
"""Segments classified together (one network call); events come at most this late."""


@dataclass(frozen=True)
class AudioArtifactSettings:
    """Settings of the audio-artifact detector."""

    threshold: float = 0.5
    """Defect probability (1 - P(none), 0..1) at or above which a segment is defective."""
    hop_s: float = 0.5
    """Seconds between the starts of consecutive 1 s segments (1.0: no overlap)."""
    silence_below_dbfs: float = -90.0
    """Segments with 10 ms of RMS level below this, in dBFS, are skipped (digital silence)."""
    weights: str = ""
    """Path of the classifier's safetensors file; empty: the shipped model."""

    def __post_init__(self) -> None:
        require(0.0 < self.threshold < 1.0, "threshold", f"must be in (0, 1), got {self.threshold}")
        require(
            0.05 <= self.hop_s <= SEGMENT_S,
            "hop_s",
            f"must be in [0.05, {SEGMENT_S}] seconds, got {self.hop_s}",
        )
        require(
            self.silence_below_dbfs < 0,
            "silence_below_dbfs",
            f"must be < 0 dBFS, got {self.silence_below_dbfs}",
        )


@dataclass
class _Run:
    start: float
    end: float
    probabilities: list[np.ndarray]


class AudioArtifactDetector:
    """Streaming audio-artifact classifier; see the module docstring for the algorithm."""

    name: ClassVar[str] = "audio_artifact"
    consumes: ClassVar[frozenset[str]] = frozenset({"audio"})
    Settings: ClassVar[type[AudioArtifactSettings]] = AudioArtifactSettings

    def __init__(self, settings: AudioArtifactSettings | None = None) -> None:
        self.settings = settings or AudioArtifactSettings()
        try:
            self.model = load_classifier(self.settings.weights or DEFAULT_WEIGHTS)
        except AudioModelError as error:  # a rig / --set value: name the setting
            raise AudioModelError(f"{self.name}.weights: {error}") from None
        self._buffer = np.zeros(0, np.float32)  # mono samples from self._buffer_t on
        self._buffer_t = 0.0
        self._rate = 0
        self._queue: list[tuple[float, np.ndarray]] = []  # (start s, 16 kHz segment)
        self._run: _Run | None = None
        self.segments: list[tuple[float, np.ndarray]] = []
        """(start s, class probabilities) of every classified segment, in time order."""

    def feed(self, item: VideoFrame | AudioChunk) -> list[Event]:
        if not isinstance(item, AudioChunk) or item.samples.size == 0:
            return []
        mono = item.mono()
        events: list[Event] = []
        expected_t = self._buffer_t + len(self._buffer) / self._rate if self._rate else None
        if expected_t is None or item.rate != self._rate or abs(item.t - expected_t) > 0.01:
            events += self._classify_queue() + self._close_run()  # a gap: start afresh
            self._buffer, self._buffer_t, self._rate = mono, item.t, item.rate
        else:
            self._buffer = np.concatenate([self._buffer, mono])
        length = round(SEGMENT_S * self._rate)
        hop = round(self.settings.hop_s * self._rate)
        while len(self._buffer) >= length:
            self._queue.append((self._buffer_t, to_model_rate(self._buffer[:length], self._rate)))
            self._buffer = self._buffer[hop:]
            self._buffer_t += hop / self._rate
        if len(self._queue) >= BATCH_SEGMENTS:
            events += self._classify_queue()
        return events

    def flush(self) -> list[Event]:
        return self._classify_queue() + self._close_run()

    def _classify_queue(self) -> list[Event]:
        queue, self._queue = self._queue, []
        if not queue:
            return []
        audio = np.stack([segment[:MODEL_RATE] for _, segment in queue])
        blocks = audio.reshape(len(queue), -1, SILENT_BLOCK)  # 10 ms blocks at 16 kHz
        power = np.mean(np.square(blocks, dtype=np.float64), axis=2).min(axis=1)
        loud = 10.0 * np.log10(np.maximum(power, 1e-24)) >= self.settings.silence_below_dbfs
        probabilities = np.zeros((len(queue), len(CLASSES)), np.float32)
        probabilities[:, 0] = 1.0  # skipped segments (digital silence in them) count as "none"
        if loud.any():
            with torch.inference_mode():
                logits = self.model(torch.from_numpy(audio[loud]))
            probabilities[loud] = torch.softmax(logits, dim=1).numpy()
        events: list[Event] = []
        for (start, _), p in zip(queue, probabilities, strict=True):
            self.segments.append((start, p))
            events += self._add_segment(start, p)
        return events

    def _add_segment(self, start: float, p: np.ndarray) -> list[Event]:
        end = start + SEGMENT_S
        if 1.0 - float(p[0]) < self.settings.threshold:
            return self._close_run()
        if self._run is not None and start <= self._run.end + 1e-6:
            self._run.end = end
            self._run.probabilities.append(p)
            return []
        events = self._close_run()
        self._run = _Run(start, end, [p])
        return events

    def _close_run(self) -> list[Event]:
        run, self._run = self._run, None
        if run is None:
            return []
        stacked = np.stack(run.probabilities)
        mean = stacked.mean(axis=0)
        label = CLASSES[1 + int(np.argmax(mean[1:]))]
        details = {
            "class": label,
            "probabilities": {c: round(float(v), 4) for c, v in zip(CLASSES, mean, strict=True)},
            "segments": len(run.probabilities),
            "threshold": self.settings.threshold,
        }
        score = float((1.0 - stacked[:, 0]).max())
        return [Event(self.name, run.start, run.end, score, details)]

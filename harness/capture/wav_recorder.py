"""Sound from a sound device written to a WAV file as it comes, on the capture timeline.

Sample 0 of the file is capture time 0: silence fills the time before the first chunk and any
gap between chunks, and a chunk placed earlier than the file's end (a live clock that corrected
itself backwards) loses the samples that overlap, so a position in the file is a capture time
(seconds x rate) to within ``ALIGN_S``. 16-bit PCM;
the header is brought up to date after every write and the file flushed, so a crash keeps a
valid file with every sample written so far.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from detectors.media import AudioChunk

ALIGN_S = 0.002
"""Seconds a chunk's capture time may differ from the file's end before the file is brought back
to it: silence up to a later chunk, the overlapping samples of an earlier one dropped. Smaller
differences are a live clock's sample-sized corrections, written contiguously."""


class WavRecorder:
    """Appends ``AudioChunk`` items (float, full scale +-1) to a 16-bit WAV file."""

    def __init__(self, path: str | Path, rate: int, channels: int) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.rate, self.channels = rate, channels
        self._file = self.path.open("wb")  # noqa: SIM115 (open until close())
        self._wav = wave.open(self._file, "wb")  # noqa: SIM115
        self._wav.setnchannels(channels)
        self._wav.setsampwidth(2)
        self._wav.setframerate(rate)
        self.samples = 0
        """Samples per channel written so far (silence included)."""

    def write(self, chunks: list[AudioChunk]) -> None:
        """Append ``chunks`` (in time order) at their capture times, then flush the file."""
        tolerance = ALIGN_S * self.rate
        for chunk in chunks:
            if chunk.t < 0:
                continue
            samples = chunk.samples
            late = round(chunk.t * self.rate) - self.samples
            if late > tolerance:
                self._append(np.zeros((late, self.channels), np.float32))
            elif late < -tolerance:
                samples = samples[-late:]
            if len(samples):
                self._append(samples)
        self._file.flush()

    def _append(self, samples: np.ndarray) -> None:
        if samples.ndim == 1:
            samples = samples[:, None]
        if samples.shape[1] != self.channels:
            samples = np.repeat(samples.mean(axis=1, keepdims=True), self.channels, axis=1)
        pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2")
        self._wav.writeframes(pcm.tobytes())  # also rewrites the header's lengths
        self.samples += len(samples)

    def close(self) -> None:
        """Finish the file."""
        self._wav.close()
        self._file.close()

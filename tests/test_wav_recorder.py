"""The device-audio WAV beside a recording: a position in the file is a capture time, also when
the live clock that stamped the chunks corrected itself forwards or backwards."""

from __future__ import annotations

import wave

import numpy as np

from detectors.media import AudioChunk
from harness.capture.wav_recorder import ALIGN_S, WavRecorder

RATE = 8_000


def _chunk(t: float, start: int, n: int = 800) -> AudioChunk:
    """``n`` samples whose values are their own sample numbers from ``start`` (scaled to +-1)."""
    values = (np.arange(start, start + n) / 32767.0).astype(np.float32)
    return AudioChunk(t, values[:, None], RATE)


def _read(path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), "<i2").astype(np.int64)


def test_chunks_land_at_their_capture_times_when_the_clock_jumps_either_way(tmp_path):
    recorder = WavRecorder(tmp_path / "a.wav", RATE, 1)
    recorder.write([_chunk(0.5, 1000)])  # silence before the first chunk
    recorder.write([_chunk(0.6, 2000)])  # contiguous: 0.5 s + 800 samples = 0.6 s
    recorder.write([_chunk(0.718, 3000)])  # the clock moved 18 ms later: silence fills it
    recorder.write([_chunk(0.800, 4000)])  # and 18 ms back: the overlap is dropped
    recorder.close()
    pcm = _read(tmp_path / "a.wav")
    assert np.all(pcm[:4000] == 0)
    assert pcm[4000] == 1000 and pcm[4800] == 2000
    assert np.all(pcm[5600 : round(0.718 * RATE)] == 0)
    assert pcm[round(0.718 * RATE)] == 3000
    at = round(0.8 * RATE)  # the last chunk's samples after the overlap sit at their own times
    end_of_third = round(0.718 * RATE) + 800
    assert pcm[end_of_third - 1] == 3799 and pcm[end_of_third] == 4000 + end_of_third - at
    assert pcm[-1] == 4799 and len(pcm) == at + 800


def test_small_clock_corrections_are_written_contiguously(tmp_path):
    recorder = WavRecorder(tmp_path / "b.wav", RATE, 1)
    wobble = 0.5 * ALIGN_S
    recorder.write([_chunk(0.0, 0), _chunk(0.1 + wobble, 800), _chunk(0.2 - wobble, 1600)])
    recorder.close()
    assert np.array_equal(_read(tmp_path / "b.wav"), np.arange(2400))

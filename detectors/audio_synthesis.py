"""Audio defect simulation, shared by the classifier's training data and the virtual device.

Every function takes audio as float32 samples, shape ``(frames,)`` or ``(frames, channels)``,
full scale +-1.0, and returns a new array of the same shape and dtype (the input is never
changed). Levels are in dBFS: 0 dBFS is a full-scale sine's peak; a noise or tone "level" is
its RMS (a sine of RMS level L dBFS has peak L + 3.01 dBFS).

* ``add_hum``: mains hum, 50 or 60 Hz with harmonics (ground loops, bad shielding).
* ``add_hiss``: white or pink broadband noise (analogue gain staging, noisy links).
* ``hard_clip`` / ``soft_clip`` / ``bit_crush``: distortion (overdriven stages, bad resampling
  or truncated sample words).
* ``add_clicks``: impulses at random instants (bit errors, buffer glitches, scratches).
* ``dropout``: the signal drops to digital silence for a span (lost packets, buffer underrun).

Phase-continuous variants take ``start_sample`` so a caller producing audio in small blocks
(the virtual device, one video frame's worth at a time) gets one unbroken hum tone.
"""

from __future__ import annotations

import numpy as np

HUM_HARMONICS = (1.0, 0.5, 0.3, 0.2, 0.1)
"""Default amplitudes of the hum's fundamental and its 2nd..5th harmonics, relative to the
fundamental (a rectified-mains buzz has strong low harmonics)."""


def db_to_gain(db: float) -> float:
    """Linear amplitude for ``db`` decibels."""
    return float(10.0 ** (db / 20.0))


def rms_dbfs(samples: np.ndarray) -> float:
    """RMS level of ``samples`` in dBFS (-inf for digital silence)."""
    power = float(np.mean(np.square(samples, dtype=np.float64))) if samples.size else 0.0
    return -np.inf if power <= 0 else 10.0 * np.log10(power)


def _like(samples: np.ndarray, mono: np.ndarray) -> np.ndarray:
    """``mono`` (frames,) broadcast to the layout of ``samples``."""
    return mono if samples.ndim == 1 else mono[:, None]


def _out(result: np.ndarray) -> np.ndarray:
    return result.astype(np.float32, copy=False)


def hum_tone(
    frames: int,
    rate: int,
    mains_hz: float = 50.0,
    level_dbfs: float = -30.0,
    harmonics: tuple[float, ...] = HUM_HARMONICS,
    start_sample: int = 0,
) -> np.ndarray:
    """Mains hum alone: ``frames`` mono samples, RMS ``level_dbfs`` overall.

    ``harmonics[k]`` is the amplitude of ``(k + 1) * mains_hz`` relative to the fundamental;
    partials at or above Nyquist are left out.
    """
    t = (np.arange(frames, dtype=np.float64) + start_sample) / rate
    tone = np.zeros(frames, dtype=np.float64)
    weights = [(k + 1, w) for k, w in enumerate(harmonics) if (k + 1) * mains_hz < rate / 2]
    for k, weight in weights:
        tone += weight * np.sin(2 * np.pi * k * mains_hz * t + 0.7 * k)
    rms = np.sqrt(sum(w * w for _, w in weights) / 2.0)
    return (tone * db_to_gain(level_dbfs) / rms).astype(np.float32)


def add_hum(
    samples: np.ndarray,
    rate: int,
    mains_hz: float = 50.0,
    level_dbfs: float = -30.0,
    harmonics: tuple[float, ...] = HUM_HARMONICS,
    start_sample: int = 0,
) -> np.ndarray:
    """``samples`` with mains hum (``hum_tone``) added to every channel."""
    tone = hum_tone(len(samples), rate, mains_hz, level_dbfs, harmonics, start_sample)
    return _out(samples + _like(samples, tone))


def pink_noise(frames: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS pink (1/f power) noise, ``frames`` mono samples (spectral shaping of white)."""
    size = max(2, frames)
    spectrum = np.fft.rfft(rng.standard_normal(size))
    scale = np.ones(len(spectrum))
    scale[1:] = 1.0 / np.sqrt(np.arange(1, len(spectrum)))
    scale[0] = 0.0
    noise = np.fft.irfft(spectrum * scale, n=size)[:frames]
    return noise / max(float(np.sqrt(np.mean(noise**2))), 1e-12)


def add_hiss(
    samples: np.ndarray,
    rng: np.random.Generator,
    level_dbfs: float = -40.0,
    color: str = "white",
) -> np.ndarray:
    """``samples`` with independent noise of RMS ``level_dbfs`` on every channel.

    ``color``: ``white`` (flat spectrum) or ``pink`` (-3 dB per octave).
    """
    if color not in ("white", "pink"):
        raise ValueError(f"color: expected 'white' or 'pink', got {color!r}")
    frames, channels = len(samples), 1 if samples.ndim == 1 else samples.shape[1]
    columns = []
    for _ in range(channels):
        columns.append(rng.standard_normal(frames) if color == "white" else pink_noise(frames, rng))
    noise = np.stack(columns, axis=1) * db_to_gain(level_dbfs)
    return _out(samples + (noise[:, 0] if samples.ndim == 1 else noise))


def hard_clip(samples: np.ndarray, drive_db: float = 20.0, ceiling: float = 1.0) -> np.ndarray:
    """Overdrive: amplify by ``drive_db`` and clip flat at +-``ceiling`` (full scale 1.0)."""
    return _out(np.clip(samples * db_to_gain(drive_db), -ceiling, ceiling))


def soft_clip(samples: np.ndarray, drive_db: float = 20.0, ceiling: float = 1.0) -> np.ndarray:
    """Overdrive with a smooth (tanh) knee: amplify by ``drive_db``, saturate at ``ceiling``."""
    gain = db_to_gain(drive_db)
    return _out(ceiling * np.tanh(samples * gain / ceiling))


def bit_crush(samples: np.ndarray, bits: int = 6, hold: int = 1) -> np.ndarray:
    """Quantise to ``bits`` bits (full scale) and hold every ``hold``-th sample (rate crush)."""
    if bits < 1:
        raise ValueError(f"bits: must be >= 1, got {bits}")
    steps = 2.0 ** (bits - 1)
    crushed = np.round(samples * steps) / steps
    if hold > 1:
        index = (np.arange(len(samples)) // hold) * hold
        crushed = crushed[index]
    return _out(crushed)


def click_positions(
    frames: int, rate: int, clicks_per_s: float, rng: np.random.Generator
) -> np.ndarray:
    """Sample indices of clicks: a Poisson process of ``clicks_per_s``, at least one click."""
    count = max(1, int(rng.poisson(clicks_per_s * frames / rate)))
    return np.sort(rng.integers(0, max(1, frames), size=count))


def add_clicks(
    samples: np.ndarray,
    rate: int,
    rng: np.random.Generator,
    clicks_per_s: float = 4.0,
    amplitude: float = 0.3,
    positions: np.ndarray | None = None,
) -> np.ndarray:
    """``samples`` with short impulses of peak ``amplitude`` (0..1 of full scale) added.

    Each click is a random-sign spike decaying over 0.1-0.6 ms, on every channel. Positions
    come from ``click_positions`` unless given.
    """
    out = np.array(samples, dtype=np.float32, copy=True)
    if positions is None:
        positions = click_positions(len(samples), rate, clicks_per_s, rng)
    for position in positions:
        length = max(2, int(rate * rng.uniform(0.0001, 0.0006)))
        shape = np.exp(-np.arange(length) / (length / 3.0)) * rng.choice((-1.0, 1.0))
        shape *= amplitude * rng.uniform(0.7, 1.0)
        end = min(len(out), int(position) + length)
        span = shape[: end - int(position)]
        out[int(position) : end] += _like(out, span.astype(np.float32))
    return np.clip(out, -1.0, 1.0)


def dropout(samples: np.ndarray, start: int = 0, length: int | None = None) -> np.ndarray:
    """``samples`` with ``length`` frames from ``start`` set to digital silence (all if None)."""
    out = np.array(samples, dtype=np.float32, copy=True)
    end = len(out) if length is None else min(len(out), start + length)
    out[max(0, start) : end] = 0.0
    return out

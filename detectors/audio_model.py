"""The audio-artifact classifier: a log-mel front end and a small PANNs-style CNN, joined by
deterministic defect features, in plain torch.

Front end (``LogMel``): mono audio at ``MODEL_RATE`` (16 kHz) -> Hann-windowed STFT
(``N_FFT`` 1024 samples = 64 ms, hop ``HOP`` 160 samples = 10 ms) -> power -> ``N_MELS`` 64
triangular mel bands (HTK mel scale, ``FMIN_HZ`` 20 .. ``FMAX_HZ`` 8000) -> 10*log10 with a
floor of -100 dB. A 1 s segment is a 101 x 64 "image".

Network (``AudioArtifactNet``, after the PANNs Cnn6 layout, narrower): a batch norm over the
mel bands, four conv blocks (conv k x k -> batch norm -> ReLU -> 2 x 2 average pooling) of
``width``, 2 ``width``, 4 ``width``, 8 ``width`` channels, mean over frequency, max + mean
over time, a hidden fully connected layer and one logit per class of ``CLASSES``.

Segment features (``SegmentFeatures``, with ``segment_features`` in the config): measurements
the log-mel image cannot resolve (its lowest mel bands are tens of Hz wide), from the same
16 kHz segment: mains-hum lines at 50 / 60 Hz from a 1 s FFT (1 Hz bins, 0.2 Hz fine grid),
the high-band noise floor of the quietest frames (hiss), isolated peaks of the first
difference (clicks) and the share of samples near the peak (clipping). They are batch
normalised and concatenated with the CNN embedding before the hidden layer; both branches
train together. Files without the key (the CNN alone) still load.

Weights live in a safetensors file whose metadata holds the architecture (``config``, JSON)
and the class names; ``load_classifier`` rebuilds the network from it and raises
``AudioModelError`` with a one-line reason for a missing, unreadable or mismatched file.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from detectors.settings import SettingsError

CLASSES = ("none", "hum", "hiss", "distortion", "clicks")
"""Output classes, in logit order. ``none``: no defect."""
MODEL_RATE = 16_000
"""Sample rate, in Hz, the network listens at."""
SEGMENT_S = 1.0
"""Length of one classified segment, in seconds."""
N_FFT = 1024
HOP = 160
N_MELS = 64
FMIN_HZ = 20.0
FMAX_HZ = 8000.0
FORMAT = "onglass.audio_artifact/1"
"""``format`` metadata value of a weights file."""
DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "models" / "audio_artifact.safetensors"


class AudioModelError(SettingsError):
    """A weights file is missing, unreadable or does not fit the network; one-line message."""


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filterbank(
    rate: int = MODEL_RATE,
    n_fft: int = N_FFT,
    n_mels: int = N_MELS,
    fmin: float = FMIN_HZ,
    fmax: float = FMAX_HZ,
) -> np.ndarray:
    """Triangular mel filters, shape (n_fft // 2 + 1, n_mels), each normalised to unit area
    so a band's output is the mean power under its triangle."""
    bins = np.linspace(0.0, rate / 2.0, n_fft // 2 + 1)
    edges = _mel_to_hz(
        np.linspace(_hz_to_mel(np.array(fmin)), _hz_to_mel(np.array(fmax)), n_mels + 2)
    )
    bank = np.zeros((len(bins), n_mels), dtype=np.float64)
    for m in range(n_mels):
        low, centre, high = edges[m], edges[m + 1], edges[m + 2]
        rising = (bins - low) / max(centre - low, 1e-9)
        falling = (high - bins) / max(high - centre, 1e-9)
        bank[:, m] = np.maximum(0.0, np.minimum(rising, falling))
        if bank[:, m].sum() == 0:  # narrower than one FFT bin: take the nearest bin
            bank[int(np.argmin(np.abs(bins - centre))), m] = 1.0
        bank[:, m] /= bank[:, m].sum()
    return bank.astype(np.float32)


class LogMel(nn.Module):
    """(batch, samples) mono audio at ``MODEL_RATE`` -> (batch, 1, frames, mels) log-mel in dB."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("window", torch.hann_window(N_FFT), persistent=False)
        self.register_buffer("mel", torch.from_numpy(mel_filterbank()), persistent=False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(
            audio,
            N_FFT,
            HOP,
            window=self.window,
            center=True,
            pad_mode="constant",
            return_complex=True,
        )
        power = spec.real.square() + spec.imag.square()  # (batch, bins, frames)
        mel = torch.matmul(power.transpose(1, 2), self.mel)  # (batch, frames, mels)
        return (10.0 * torch.log10(mel.clamp_min(1e-10))).unsqueeze(1)


HUM_HZ = (50.0, 60.0)
"""Mains frequencies, in Hz, whose lines ``SegmentFeatures`` measures."""
FEATURE_NAMES = (
    "hum50_line_db",
    "hum60_line_db",
    "hum50_harmonic_line_db",
    "hum60_harmonic_line_db",
    "hum50_share_db",
    "hum60_share_db",
    "hum50_steady_db",
    "hum60_steady_db",
    "hum50_offset_hz",
    "hum60_offset_hz",
    "hum50_narrow_db",
    "hum60_narrow_db",
    "floor_high_db",
    "floor_flatness",
    "floor_spread_db",
    "high_flatness",
    "diff_kurtosis_db",
    "diff_peak_db",
    "click_isolation_db",
    "clicks_isolated",
    "crest_db",
    "near_peak_share",
    "above_half_peak_share",
)
"""Names of the ``SegmentFeatures`` columns, in order (units in its docstring)."""
_FINE_HZ = np.round(np.arange(-2.0, 2.01, 0.2), 1)
"""Offsets, in Hz, from each mains frequency at which ``SegmentFeatures`` evaluates the
Hann-windowed 1 s spectrum (0.2 Hz steps)."""
_FRAME = 512
_FRAME_HOP = 256
_CLICK_BLOCK = 80
_EPS = 1e-12


def _db(ratio: torch.Tensor) -> torch.Tensor:
    """log10 of a non-negative power ratio: bels (dB / 10), floored at -120 dB."""
    return torch.log10(ratio.clamp_min(_EPS))


def _power(spectrum: torch.Tensor) -> torch.Tensor:
    """Squared magnitude of a complex spectrum."""
    return spectrum.real.square() + spectrum.imag.square()


class SegmentFeatures(nn.Module):
    """Deterministic defect features of (batch, ``MODEL_RATE``) 1 s segments at ``MODEL_RATE``.

    Returns (batch, ``len(FEATURE_NAMES)``); every level ratio is in bels (dB / 10, so the
    values stay near unit scale), shares are 0..1. Longer or shorter input is cut or
    zero-padded to 1 s.

    Hum (from a Hann-windowed 1 s FFT, 1 Hz bins): ``humF_line_db`` the power within +-2 Hz of
    F (50 or 60 Hz) over the median power 5-15 Hz either side; ``humF_harmonic_line_db`` the
    same, the larger of the 2nd and 3rd harmonics; ``humF_share_db`` the line's power over the
    segment's total; ``humF_steady_db`` the smaller of the two half-seconds' line ratios (0.5 s
    FFTs, 2 Hz bins: the power within +-2 Hz of F over the median power 6-16 Hz either side), as
    hum lasts and a note often does not;
    ``humF_offset_hz`` (0..2 Hz) how far from F the strongest tone within +-2 Hz of it lies
    (the 1 s spectrum evaluated every 0.2 Hz: hum is within 0.4 % of F, a note of an
    equal-tempered scale near 50 or 60 Hz is 1-2 Hz away); ``humF_narrow_db`` the strongest
    power within +-0.3 Hz of F over the strongest 1-2 Hz either side of it.

    Hiss (512-sample frames, hop 256, i.e. 32 ms / 16 ms): ``floor_high_db`` the 4-8 kHz power of
    the quietest 10 % of frames over the segment's mean power; ``floor_flatness`` (0..1) the
    spectral flatness (geometric / arithmetic mean) of 4-8 kHz in those frames (white noise
    about 0.56); ``floor_spread_db`` the 10th over the 50th percentile of the frames' 4-8 kHz
    power (a steady noise floor is near 0); ``high_flatness`` the median 4-8 kHz flatness of
    all frames.

    Clicks (first difference ``d`` of the samples, 5 ms blocks of 80 samples):
    ``diff_kurtosis_db`` log10 of d's kurtosis; ``diff_peak_db`` log10 of max |d| over the
    median block peak of |d|; ``click_isolation_db`` log10 of the largest block peak over the
    highest peak 10-20 ms either side of it; ``clicks_isolated`` log10(1 + blocks whose peak is
    4x that context).

    Distortion (sample magnitudes against the segment's peak): ``crest_db`` log10 of peak /
    RMS; ``near_peak_share`` the share of samples at >= 90 % of the peak (clipping plateaus);
    ``above_half_peak_share`` at >= 50 %.
    """

    def __init__(self) -> None:
        super().__init__()
        n = MODEL_RATE
        self.register_buffer("window", torch.hann_window(n, periodic=False), persistent=False)
        self.register_buffer("frame_window", torch.hann_window(_FRAME), persistent=False)
        self.register_buffer(
            "half_window", torch.hann_window(n // 2, periodic=False), persistent=False
        )
        t = np.arange(n) / MODEL_RATE
        hz = np.concatenate([mains + _FINE_HZ for mains in HUM_HZ])[:, None]
        window = np.hanning(n)
        basis = np.concatenate([np.cos(2 * np.pi * hz * t), np.sin(2 * np.pi * hz * t)]) * window
        self.register_buffer("fine_basis", torch.from_numpy(basis.T.astype(np.float32)), False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        n = MODEL_RATE
        x = audio[:, :n]
        if x.shape[1] < n:
            x = nn.functional.pad(x, (0, n - x.shape[1]))
        x = x.float()
        total = x.square().mean(dim=1) + _EPS
        power = _power(torch.fft.rfft(x * self.window))  # 1 Hz bins
        columns: dict[str, torch.Tensor] = {}
        for hz in HUM_HZ:
            lines = []
            for k in (1, 2, 3):
                f = round(k * hz)
                line = power[:, f - 2 : f + 3].sum(dim=1)
                around = torch.cat([power[:, f - 15 : f - 4], power[:, f + 5 : f + 16]], dim=1)
                lines.append((line, 5.0 * around.median(dim=1).values))
            columns[f"hum{hz:.0f}_line_db"] = _db(lines[0][0] / (lines[0][1] + _EPS))
            columns[f"hum{hz:.0f}_harmonic_line_db"] = torch.maximum(
                _db(lines[1][0] / (lines[1][1] + _EPS)), _db(lines[2][0] / (lines[2][1] + _EPS))
            )
            columns[f"hum{hz:.0f}_share_db"] = _db(lines[0][0] / (total * n * n * 3 / 16))
        halves = x.reshape(len(x), 2, n // 2) * self.half_window
        half_power = _power(torch.fft.rfft(halves))  # (batch, 2, bins): 2 Hz bins
        for hz in HUM_HZ:
            f = round(hz / 2)
            line = half_power[:, :, f - 1 : f + 2].sum(dim=2)
            around = torch.cat(
                [half_power[:, :, f - 8 : f - 2], half_power[:, :, f + 3 : f + 9]], dim=2
            )
            ratio = _db(line / (3.0 * around.median(dim=2).values + _EPS))
            columns[f"hum{hz:.0f}_steady_db"] = ratio.amin(dim=1)

        fine = x @ self.fine_basis  # (batch, 2 * grid): cosine then sine parts
        fine = fine[:, : fine.shape[1] // 2].square() + fine[:, fine.shape[1] // 2 :].square()
        fine = fine.reshape(len(x), len(HUM_HZ), len(_FINE_HZ))
        offsets = torch.from_numpy(np.abs(_FINE_HZ).astype(np.float32)).to(x.device)
        centre = torch.from_numpy(np.abs(_FINE_HZ) <= 0.3).to(x.device)
        sides = torch.from_numpy(np.abs(_FINE_HZ) >= 1.0).to(x.device)
        for i, hz in enumerate(HUM_HZ):
            columns[f"hum{hz:.0f}_offset_hz"] = offsets[fine[:, i].argmax(dim=1)]
            columns[f"hum{hz:.0f}_narrow_db"] = _db(
                fine[:, i, centre].amax(dim=1) / (fine[:, i, sides].amax(dim=1) + _EPS)
            )

        frames = x.unfold(1, _FRAME, _FRAME_HOP) * self.frame_window
        spectra = _power(torch.fft.rfft(frames))  # (batch, frames, 257): 31.25 Hz bins
        high = spectra[:, :, 128:256] + _EPS  # 4-8 kHz
        frame_power = spectra.sum(dim=2)
        high_power = high.mean(dim=2)
        flatness = torch.exp(torch.log(high).mean(dim=2)) / high_power
        quiet = torch.argsort(frame_power, dim=1)[:, : max(1, frames.shape[1] // 10)]
        quiet_high = torch.gather(high_power, 1, quiet).mean(dim=1)
        band_power = 2.0 * 128 * quiet_high / (_FRAME * self.frame_window.square().sum())
        columns["floor_high_db"] = _db(band_power / total)
        columns["floor_flatness"] = torch.gather(flatness, 1, quiet).mean(dim=1)
        levels = torch.quantile(high_power, torch.tensor([0.1, 0.5], device=x.device), dim=1)
        columns["floor_spread_db"] = _db(levels[0] / (levels[1] + _EPS))
        columns["high_flatness"] = flatness.median(dim=1).values

        d = x[:, 1:] - x[:, :-1]
        d2 = d.square()
        columns["diff_kurtosis_db"] = torch.log10(
            d2.square().mean(dim=1) / (d2.mean(dim=1).square() + _EPS) + 1.0
        )
        peaks = d[:, : (n - 1) // _CLICK_BLOCK * _CLICK_BLOCK].abs()
        peaks = peaks.reshape(len(x), -1, _CLICK_BLOCK).amax(dim=2) + 1e-6
        columns["diff_peak_db"] = torch.log10(peaks.amax(dim=1) / peaks.median(dim=1).values)
        padded = nn.functional.pad(peaks, (4, 4))
        context = torch.stack(
            [padded[:, 4 + s : 4 + s + peaks.shape[1]] for s in (-4, -3, -2, 2, 3, 4)]
        )
        ratio = peaks / (context.amax(dim=0) + 1e-6)
        columns["click_isolation_db"] = torch.log10(ratio.amax(dim=1))
        columns["clicks_isolated"] = torch.log10(1.0 + (ratio > 4.0).sum(dim=1).float())

        magnitude = x.abs()
        peak = magnitude.amax(dim=1, keepdim=True)
        columns["crest_db"] = torch.log10(peak[:, 0] / total.sqrt() + 1.0)
        peak = peak.clamp_min(1e-6)  # digital silence: no sample counts as near its peak
        columns["near_peak_share"] = (magnitude >= 0.9 * peak).float().mean(dim=1)
        columns["above_half_peak_share"] = (magnitude >= 0.5 * peak).float().mean(dim=1)
        return torch.stack([columns[name] for name in FEATURE_NAMES], dim=1)


class _ConvBlock(nn.Module):
    def __init__(self, channels_in: int, channels_out: int, kernel: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels_in, channels_out, kernel, padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(channels_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _average_pool_2x2(torch.relu(self.bn(self.conv(x))))


def _average_pool_2x2(x: torch.Tensor) -> torch.Tensor:
    """``avg_pool2d(x, 2)`` (odd last rows / columns dropped) as strided sums: the same values,
    several times faster on one CPU thread."""
    x = x[:, :, : x.shape[2] // 2 * 2, : x.shape[3] // 2 * 2]
    x = x[:, :, 0::2] + x[:, :, 1::2]
    return (x[:, :, :, 0::2] + x[:, :, :, 1::2]) * 0.25


class AudioArtifactNet(nn.Module):
    """Log-mel CNN, optionally joined by ``SegmentFeatures``; ``forward`` takes (batch,
    samples) at ``MODEL_RATE`` and returns logits.

    With ``segment_features``, the features (batch-normalised) are concatenated with the CNN's
    pooled embedding before the hidden layer, and both are trained together.
    """

    def __init__(
        self,
        width: int = 16,
        kernel: int = 3,
        hidden: int = 128,
        segment_features: bool = False,
        cnn_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.config: dict[str, Any] = {"width": width, "kernel": kernel, "hidden": hidden}
        if segment_features:
            self.config["segment_features"] = True
        self.frontend = LogMel()
        self.bn0 = nn.BatchNorm2d(N_MELS)
        channels = [1, width, 2 * width, 4 * width, 8 * width]
        self.blocks = nn.Sequential(
            *[_ConvBlock(channels[i], channels[i + 1], kernel) for i in range(4)]
        )
        self.segment_features = SegmentFeatures() if segment_features else None
        extra = len(FEATURE_NAMES) if segment_features else 0
        self.bn_features = nn.BatchNorm1d(extra) if segment_features else None
        self.fc = nn.Linear(channels[-1] + extra, hidden)
        self.cnn_dropout = nn.Dropout(cnn_dropout)
        """Dropout on the CNN embedding in training (a training choice, not in ``config``):
        with segment features, it makes the head lean on them as well as on the CNN."""
        self.dropout = nn.Dropout(0.2)
        self.head = nn.Linear(hidden, len(CLASSES))

    def embedding(self, logmel: torch.Tensor) -> torch.Tensor:
        """The CNN's (batch, 8 * width) embedding of a (batch, 1, frames, mels) log-mel batch."""
        x = self.bn0(logmel.transpose(1, 3)).transpose(1, 3)  # normalise each mel band
        x = self.blocks(x).mean(dim=3)  # (batch, channels, frames)
        return x.amax(dim=2) + x.mean(dim=2)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        x = self.cnn_dropout(self.embedding(self.frontend(audio)))
        if self.segment_features is not None and self.bn_features is not None:
            x = torch.cat([x, self.bn_features(self.segment_features(audio))], dim=1)
        return self.head(self.dropout(torch.relu(self.fc(x))))


@functools.cache
def _decimation_filter(down: int) -> np.ndarray:
    """The anti-aliasing FIR ``scipy.signal.resample_poly`` designs for 1/``down``."""
    from scipy.signal import firwin

    return firwin(2 * 10 * down + 1, 1.0 / down, window=("kaiser", 5.0))


def to_model_rate(samples: np.ndarray, rate: int) -> np.ndarray:
    """Mono float32 audio at ``MODEL_RATE`` from (frames,) or (frames, channels) at ``rate``.

    Polyphase resampling (``scipy.signal.resample_poly``); integer decimation (48 kHz,
    32 kHz) runs the same filter with it designed once.
    """
    from scipy.signal import resample_poly, upfirdn

    mono = samples if samples.ndim == 1 else samples.mean(axis=1)
    mono = mono.astype(np.float64)
    if rate == MODEL_RATE:
        return mono.astype(np.float32)
    divisor = math.gcd(rate, MODEL_RATE)
    up, down = MODEL_RATE // divisor, rate // divisor
    if up == 1:
        out = upfirdn(_decimation_filter(down), mono, 1, down)
        return out[10 : 10 + -(-len(mono) // down)].astype(np.float32)
    return resample_poly(mono, up, down).astype(np.float32)


def save_classifier(model: AudioArtifactNet, path: str | Path, extra: dict[str, Any]) -> None:
    """Write ``model``'s weights and architecture (plus ``extra`` metadata) to ``path``."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    metadata = {
        "format": FORMAT,
        "config": json.dumps(model.config),
        "classes": json.dumps(list(CLASSES)),
        **{k: json.dumps(v) for k, v in extra.items()},
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=metadata)


def load_classifier(path: str | Path = DEFAULT_WEIGHTS) -> AudioArtifactNet:
    """The network stored in ``path``, in eval mode; AudioModelError says what is wrong."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise AudioModelError(f"{path}: audio_artifact weights file not found")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except Exception as error:  # safetensors raises several types for damaged files
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise AudioModelError(f"{path}: not a readable safetensors file ({reason})") from None
    if metadata.get("format") != FORMAT:
        raise AudioModelError(
            f"{path}: not an onglass audio_artifact model (format {metadata.get('format')!r}, "
            f"expected {FORMAT!r})"
        )
    try:
        config = json.loads(metadata["config"])
        classes = tuple(json.loads(metadata["classes"]))
        model = AudioArtifactNet(**config)
    except (KeyError, TypeError, ValueError) as error:
        raise AudioModelError(f"{path}: bad architecture metadata ({error})") from None
    if classes != CLASSES:
        raise AudioModelError(f"{path}: classes {list(classes)} differ from {list(CLASSES)}")
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = [k for k in expected if k in tensors and tensors[k].shape != expected[k].shape]
    if missing or unexpected or wrong:
        problems = []
        if missing:
            problems.append(
                f"missing {missing[0]}" + (f" (+{len(missing) - 1})" if len(missing) > 1 else "")
            )
        if unexpected:
            problems.append(f"unexpected {unexpected[0]}")
        if wrong:
            problems.append(
                f"{wrong[0]} has shape {tuple(tensors[wrong[0]].shape)}, "
                f"expected {tuple(expected[wrong[0]].shape)}"
            )
        raise AudioModelError(f"{path}: weights do not match the network: {'; '.join(problems)}")
    model.load_state_dict(tensors)
    return model.eval()

"""The audio-artifact classifier: a log-mel front end and a small PANNs-style CNN, in plain torch.

Front end (``LogMel``): mono audio at ``MODEL_RATE`` (16 kHz) -> Hann-windowed STFT
(``N_FFT`` 1024 samples = 64 ms, hop ``HOP`` 160 samples = 10 ms) -> power -> ``N_MELS`` 64
triangular mel bands (HTK mel scale, ``FMIN_HZ`` 20 .. ``FMAX_HZ`` 8000) -> 10*log10 with a
floor of -100 dB. A 1 s segment is a 101 x 64 "image".

Network (``AudioArtifactNet``, after the PANNs Cnn6 layout, narrower): a batch norm over the
mel bands, four conv blocks (conv k x k -> batch norm -> ReLU -> 2 x 2 average pooling) of
``width``, 2 ``width``, 4 ``width``, 8 ``width`` channels, mean over frequency, max + mean
over time, a hidden fully connected layer and one logit per class of ``CLASSES``.

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


class _ConvBlock(nn.Module):
    def __init__(self, channels_in: int, channels_out: int, kernel: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels_in, channels_out, kernel, padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(channels_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.avg_pool2d(torch.relu(self.bn(self.conv(x))), 2)


class AudioArtifactNet(nn.Module):
    """Log-mel CNN; ``forward`` takes (batch, samples) at ``MODEL_RATE`` and returns logits."""

    def __init__(self, width: int = 16, kernel: int = 3, hidden: int = 128) -> None:
        super().__init__()
        self.config = {"width": width, "kernel": kernel, "hidden": hidden}
        self.frontend = LogMel()
        self.bn0 = nn.BatchNorm2d(N_MELS)
        channels = [1, width, 2 * width, 4 * width, 8 * width]
        self.blocks = nn.Sequential(
            *[_ConvBlock(channels[i], channels[i + 1], kernel) for i in range(4)]
        )
        self.fc = nn.Linear(channels[-1], hidden)
        self.dropout = nn.Dropout(0.2)
        self.head = nn.Linear(hidden, len(CLASSES))

    def features(self, logmel: torch.Tensor) -> torch.Tensor:
        """Logits from a (batch, 1, frames, mels) log-mel batch."""
        x = self.bn0(logmel.transpose(1, 3)).transpose(1, 3)  # normalise each mel band
        x = self.blocks(x).mean(dim=3)  # (batch, channels, frames)
        x = x.amax(dim=2) + x.mean(dim=2)
        x = self.dropout(torch.relu(self.fc(x)))
        return self.head(x)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.features(self.frontend(audio))


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

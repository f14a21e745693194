"""The block-corruption map network: a ResNet18 trunk whose classifier is a 1x1 convolution.

Plain torch (no torchvision). ``BlockMapNet`` is ResNet18 (a 7x7 stride-2 stem, max pool, four
stages of two BasicBlocks, overall stride 32) with the global pool and fully connected layer
replaced by ``conv6``, a 1x1 convolution giving one corruption logit per 32x32-pixel cell:
224x224 -> 7x7, 1080x1920 -> 34x60 (the input is padded up to whole cells). ``width`` is the
channel count of the first stage (64 in the original ResNet18; onglass ships 32, see the model
card ``detectors/models/block_corruption.md``).

Frame decisions:

* v1: binarise the probability map at ``CELL_PROBABILITY`` and flag the frame when the
  corrupted area share exceeds ``area_threshold`` (default 0.07);
* v2: ``FrameHead``, a small learned head over pooled statistics of the map (peak, mean,
  top-5% mean, binarised area), trained jointly with the trunk.

Weights are safetensors files; ``load_model`` reports a missing, corrupt or mismatched file in
one line (``BlockModelError``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

CELL = 32
"""Side in pixels of one map cell (the trunk's stride)."""
CELL_PROBABILITY = 0.5
"""v1 binarisation: a cell is corrupted when its probability exceeds this."""
FORMAT = "onglass.block_corruption/1"
"""``format`` metadata of a weights file this module writes and accepts."""
DEFAULT_WEIGHTS = Path(__file__).parent / "models" / "block_corruption.safetensors"
"""The shipped weights."""
MEAN, STD = 0.45, 0.25
"""Input normalisation of 0..1 pixel values."""


class BlockModelError(ValueError):
    """A weights file is missing, corrupt or does not fit the network; one-line message."""


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (ResNet's basic block)."""

    def __init__(self, channels_in: int, channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.shortcut = nn.Sequential()
        if stride != 1 or channels_in != channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(channels_in, channels, 1, stride, bias=False), nn.BatchNorm2d(channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class FrameHead(nn.Module):
    """v2 decision: a frame logit from pooled statistics of the probability map."""

    features = 4

    def __init__(self) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(self.features, 16), nn.ReLU(), nn.Linear(16, 1))

    @staticmethod
    def pooled(probability: torch.Tensor) -> torch.Tensor:
        """(N, 4): peak, mean, mean of the top 5% cells and binarised area of each map."""
        flat = probability.flatten(1)
        k = max(1, round(0.05 * flat.shape[1]))
        top = flat.topk(k, dim=1).values.mean(dim=1)
        area = (flat > CELL_PROBABILITY).float().mean(dim=1)
        return torch.stack([flat.max(dim=1).values, flat.mean(dim=1), top, area], dim=1)

    def forward(self, probability: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.pooled(probability)).squeeze(1)


class BlockMapNet(nn.Module):
    """ResNet18 trunk + ``conv6`` (1x1) -> per-cell corruption logits, + the v2 frame head."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.width = width
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        stages, channels_in = [], width
        for k, stride in enumerate((1, 2, 2, 2)):
            channels = width * 2**k
            stages.append(
                nn.Sequential(
                    BasicBlock(channels_in, channels, stride), BasicBlock(channels, channels, 1)
                )
            )
            channels_in = channels
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.conv6 = nn.Conv2d(channels_in, 1, 1)
        self.head = FrameHead()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Cell logits (N, ceil(H/32), ceil(W/32)) for ``images`` (N, 3, H, W), BGR in 0..1."""
        height, width = images.shape[-2:]
        pad_h, pad_w = -height % CELL, -width % CELL
        x = (images - MEAN) / STD
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.conv6(x).squeeze(1)


def to_tensor(
    frames: list[np.ndarray] | np.ndarray, device: str | torch.device = "cpu"
) -> torch.Tensor:
    """A (N, 3, H, W) float tensor in 0..1 from BGR uint8 frames of equal size."""
    batch = torch.from_numpy(np.ascontiguousarray(np.stack(list(frames))))
    return batch.to(device).permute(0, 3, 1, 2).float().div_(255.0)


def area_share(probability: torch.Tensor) -> torch.Tensor:
    """v1: share (0..1) of each map's cells above ``CELL_PROBABILITY``."""
    return (probability.flatten(1) > CELL_PROBABILITY).float().mean(dim=1)


def save_model(model: BlockMapNet, path: Path, half: bool = False, **metadata: str) -> None:
    """Write ``model`` to a safetensors file (fp16 storage when ``half``)."""
    from safetensors.torch import save_file

    tensors = {
        name: (t.half() if half and t.is_floating_point() else t).detach().cpu().contiguous()
        for name, t in model.state_dict().items()
        if not name.endswith("num_batches_tracked")
    }
    info = {"format": FORMAT, "width": str(model.width), **metadata}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=info)


def read_metadata(path: Path) -> dict[str, str]:
    """The metadata of weights file ``path`` (BlockModelError when unreadable)."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise BlockModelError(f"{path}: block corruption weights file not found")
    try:
        with safe_open(str(path), "pt") as handle:
            return dict(handle.metadata() or {})
    except Exception as error:  # safetensors raises its own error types and OSError
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise BlockModelError(f"{path}: not a readable safetensors file ({reason})") from None


def load_model(path: Path = DEFAULT_WEIGHTS, device: str | torch.device = "cpu") -> BlockMapNet:
    """The network with the weights in ``path``, in eval mode on ``device``."""
    from safetensors.torch import load_file

    path = Path(path)
    metadata = read_metadata(path)
    if metadata.get("format") != FORMAT:
        raise BlockModelError(
            f"{path}: not block corruption weights (format {metadata.get('format')!r}, "
            f"expected {FORMAT!r})"
        )
    try:
        width = int(metadata["width"])
    except (KeyError, ValueError):
        raise BlockModelError(f"{path}: metadata has no valid 'width'") from None
    try:
        tensors = load_file(str(path))
    except Exception as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise BlockModelError(f"{path}: not a readable safetensors file ({reason})") from None
    model = BlockMapNet(width)
    expected = {
        k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")
    }
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        name = (missing or unexpected)[0]
        problem = "missing" if missing else "unexpected"
        raise BlockModelError(
            f"{path}: does not match the block model (width {width}): {problem} tensor {name!r}"
        )
    for name, tensor in tensors.items():
        if tensor.shape != expected[name].shape:
            raise BlockModelError(
                f"{path}: does not match the block model (width {width}): {name!r} has shape "
                f"{tuple(tensor.shape)}, expected {tuple(expected[name].shape)}"
            )
    model.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=False)
    return model.to(device).eval()

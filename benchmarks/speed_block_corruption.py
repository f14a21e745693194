"""Speed of the block-corruption network and detector: CPU ms per frame, GPU frames/s.

CPU: milliseconds per frame at 360p (the live capture size), 540p and 1080p with 1 and 2
torch threads (network alone, batch 1, and the detector end to end with every frame analysed).
GPU, when CUDA exists: frames/s at 1080p, batch 16, bf16 autocast, for the network and for the
detector; otherwise the table says "no GPU in this session".

Run: ``.venv/bin/python -m benchmarks.speed_block_corruption [--weights FILE]``; writes
``benchmarks/results/block_corruption_speed.md``.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from detectors.block_corruption import BlockCorruptionDetector, BlockCorruptionSettings
from detectors.block_model import DEFAULT_WEIGHTS, load_model, to_tensor
from detectors.media import VideoFrame

RESULTS = Path(__file__).parent / "results" / "block_corruption_speed.md"
SIZES = {"360p": (360, 640), "540p": (540, 960), "1080p": (1080, 1920)}


def _frames(size: tuple[int, int], count: int) -> list[np.ndarray]:
    """``count`` frames of a real photograph (a slow pan) at ``size`` (height, width)."""
    import skimage.data

    photo = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    big = cv2.resize(photo, (size[1] + 2 * count, size[0]))
    return [np.ascontiguousarray(big[:, 2 * k : 2 * k + size[1]]) for k in range(count)]


def network_ms(weights: Path, size: tuple[int, int], repeats: int) -> float:
    """CPU milliseconds per frame of the network alone, batch 1: the fastest of ``repeats``
    runs (the machine is shared; the minimum is the least disturbed)."""
    model = load_model(weights)
    frame = to_tensor(_frames(size, 1))
    times = []
    with torch.inference_mode():
        model(frame)
        for _ in range(repeats):
            started = time.perf_counter()
            model(frame)
            times.append(time.perf_counter() - started)
    return min(times) * 1000


def detector_ms(weights: Path, size: tuple[int, int], repeats: int, threads: int) -> float:
    """Milliseconds per frame of the detector analysing every frame in batches of 4: the
    fastest of ``repeats`` batches."""
    settings = BlockCorruptionSettings(
        sample_interval_s=0, threads=threads, weights=str(weights), batch_frames=4
    )
    detector = BlockCorruptionDetector(settings)
    frames = _frames(size, 4)
    detector.frame_scores(frames[:1])
    times = []
    for r in range(repeats):
        started = time.perf_counter()
        for k, image in enumerate(frames):
            n = r * 4 + k
            detector.feed(VideoFrame(n / 25, n, image))
        times.append((time.perf_counter() - started) / 4)
    detector.flush()
    return min(times) * 1000


def gpu_rates(weights: Path, batch: int = 16, rounds: int = 20) -> tuple[float, float]:
    """(network, detector) frames/s at 1080p on CUDA, bf16 autocast, batch ``batch``."""
    model = load_model(weights, "cuda")
    images = _frames(SIZES["1080p"], batch)
    x = to_tensor(images, "cuda")
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
        for _ in range(3):
            model(x)
        torch.cuda.synchronize()
        started = time.perf_counter()
        for _ in range(rounds):
            model(x)
        torch.cuda.synchronize()
        network = batch * rounds / (time.perf_counter() - started)
    settings = BlockCorruptionSettings(
        sample_interval_s=0, weights=str(weights), batch_frames=batch
    )
    detector = BlockCorruptionDetector(settings)
    started = time.perf_counter()
    for k in range(batch * rounds):
        detector.feed(VideoFrame(k / 25, k, images[k % batch]))
    detector.flush()
    torch.cuda.synchronize()
    return network, batch * rounds / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--repeats", type=int, default=5, help="timed network runs per case")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    lines = [
        "# Block corruption: speed",
        "",
        f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {platform.node()}, {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}; the CPU is shared with other jobs: each figure is the fastest of "
        f"{args.repeats} runs, still an upper bound",
        "- command: `.venv/bin/python -m benchmarks.speed_block_corruption`",
        f"- weights: `{args.weights.name}` (width {load_model(args.weights).width})",
        "",
        "| size | torch threads | network ms/frame (batch 1) | detector ms/frame (every frame) |",
        "|---|---|---|---|",
    ]
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for name, size in SIZES.items():
            net = network_ms(args.weights, size, args.repeats)
            det = detector_ms(args.weights, size, args.repeats, threads)
            lines.append(f"| {name} | {threads} | {net:.0f} | {det:.0f} |")
            print(lines[-1], flush=True)
    lines.append("")
    if torch.cuda.is_available():
        network, detector = gpu_rates(args.weights)
        lines.append(
            f"GPU ({torch.cuda.get_device_name()}), 1080p, batch 16, bf16: network "
            f"{network:.0f} frames/s, detector {detector:.0f} frames/s "
            f"({detector / network:.0%} of the network)."
        )
    else:
        lines.append("GPU: no GPU in this session (frames/s at 1080p not measured).")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

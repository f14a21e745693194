"""Train the block-corruption map network on the crops ``benchmarks.block_data`` made.

Fixed seeds; CUDA when ``torch.cuda.is_available()``, else the CPU with ``--threads`` torch
threads (1 by default, so another training can run beside it). The network is fully
convolutional, so it trains on ``--crop``-pixel squares cut at block-aligned offsets from the
224x224 crops (plus mirror images) and runs on whole frames afterwards. Loss: binary
cross-entropy per 32x32 cell (a cell is corrupted when more than ``CELL_SHARE`` of it is
damaged) plus ``--frame-weight`` times the v2 frame head's binary cross-entropy (a crop is
corrupted when at least 1% of it is damaged; crops with less, but some, damage are left out of
the frame loss). A share of the crops get a player's on-screen display drawn over them (a
darkened band, a progress bar, text): intact graphics the detector must not flag. Other shares
are replaced by intact hard negatives: frames of the virtual device (``--device-share``) and
encoded clips of dense parallel lines, blinds, grilles and weaves (``--stripe-share``,
``block_data.stripe_frames``; off by default: see the model card). Progress lines go to stdout.

Run: ``.venv/bin/python -m benchmarks.train_block_corruption [--steps N] [--data DIR]``;
writes the shipped fp16 weights (``detectors/models/block_corruption.safetensors``) and an fp32
checkpoint under ``benchmarks/.cache/``. ``--average CKPT CKPT ...`` writes the weight average
of fp32 checkpoints instead (how the shipped weights were made: see the model card).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.block_data import (
    DEFAULT_OUT,
    POSITIVE_SHARE,
    stripe_frames,
    virtual_device_frames,
)
from detectors.block_model import CELL, DEFAULT_WEIGHTS, BlockMapNet, load_model, save_model
from detectors.codec_damage import BLOCK

CELL_SHARE = 0.15
"""A 32x32 cell is labelled corrupted when more than this share of it is damaged."""
OSD_SHARE = 0.3
"""Share of training crops that get on-screen graphics drawn over them."""
CHECKPOINT = Path(__file__).parent / ".cache" / "block_corruption_fp32.safetensors"


def add_on_screen_graphics(picture: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``picture`` with a player's on-screen display drawn over a horizontal band: the band
    darkened, a progress bar, a clock or title text (a hard negative: intact UI graphics)."""
    out = picture.copy()
    side = out.shape[1]
    top = int(rng.integers(0, out.shape[0] - 16))
    bottom = min(out.shape[0], top + int(rng.integers(24, 100)))
    out[top:bottom] = (out[top:bottom] * rng.uniform(0.25, 0.75)).astype(np.uint8)
    bar_y = int(rng.integers(top, bottom - 4))
    x0, x1 = int(rng.integers(-side, side // 2)), int(rng.integers(side // 2, 2 * side))
    thickness = int(rng.integers(2, 9))
    cv2.rectangle(out, (x0, bar_y), (x1, bar_y + thickness), (90, 90, 90), -1)
    split = int(rng.integers(x0, x1))
    accent = tuple(int(c) for c in rng.integers(0, 256, 3))
    cv2.rectangle(out, (x0, bar_y), (split, bar_y + thickness), accent, -1)
    if rng.random() < 0.7:
        text = str(rng.choice(["00:12", "Big Buck Bunny", "01:23:45", "Photo Tour", "LIVE"]))
        origin = (int(rng.integers(-40, side - 20)), int(rng.integers(top + 12, bottom + 8)))
        scale = float(rng.uniform(0.4, 0.9))
        cv2.putText(
            out, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA
        )
    return out


def batch_from_crops(
    images: np.ndarray,
    masks: np.ndarray,
    indices: np.ndarray,
    crop: int,
    rng: np.random.Generator,
    osd_share: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Images (N, 3, crop, crop) in 0..1, cell labels (N, crop/32, crop/32) and frame labels
    (N,: 1, 0, or -1 = leave out) from stored crops and their 8-pixel block damage shares."""
    side = images.shape[1]
    blocks, cells = crop // BLOCK, crop // CELL
    pictures, cell_labels, frame_labels = [], [], []
    for index in indices:
        y = int(rng.integers(0, (side - crop) // BLOCK + 1)) * BLOCK
        x = int(rng.integers(0, (side - crop) // BLOCK + 1)) * BLOCK
        picture = images[index, y : y + crop, x : x + crop]
        share = masks[index, y // BLOCK : y // BLOCK + blocks, x // BLOCK : x // BLOCK + blocks]
        if rng.random() < 0.5:
            picture, share = picture[:, ::-1], share[:, ::-1]
        if rng.random() < osd_share:
            picture = add_on_screen_graphics(picture, rng)
        share = share.astype(np.float32) / 255.0
        per_cell = share.reshape(cells, CELL // BLOCK, cells, CELL // BLOCK).mean(axis=(1, 3))
        damaged = float(share.mean())
        pictures.append(picture)
        cell_labels.append(per_cell > CELL_SHARE)
        frame_labels.append(1.0 if damaged >= POSITIVE_SHARE else 0.0 if damaged == 0 else -1.0)
    batch = torch.from_numpy(np.ascontiguousarray(np.stack(pictures))).permute(0, 3, 1, 2)
    return (
        batch.float() / 255.0,
        torch.from_numpy(np.stack(cell_labels).astype(np.float32)),
        torch.tensor(frame_labels),
    )


def _negative_crop(pool: list[np.ndarray], crop: int, rng: np.random.Generator) -> torch.Tensor:
    """A random ``crop`` square of a random picture of ``pool`` (intact), as a (3, crop, crop)
    tensor in 0..1."""
    picture = pool[int(rng.integers(len(pool)))]
    y = int(rng.integers(0, picture.shape[0] - crop + 1))
    x = int(rng.integers(0, picture.shape[1] - crop + 1))
    square = np.ascontiguousarray(picture[y : y + crop, x : x + crop])
    return torch.from_numpy(square).permute(2, 0, 1).float() / 255.0


def replace_with_negatives(
    images: torch.Tensor,
    cells: torch.Tensor,
    frames: torch.Tensor,
    pools: list[tuple[list[np.ndarray], float]],
    rng: np.random.Generator,
) -> None:
    """In place: each crop of the batch is, with a pool's share (0..1) as its chance, replaced
    by a random square of one of that pool's intact pictures and labelled intact. Empty pools
    and zero shares take nothing; the shares must be >= 0 and sum to at most 1."""
    shares = [share for _, share in pools]
    if min(shares, default=0.0) < 0 or sum(shares) > 1:
        raise ValueError(f"negative pool shares must be >= 0 and sum to at most 1, got {shares}")
    pools = [(pool, share) for pool, share in pools if pool and share > 0]
    if not pools:
        return
    draws = rng.random(len(images))
    bounds = np.cumsum([share for _, share in pools])
    for k in np.nonzero(draws < bounds[-1])[0]:
        pool = pools[int(np.searchsorted(bounds, draws[k], side="right"))][0]
        images[k] = _negative_crop(pool, images.shape[-1], rng)
        cells[k], frames[k] = 0.0, 0.0


def loss_of(
    model: BlockMapNet,
    images: torch.Tensor,
    cells: torch.Tensor,
    frames: torch.Tensor,
    frame_weight: float,
) -> torch.Tensor:
    """Cell BCE + ``frame_weight`` x frame-head BCE (frames labelled -1 left out)."""
    logits = model(images)
    loss = F.binary_cross_entropy_with_logits(logits, cells)
    known = frames >= 0
    if frame_weight > 0 and bool(known.any()):
        frame_logits = model.head(torch.sigmoid(logits))
        loss = loss + frame_weight * F.binary_cross_entropy_with_logits(
            frame_logits[known], frames[known]
        )
    return loss


def train(
    images: np.ndarray,
    masks: np.ndarray,
    steps: int,
    *,
    width: int = 24,
    batch: int = 32,
    crop: int = 160,
    lr: float = 2e-3,
    frame_weight: float = 0.5,
    seed: int = 0,
    osd_share: float = OSD_SHARE,
    init: BlockMapNet | None = None,
    negative_pools: list[tuple[list[np.ndarray], float]] | None = None,
    device: str = "cpu",
    log: Callable[[str], None] = print,
    log_every: int = 25,
) -> tuple[BlockMapNet, list[float]]:
    """Train a ``BlockMapNet`` (new, or ``init`` fine-tuned) for ``steps`` batches; returns it
    and the loss per step. ``negative_pools`` holds (intact pictures, share 0..1) pairs: that
    share of the crops is replaced by crops of the pool's pictures, labelled intact."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = (init or BlockMapNet(width)).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lr, total_steps=max(steps, 2), pct_start=0.1
    )
    losses: list[float] = []
    started = time.monotonic()
    for step in range(1, steps + 1):
        indices = rng.integers(0, len(images), batch)
        x, cells, frames = batch_from_crops(images, masks, indices, crop, rng, osd_share)
        replace_with_negatives(x, cells, frames, negative_pools or [], rng)
        loss = loss_of(model, x.to(device), cells.to(device), frames.to(device), frame_weight)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
        if step % log_every == 0 or step == steps:
            elapsed = time.monotonic() - started
            recent = np.mean(losses[-log_every:])
            eta = elapsed / step * (steps - step)
            log(
                f"step {step}/{steps} loss {recent:.4f} "
                f"({elapsed / step:.2f} s/step, {elapsed / 60:.1f} min, eta {eta / 60:.1f} min)"
            )
    return model.eval(), losses


def average_models(models: list[BlockMapNet]) -> BlockMapNet:
    """A network whose weights and batch-norm statistics are the uniform mean of ``models``'
    (a "model soup", for models fine-tuned from one checkpoint). All must have the same width."""
    if not models:
        raise ValueError("average_models: needs at least one model")
    widths = {model.width for model in models}
    if len(widths) != 1:
        raise ValueError(f"average_models: needs models of one width, got {sorted(widths)}")
    states = [model.state_dict() for model in models]
    out = BlockMapNet(widths.pop())
    out.load_state_dict(
        {
            name: sum(state[name] for state in states) / len(states)
            if tensor.is_floating_point()
            else tensor
            for name, tensor in states[0].items()
        }
    )
    return out.eval()


def _write_average(checkpoints: list[Path], out: Path, checkpoint: Path) -> int:
    try:
        model = average_models([load_model(path) for path in checkpoints])
    except ValueError as error:  # BlockModelError included
        print(f"error: {error}")
        return 2
    info = {"train_init": "average of " + ", ".join(path.name for path in checkpoints)}
    save_model(model, checkpoint, **info)
    save_model(model, out, half=True, **info)
    print(f"averaged {len(checkpoints)} checkpoints; wrote {out} and {checkpoint}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_OUT, help="block_data output folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS, help="shipped fp16 weights")
    parser.add_argument("--checkpoint", type=Path, default=CHECKPOINT, help="fp32 checkpoint")
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--batch", type=int, default=24)
    parser.add_argument("--crop", type=int, default=160, help="pixels, a multiple of 32")
    parser.add_argument("--width", type=int, default=24, help="first-stage channels (64: ResNet18)")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--frame-weight", type=float, default=0.5)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--osd-share", type=float, default=OSD_SHARE, help="share of crops with on-screen graphics"
    )
    parser.add_argument("--init", type=Path, help="fp32 checkpoint to fine-tune instead of new")
    parser.add_argument(
        "--device-share",
        type=float,
        default=0.15,
        help="share of crops replaced by intact frames of the virtual device (menus, titles)",
    )
    parser.add_argument(
        "--stripe-share",
        type=float,
        default=0.0,
        help="share of crops replaced by intact dense-line pictures (blinds, grilles, weaves)",
    )
    parser.add_argument(
        "--stripe-clips", type=int, default=48, help="encoded clips of dense-line pictures"
    )
    parser.add_argument(
        "--average",
        type=Path,
        nargs="+",
        metavar="CHECKPOINT",
        help="write the weight average of these checkpoints (two or more, fp32 ones keep full "
        "precision) instead of training; only --out and --checkpoint apply",
    )
    args = parser.parse_args(argv)
    if args.average:
        if len(args.average) < 2:
            parser.error(f"--average needs two or more checkpoints, got {len(args.average)}")
        return _write_average(args.average, args.out, args.checkpoint)
    if min(args.device_share, args.stripe_share) < 0 or args.device_share + args.stripe_share > 1:
        parser.error(
            "--device-share and --stripe-share must be >= 0 and sum to at most 1, "
            f"got {args.device_share} and {args.stripe_share}"
        )
    if args.stripe_share > 0 and args.stripe_clips < 1:
        parser.error(f"--stripe-clips must be >= 1 with --stripe-share, got {args.stripe_clips}")
    if args.crop % CELL or args.crop > 224:
        parser.error(f"--crop must be a multiple of {CELL} up to 224, got {args.crop}")
    torch.set_num_threads(args.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        images = np.load(args.data / "train_images.npy", mmap_mode="r")
        masks = np.load(args.data / "train_masks.npy")
    except (OSError, ValueError) as error:
        print(f"error: {args.data}: no training data ({error}); run benchmarks.block_data first")
        return 2
    print(
        f"training on {len(images)} crops, {args.steps} steps of {args.batch} x {args.crop}px, "
        f"width {args.width}, device {device}, {args.threads} thread(s)",
        flush=True,
    )
    images = np.ascontiguousarray(images)  # into memory: random access
    started = time.monotonic()
    model, losses = train(
        images,
        masks,
        args.steps,
        width=args.width,
        batch=args.batch,
        crop=args.crop,
        lr=args.lr,
        frame_weight=args.frame_weight,
        seed=args.seed,
        osd_share=args.osd_share,
        init=load_model(args.init) if args.init else None,
        negative_pools=[
            (virtual_device_frames() if args.device_share > 0 else [], args.device_share),
            (stripe_frames(args.stripe_clips) if args.stripe_share > 0 else [], args.stripe_share),
        ],
        device=device,
        log=lambda line: print(line, flush=True),
    )
    seconds = time.monotonic() - started
    info = {
        "train_seconds": f"{seconds:.0f}",
        "train_steps": str(args.steps),
        "train_batch": str(args.batch),
        "train_crop": str(args.crop),
        "train_device": device if device == "cuda" else f"cpu x{args.threads} thread(s)",
        "train_machine": platform.node(),
        "final_loss": f"{np.mean(losses[-50:]):.4f}",
        "train_lr": str(args.lr),
        "train_osd_share": str(args.osd_share),
        "train_device_share": str(args.device_share),
        "train_stripe_share": str(args.stripe_share),
        "train_stripe_clips": str(args.stripe_clips),
        "train_seed": str(args.seed),
        "train_init": args.init.name if args.init else "none",
    }
    save_model(model.cpu(), args.checkpoint, **info)
    save_model(model, args.out, half=True, **info)
    print(f"trained in {seconds / 60:.1f} min; wrote {args.out} and {args.checkpoint}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

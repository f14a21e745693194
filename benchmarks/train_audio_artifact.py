"""Train the ``audio_artifact`` classifier on simulated defects.

    .venv/bin/python benchmarks/train_audio_artifact.py \\
        [--per-class 1600] [--epochs 6] [--aac-share 0.25] [--threads 1] \\
        [--init OLD.safetensors] [--no-segment-features] \\
        [--out detectors/models/audio_artifact.safetensors]

Builds the training and validation splits of ``benchmarks/audio_data.py`` (cached under
``benchmarks/.cache/``), trains ``AudioArtifactNet`` (by default with its segment features;
``--init`` starts from an earlier model's weights where they fit, e.g. a CNN-only one) with
AdamW and a one-cycle learning rate, keeps the epoch with the best validation balanced
accuracy and writes it as safetensors with its training facts in the metadata. Seeds are
fixed (same data, same initial weights, same batch order); uses CUDA when available, else the
CPU with ``--threads`` threads. Prints a progress line every ``--log-every`` batches.
"""

from __future__ import annotations

import argparse
import copy
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

from detectors.audio_model import CLASSES, AudioArtifactNet, load_classifier, save_classifier

try:
    from benchmarks.audio_data import Split, build_split, source_lists
except ImportError:  # run as a script: benchmarks/ itself is on sys.path
    from audio_data import Split, build_split, source_lists  # type: ignore[no-redef]

CACHE = Path(__file__).resolve().parent / ".cache"


def cached_split(
    split: str,
    per_class: int,
    seed: int,
    aac_share: float,
    kind_weights: dict[str, int] | None = None,
) -> Split:
    """``build_split`` with its arrays cached in ``benchmarks/.cache`` (keyed by arguments and
    the split's source lists: ``source_lists(split)``)."""
    weighted = sorted((kind_weights or {}).items())
    weight = "".join(f"_{kind}{n}" for kind, n in weighted if n != 1)
    path = (
        CACHE / f"audio_{split}_{per_class}_{seed}_{aac_share:g}{weight}_{source_lists(split)}.npz"
    )
    if path.is_file():
        saved = np.load(path, allow_pickle=False)
        if "strength_db" in saved:  # else made before strengths were kept: built again
            return Split(
                saved["audio"],
                saved["labels"],
                list(saved["sources"]),
                list(saved["notes"]),
                saved["aac"],
                saved["strength_db"],
            )
    started = time.perf_counter()
    print(f"building {split} split: {per_class} segments per class ...", flush=True)
    data = build_split(split, per_class, seed, aac_share, progress=True, kind_weights=kind_weights)
    print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        audio=data.audio,
        labels=data.labels,
        sources=np.array(data.sources),
        notes=np.array(data.notes),
        aac=data.aac,
        strength_db=data.strength_db,
    )
    return data


def start_from(model: AudioArtifactNet, path: Path) -> AudioArtifactNet:
    """``model`` with the weights of the classifier in ``path`` copied in where they fit.

    Tensors of the same name and shape are copied; the hidden layer's weight, when ``model``
    has more inputs (the segment features added to a CNN-only model), gets the old columns
    first and keeps its fresh initialisation for the new ones. The rest stays as initialised.
    """
    old = load_classifier(path).state_dict()
    state = model.state_dict()
    for name, tensor in old.items():
        if name not in state:
            continue
        if state[name].shape == tensor.shape:
            state[name] = tensor
        elif name == "fc.weight" and state[name].shape[0] == tensor.shape[0]:
            state[name][:, : tensor.shape[1]] = tensor
    model.load_state_dict(state)
    return model


def confusion_matrix(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """(classes x classes) counts: row = true class, column = predicted class."""
    matrix = np.zeros((len(CLASSES), len(CLASSES)), dtype=np.int64)
    np.add.at(matrix, (truth, predicted), 1)
    return matrix


def balanced_accuracy(matrix: np.ndarray) -> float:
    """Mean per-class recall of a confusion matrix (classes without examples left out)."""
    totals = matrix.sum(axis=1)
    recalls = np.diag(matrix)[totals > 0] / totals[totals > 0]
    return float(recalls.mean()) if len(recalls) else 0.0


def predict(model: AudioArtifactNet, audio: np.ndarray, batch: int = 256) -> np.ndarray:
    """Class probabilities (N, classes) for (N, samples) segments at the model rate."""
    device = next(model.parameters()).device
    model.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(audio), batch):
            x = torch.from_numpy(audio[start : start + batch]).to(device)
            out.append(torch.softmax(model(x), dim=1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(CLASSES)), np.float32)


def train(
    model: AudioArtifactNet,
    train_data: Split,
    val_data: Split | None,
    epochs: int,
    batch: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
    log_every: int = 50,
    max_steps: int | None = None,
    checkpoint: Path | None = None,
    tilt: float = 0.0,
    clean_tail: float = 0.0,
) -> tuple[AudioArtifactNet, list[float], dict]:
    """Train ``model``; returns the best model (by validation balanced accuracy, else the
    last), the loss of every step, and a summary dict. With ``checkpoint``, the best model so
    far is also written there after each epoch that improves it (a run stopped early keeps
    it).

    Each batch gets a random gain (+-6 dB) and polarity per segment and, with ``tilt`` > 0, a
    random spectral tilt: x + a * (first difference of x), ``a`` uniform in +-``tilt`` (0 dB
    at 0 Hz, 20 * log10(1 + 2a) dB at 8 kHz), so brighter or duller sources than the
    training ones are heard too.

    With ``clean_tail`` > 0 the loss gains ``clean_tail`` times the mean of -log P(none) over
    the hardest quarter of the batch's clean segments (``clean_tail_loss``): the clean
    segments scored most defective set the threshold that keeps false alarms rare."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device)
    generator = np.random.default_rng(seed)
    steps_per_epoch = max(1, len(train_data.labels) // batch)
    total = (
        epochs * steps_per_epoch if max_steps is None else min(max_steps, epochs * steps_per_epoch)
    )
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-3)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr, total_steps=total)
    loss_fn = torch.nn.CrossEntropyLoss()
    losses: list[float] = []
    best, best_score, best_epoch = copy.deepcopy(model.state_dict()), -1.0, 0
    started = time.perf_counter()
    step = 0
    for epoch in range(1, epochs + 1):
        model.train()
        order = generator.permutation(len(train_data.labels))
        for i in range(steps_per_epoch):
            if step >= total:
                break
            index = np.sort(order[i * batch : (i + 1) * batch])
            x = train_data.audio[index]
            gain = 10.0 ** (generator.uniform(-6.0, 6.0, size=(len(index), 1)) / 20.0)
            sign = generator.choice((-1.0, 1.0), size=(len(index), 1))
            x = x * gain * sign
            if tilt > 0:
                a = generator.uniform(-tilt, tilt, size=(len(index), 1))
                x = x + a * np.diff(x, axis=1, prepend=x[:, :1])
            x = torch.from_numpy(x.astype(np.float32)).to(device)
            y = torch.from_numpy(train_data.labels[index]).to(device)
            logits = model(x)
            loss = loss_fn(logits, y)
            if clean_tail > 0:
                loss = loss + clean_tail * clean_tail_loss(logits, y)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(loss.item())
            step += 1
            if log_every and step % log_every == 0:
                elapsed = time.perf_counter() - started
                print(
                    f"epoch {epoch}/{epochs} step {step}/{total} loss "
                    f"{np.mean(losses[-log_every:]):.4f} elapsed {elapsed:.0f} s "
                    f"eta {elapsed / step * (total - step):.0f} s",
                    flush=True,
                )
        if val_data is not None:
            predicted = predict(model, val_data.audio).argmax(axis=1)
            score = balanced_accuracy(confusion_matrix(val_data.labels, predicted))
            print(f"epoch {epoch}: validation balanced accuracy {score:.4f}", flush=True)
            if score > best_score:
                best, best_score, best_epoch = copy.deepcopy(model.state_dict()), score, epoch
                if checkpoint is not None:
                    facts = {"epoch": epoch, "validation_balanced_accuracy": round(score, 4)}
                    save_classifier(
                        copy.deepcopy(model).cpu().eval(), checkpoint, {"training": facts}
                    )
        if step >= total:
            break
    if val_data is not None:
        model.load_state_dict(best)
    summary = {
        "steps": step,
        "train_wall_s": round(time.perf_counter() - started, 1),
        "best_epoch": best_epoch,
        "validation_balanced_accuracy": round(best_score, 4),
        "device": str(device),
    }
    return model.cpu().eval(), losses, summary


def clean_tail_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean -log P(none) over the hardest quarter (at least one) of the clean (label 0)
    segments among (batch, classes) ``logits``; 0 when the batch holds none."""
    clean = -torch.log_softmax(logits[labels == 0], dim=1)[:, 0]
    if clean.numel() == 0:
        return logits.sum() * 0.0
    return clean.topk(max(1, clean.numel() // 4)).values.mean()


def _kind_weights(text: str) -> dict[str, int]:
    """``KIND=N,...`` (N a whole number >= 1) as a dict; empty text: no weights."""
    weights = {}
    for part in filter(None, text.split(",")):
        kind, _, count = part.partition("=")
        if not count.isdigit() or int(count) < 1:
            raise argparse.ArgumentTypeError(f"--kind-weights: {part!r} is not KIND=N (N >= 1)")
        weights[kind.strip()] = int(count)
    return weights


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=1600, help="training segments per class")
    parser.add_argument("--val-per-class", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--width", type=int, default=16, help="channels of the first conv block")
    parser.add_argument("--kernel", type=int, default=3, help="conv kernel size")
    parser.add_argument(
        "--segment-features",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="join the CNN with the deterministic segment features (SegmentFeatures)",
    )
    parser.add_argument("--aac-share", type=float, default=0.25, help="share of AAC-coded segments")
    parser.add_argument(
        "--kind-weights",
        type=_kind_weights,
        default={},
        help="draw these source kinds N times as often as the others, e.g. device=2,music=2",
    )
    parser.add_argument(
        "--cnn-dropout",
        type=float,
        default=0.0,
        help="dropout on the CNN embedding in training (with segment features)",
    )
    parser.add_argument(
        "--tilt", type=float, default=0.0, help="random spectral tilt, first-difference weight"
    )
    parser.add_argument(
        "--clean-tail",
        type=float,
        default=0.0,
        help="weight of the extra loss on the hardest quarter of each batch's clean segments",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch")
    parser.add_argument("--log-every", type=int, default=50)
    parser.add_argument(
        "--init",
        type=Path,
        default=None,
        help="start from these weights where they fit (fine-tune) instead of scratch",
    )
    parser.add_argument(
        "--checkpoint", type=Path, default=None, help="write the best model here after each epoch"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("detectors/models/audio_artifact.safetensors")
    )
    args = parser.parse_args(argv)
    if args.clean_tail < 0:
        parser.error(f"--clean-tail must be >= 0, got {args.clean_tail}")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    started = time.perf_counter()
    train_data = cached_split("train", args.per_class, args.seed, args.aac_share, args.kind_weights)
    val_data = cached_split("validation", args.val_per_class, args.seed, args.aac_share)
    data_s = time.perf_counter() - started
    print(
        f"data ready in {data_s:.0f} s: {len(train_data.labels)} train, "
        f"{len(val_data.labels)} validation segments",
        flush=True,
    )
    model = AudioArtifactNet(
        width=args.width,
        kernel=args.kernel,
        segment_features=args.segment_features,
        cnn_dropout=args.cnn_dropout,
    )
    if args.init is not None:
        model = start_from(model, args.init)
    model, _, summary = train(
        model,
        train_data,
        val_data,
        args.epochs,
        args.batch,
        args.lr,
        args.seed,
        args.log_every,
        checkpoint=args.checkpoint,
        tilt=args.tilt,
        clean_tail=args.clean_tail,
    )
    summary.update(
        data_wall_s=round(data_s, 1),
        init=None if args.init is None else str(args.init),
        threads=args.threads,
        command=shlex.join(
            [".venv/bin/python", "benchmarks/train_audio_artifact.py", *(argv or sys.argv[1:])]
        ),
        train_segments=len(train_data.labels),
        train_sources=sorted(set(train_data.sources)),
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    )
    save_classifier(model, args.out, {"training": summary})
    print(f"wrote {args.out}: {summary}", flush=True)


if __name__ == "__main__":
    main()

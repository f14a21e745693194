"""Evaluate the ``audio_artifact`` classifier on sources it never trained on.

    .venv/bin/python benchmarks/eval_audio_artifact.py [--per-class 500] [--seed 9] \\
        [--weights detectors/models/audio_artifact.safetensors] \\
        [--out benchmarks/results/audio_artifact.md]

Builds (and caches in ``benchmarks/.cache``) the test split of ``benchmarks/audio_data.py``
(test sources only: no voice, text, recording or synthetic pattern of it is in training)
twice from one seed: as simulated
(48 kHz) and after an AAC round trip (what a capture of the virtual device delivers). For
each it reports balanced accuracy (mean per-class recall of the arg-max class), per-class
recall, the confusion matrix, and the clean-segment false-flag rate: the share of ``none``
segments whose defect probability (1 - P(none)) reaches the detector's default threshold,
with the sources they came from. Then the same at a calibrated operating point: the defect
threshold ``t`` chosen on the validation split (the one training selects its epoch on, never
the test split) as the lowest value, not under the default, at which at most
``--max-clean-flagged`` of its clean segments are flagged; a segment is "none" when
1 - P(none) < t, else its most probable defect class. Speed: the detector (resampling +
network, segment features included if the model has them) over 60 s of stereo 48 kHz audio on
one torch thread, as x real time, at hops of 0.5 s (default) and 1 s (median and range
of five runs after a warm-up). Writes the tables to
``--out`` with the date, machine and command.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from detectors.audio_artifact import AudioArtifactDetector, AudioArtifactSettings
from detectors.audio_model import CLASSES, DEFAULT_WEIGHTS, load_classifier
from detectors.media import AudioChunk

try:
    from benchmarks.audio_data import RATE, sources
    from benchmarks.eval_detectors import machine_description
    from benchmarks.train_audio_artifact import (
        balanced_accuracy,
        cached_split,
        confusion_matrix,
        predict,
    )
except ImportError:  # run as a script: benchmarks/ itself is on sys.path
    from audio_data import RATE, sources  # type: ignore[no-redef]
    from eval_detectors import machine_description  # type: ignore[no-redef]
    from train_audio_artifact import (  # type: ignore[no-redef]
        balanced_accuracy,
        cached_split,
        confusion_matrix,
        predict,
    )

THRESHOLD = AudioArtifactSettings().threshold


def decide(probabilities: np.ndarray, threshold: float) -> np.ndarray:
    """Class per segment: "none" (0) when the defect probability 1 - P(none) is under
    ``threshold``, else the most probable defect class."""
    defect = probabilities[:, 1:].argmax(axis=1) + 1
    return np.where(1.0 - probabilities[:, 0] < threshold, 0, defect)


def calibrate(probabilities: np.ndarray, labels: np.ndarray, max_clean_flagged: float) -> float:
    """The lowest defect threshold (not under the detector's default) at which at most a share
    ``max_clean_flagged`` of the clean (label 0) segments reach it."""
    scores = np.sort(1.0 - probabilities[labels == 0, 0])[::-1]
    allowed = int(np.floor(max_clean_flagged * len(scores)))
    if allowed >= len(scores):
        return THRESHOLD
    return float(min(max(THRESHOLD, np.nextafter(scores[allowed], 1.0)), 1.0 - 1e-6))


def evaluate(model, data, threshold: float = THRESHOLD, probabilities=None) -> dict:
    """Metrics of ``model`` on a built split at a defect ``threshold``."""
    if probabilities is None:
        probabilities = predict(model, data.audio)
    matrix = confusion_matrix(data.labels, decide(probabilities, threshold))
    clean = data.labels == 0
    flagged = clean & (1.0 - probabilities[:, 0] >= threshold)
    return {
        "balanced_accuracy": balanced_accuracy(matrix),
        "recall": np.diag(matrix) / np.maximum(matrix.sum(axis=1), 1),
        "matrix": matrix,
        "clean": int(clean.sum()),
        "flagged": int(flagged.sum()),
        "flagged_sources": Counter(s for s, f in zip(data.sources, flagged, strict=True) if f),
    }


STRENGTH_BINS_DB = (-30.0, -20.0, -10.0)
"""Edges (dB, ``audio_data.defect_to_content_db``) of the strength bins of the recall table."""


def strength_table(data, probabilities: np.ndarray, threshold: float) -> list[str]:
    """Markdown rows: per defect class and strength bin, the share of segments given the right
    class and the share flagged as any defect, with the count."""
    predicted = decide(probabilities, threshold)
    bins = np.digitize(data.strength_db, STRENGTH_BINS_DB)
    edges = [-np.inf, *STRENGTH_BINS_DB, np.inf]
    names = [f"{a:g} .. {b:g} dB" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    rows = ["| class | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for k, name in enumerate(CLASSES[1:], start=1):
        cells = []
        for b in range(len(names)):
            sel = (data.labels == k) & (bins == b)
            if not sel.any():
                cells.append("-")
                continue
            right, flagged = (predicted[sel] == k).mean(), (predicted[sel] != 0).mean()
            cells.append(f"{right:.2f} / {flagged:.2f} ({int(sel.sum())})")
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return rows


def speed(weights: Path, hop_s: float, seconds: float = 60.0, repeats: int = 5) -> list[float]:
    """The detector's speed on ``seconds`` of stereo 48 kHz music, x real time, once per
    repeat after a warm-up pass (a fresh process's first network calls are several times
    slower)."""
    rng = np.random.default_rng(0)
    music = [s.audio for s in sources("test") if s.kind == "music"][0][: int(seconds * RATE)]
    stereo = np.repeat(music[:, None], 2, axis=1) + rng.normal(0, 1e-3, (len(music), 2))
    stereo = stereo.astype(np.float32)
    settings = AudioArtifactSettings(hop_s=hop_s, weights=str(weights))

    def run(audio: np.ndarray) -> float:
        detector = AudioArtifactDetector(settings)
        started = time.perf_counter()
        for start in range(0, len(audio), 1920):
            detector.feed(AudioChunk(start / RATE, audio[start : start + 1920], RATE))
        detector.flush()
        return len(audio) / RATE / (time.perf_counter() - started)

    run(stereo[: 5 * RATE])
    return [run(stereo) for _ in range(repeats)]


def _matrix_table(matrix: np.ndarray) -> list[str]:
    lines = [
        "| true \\ predicted | " + " | ".join(CLASSES) + " |",
        "|---" * (len(CLASSES) + 1) + "|",
    ]
    for name, row in zip(CLASSES, matrix, strict=True):
        lines.append(f"| {name} | " + " | ".join(str(int(v)) for v in row) + " |")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=500, help="test segments per class")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument(
        "--val-per-class",
        type=int,
        default=1500,
        help="validation segments per class the threshold is calibrated on (at 0.5 %% flagged, "
        "300 would rest the threshold on the two highest clean scores)",
    )
    parser.add_argument(
        "--max-clean-flagged",
        type=float,
        default=0.005,
        help="share of clean validation segments the calibrated threshold may flag",
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/audio_artifact.md"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    started = time.perf_counter()
    model = load_classifier(args.weights)
    from safetensors import safe_open

    with safe_open(str(args.weights), framework="pt") as handle:
        training = handle.metadata().get("training", "{}")
    print("building the validation split (the training script's) ...", flush=True)
    validation = cached_split("validation", args.val_per_class, 0, aac_share=0.25)
    val_probabilities = predict(model, validation.audio)
    calibrated = calibrate(val_probabilities, validation.labels, args.max_clean_flagged)
    results = {}
    for t in (THRESHOLD, calibrated):
        results[f"validation, t = {t:.4g}"] = evaluate(model, validation, t, val_probabilities)
    strengths = []
    for name, share in (("simulated (48 kHz)", 0.0), ("after AAC round trip", 1.0)):
        print(f"building the test split, {name} ...", flush=True)
        data = cached_split("test", args.per_class, args.seed, aac_share=share)
        probabilities = predict(model, data.audio)
        for t in (THRESHOLD, calibrated):
            results[f"test {name}, t = {t:.4g}"] = evaluate(model, data, t, probabilities)
            if share == 0.0:
                strengths += ["", f"Test simulated (48 kHz), t = {t:.4g}:", ""]
                strengths += strength_table(data, probabilities, t)
    for name, r in results.items():
        print(
            f"  {name}: balanced accuracy {r['balanced_accuracy']:.4f}, clean flagged "
            f"{r['flagged']}/{r['clean']}",
            flush=True,
        )
    test_sources = sorted(set(data.sources))
    speeds = {hop: speed(args.weights, hop) for hop in (0.5, 1.0)}
    wall = time.perf_counter() - started
    branch = " + segment features" if model.segment_features is not None else ""
    command = shlex.join(
        [".venv/bin/python", "benchmarks/eval_audio_artifact.py", *(argv or sys.argv[1:])]
    )
    lines = [
        "# audio_artifact classifier on unseen test sources",
        "",
        f"- date: {time.strftime('%a %b %d %H:%M:%S UTC %Y', time.gmtime())}",
        f"- machine: {machine_description()}, load average {os.getloadavg()[0]:.1f} "
        "(the machine was shared with other jobs)",
        f"- command: `{command}`",
        f"- weights: `{args.weights}`; training metadata: `{training}`",
        f"- test split: {args.per_class} segments per class (1 s each), seed {args.seed}; "
        f"sources: {', '.join(test_sources)}",
        f"- a segment is defective when 1 - P(none) >= t: t = {THRESHOLD} (the detector's "
        f"default) and t = {calibrated:.4g}, calibrated on the validation split "
        f"({args.val_per_class} segments per class, seed 0, AAC share 0.25; sources: "
        f"{', '.join(sorted(set(validation.sources)))}) to flag at most "
        f"{args.max_clean_flagged:.1%} of its clean segments",
        f"- wall time: {wall:.0f} s",
        "",
        "| split, condition, threshold | balanced accuracy | "
        + " | ".join(f"recall {c}" for c in CLASSES)
        + " | clean segments flagged |",
        "|---" * (len(CLASSES) + 3) + "|",
    ]
    for name, r in results.items():
        recalls = " | ".join(f"{v:.4f}" for v in r["recall"])
        rate = r["flagged"] / max(r["clean"], 1)
        lines.append(
            f"| {name} | {r['balanced_accuracy']:.4f} | {recalls} | "
            f"{r['flagged']}/{r['clean']} ({rate:.2%}) |"
        )
    for name, r in results.items():
        if not name.startswith("test"):
            continue
        lines += ["", f"Confusion matrix, {name}:", "", *_matrix_table(r["matrix"])]
        if r["flagged_sources"]:
            flagged = ", ".join(f"{s} {n}" for s, n in r["flagged_sources"].most_common())
            lines += ["", f"Flagged clean segments by source: {flagged}"]
    lines += [
        "",
        "Recall by defect strength (`audio_data.defect_to_content_db`: the energy the defect "
        "changed over the content's, dB): right class / flagged as any defect (segments).",
        *strengths,
    ]
    lines += [
        "",
        f"Speed of the detector (resampling to 16 kHz + log-mel + CNN{branch}, 1 torch thread, "
        f"60 s of stereo 48 kHz music, {len(next(iter(speeds.values())))} runs after a warm-up):",
        "",
        "| hop | segments per second of audio | x real time, median | slowest .. fastest |",
        "|---|---|---|---|",
    ]
    for hop, xs in speeds.items():
        lines.append(
            f"| {hop:g} s | {1 / hop:g} | {np.median(xs):.0f} | {min(xs):.0f} .. {max(xs):.0f} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Score onglass's detectors and FFmpeg's (freezedetect, blackdetect, mpdecimate) on a corpus.

    .venv/bin/python benchmarks/eval_detectors.py CORPUS_DIR [--out FILE] [--split test]

CORPUS_DIR holds ``manifest.json`` (schema ``onglass.corpus/1``, written by
``benchmarks/corpus.py``) and the clips it lists. onglass runs with default settings through
``harness.analyze.analyze_file``, exactly as ``onglass analyze`` does; each FFmpeg filter runs
with its own defaults and with thresholds tuned on the validation split (grid search, best F1).

Scoring, per detector (``freeze``, ``black``, ``stutter``) on the chosen split:

* a detection matches a label of the same detector when their time intervals have
  IoU >= 0.5, pairs taken greedily by best IoU, one to one; matched = TP, other detections
  FP, other labels FN;
* a detection overlapping (IoU > 0) one of the clip's ``expected`` spans that excuses its
  detector (``still`` excuses freeze and stutter, ``black`` excuses black) is set aside
  before matching: neither TP nor FP;
* start / end errors: medians over matched pairs of ``|detection - label| * fps``, in frames;
* FP/h: false positives on hard-negative clips per hour of hard-negative video.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av

from detectors.event import Event
from detectors.registry import build_detectors
from harness.analyze import analyze_file

try:
    from benchmarks.ffmpeg_baselines import (
        BaselineError,
        Config,
        configs_of,
        mpdecimate_backend,
        run_baselines,
    )
except ImportError:  # run as a script: benchmarks/ itself is on sys.path
    from ffmpeg_baselines import (  # type: ignore[no-redef]
        BaselineError,
        Config,
        configs_of,
        mpdecimate_backend,
        run_baselines,
    )

MIN_IOU = 0.5
"""Smallest interval IoU at which a detection matches a label."""

IOU_SLACK = 1e-9
"""Float slack on ``MIN_IOU``: a 2-frame detection over a 1-frame label is IoU 0.5 exactly in
frames but can come out a hair under it in seconds."""

EXCUSES: dict[str, frozenset[str]] = {
    "still": frozenset({"freeze", "stutter"}),
    "black": frozenset({"black"}),
}
"""Which detectors an ``expected`` span of each kind excuses."""

GRIDS: dict[str, dict[str, list[float]]] = {
    "freezedetect": {
        "noise": [0.0005, 0.001, 0.002, 0.003, 0.005, 0.01],
        "duration_s": [0.04, 0.1, 0.25, 0.5, 1, 2],
    },
    "blackdetect": {
        "pixel_threshold": [0.05, 0.1, 0.15],
        "picture_threshold": [0.9, 0.95, 0.98],
        "duration_s": [0.04, 0.1, 0.25, 0.5, 2],
    },
    "mpdecimate": {"hi": [256, 512, 768, 1024], "lo": [64, 128, 320], "frac": [0.1, 0.33, 0.5]},
}
"""The thresholds tried when tuning each FFmpeg filter on the validation split."""

DETECTORS: tuple[str, ...] = ("freeze", "black", "stutter")
"""The onglass detectors this corpus labels and this script scores."""

TOOL_DETECTORS: dict[str, tuple[str, ...]] = {
    "freezedetect": ("freeze",),
    "blackdetect": ("black",),
    "mpdecimate": ("stutter", "freeze"),
}
"""The onglass detector(s) each FFmpeg filter's events are scored as."""


# --- corpus -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clip:
    """One clip of the corpus manifest."""

    file: str
    path: Path
    split: str
    category: str
    fps: float
    duration_s: float
    labels: tuple[dict[str, Any], ...] = ()
    expected: tuple[dict[str, Any], ...] = ()
    negative_type: str | None = None

    @property
    def hard_negative(self) -> bool:
        return self.category == "hard_negative"


def load_corpus(corpus_dir: str | Path) -> tuple[dict[str, Any], list[Clip]]:
    """The manifest of ``corpus_dir`` and its clips."""
    corpus_dir = Path(corpus_dir)
    manifest = json.loads((corpus_dir / "manifest.json").read_text())
    clips = []
    for c in manifest.get("clips", []):
        fps = float(c.get("fps") or 25.0)
        clips.append(
            Clip(
                file=c["file"],
                path=corpus_dir / c["file"],
                split=c.get("split", "test"),
                category=c.get("category", "defect"),
                fps=fps,
                duration_s=float(c.get("duration_s") or (c.get("frames") or 0) / fps),
                labels=tuple(c.get("labels") or ()),
                expected=tuple(c.get("expected") or ()),
                negative_type=c.get("negative_type"),
            )
        )
    return manifest, clips


# --- matching and metrics ---------------------------------------------------------------------


def interval_iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Intersection over union of time intervals ``a`` and ``b`` (0 when disjoint)."""
    inter = min(a[1], b[1]) - max(a[0], b[0])
    if inter <= 0:
        return 0.0
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def match_intervals(
    detections: Sequence[tuple[float, float]],
    labels: Sequence[tuple[float, float]],
    min_iou: float = MIN_IOU,
) -> list[tuple[int, int, float]]:
    """Greedy one-to-one matching: (detection index, label index, IoU), best IoU first.

    Every pair with IoU >= ``min_iou`` is a candidate; the best remaining candidate whose
    detection and label are both still free is taken, until none is left.
    """
    pairs = [
        (iou, d, k)
        for d, det in enumerate(detections)
        for k, lab in enumerate(labels)
        if (iou := interval_iou(det, lab)) >= min_iou - IOU_SLACK
    ]
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    used_d: set[int] = set()
    used_k: set[int] = set()
    matches = []
    for iou, d, k in pairs:
        if d in used_d or k in used_k:
            continue
        used_d.add(d)
        used_k.add(k)
        matches.append((d, k, iou))
    return matches


def is_excused(event: Event, expected: Iterable[dict[str, Any]]) -> bool:
    """Whether ``event`` overlaps an expected span whose kind excuses its detector."""
    span = (event.start, event.end)
    return any(
        event.detector in EXCUSES.get(e.get("kind", ""), frozenset())
        and interval_iou(span, (float(e["start_s"]), float(e["end_s"]))) > 0
        for e in expected
    )


@dataclass
class Tally:
    """Counts and errors of one tool/config/detector over a set of clips."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    excused: int = 0
    start_errors: list[float] = field(default_factory=list)
    end_errors: list[float] = field(default_factory=list)
    hard_negative_fp: int = 0
    hard_negative_s: float = 0.0
    fp_by_negative_type: Counter[str] = field(default_factory=Counter)

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        """F1 of TP/FP/FN; None when there was nothing to find and nothing was found."""
        denominator = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denominator if denominator else None

    @property
    def median_start_error(self) -> float | None:
        return statistics.median(self.start_errors) if self.start_errors else None

    @property
    def median_end_error(self) -> float | None:
        return statistics.median(self.end_errors) if self.end_errors else None

    @property
    def fp_per_hour(self) -> float | None:
        if self.hard_negative_s <= 0:
            return None
        return self.hard_negative_fp / (self.hard_negative_s / 3600.0)


def score_clip(events: Sequence[Event], clip: Clip, detector: str, tally: Tally) -> None:
    """Add ``detector``'s results on ``clip`` (``events`` may hold other detectors') to
    ``tally``."""
    detections = [e for e in events if e.detector == detector]
    kept = [e for e in detections if not is_excused(e, clip.expected)]
    tally.excused += len(detections) - len(kept)
    labels = [lab for lab in clip.labels if lab.get("detector") == detector]
    det_spans = [(e.start, e.end) for e in kept]
    lab_spans = [(float(lab["start_s"]), float(lab["end_s"])) for lab in labels]
    matches = match_intervals(det_spans, lab_spans)
    tally.tp += len(matches)
    fp = len(kept) - len(matches)
    tally.fp += fp
    tally.fn += len(labels) - len(matches)
    for d, k, _ in matches:
        tally.start_errors.append(abs(det_spans[d][0] - lab_spans[k][0]) * clip.fps)
        tally.end_errors.append(abs(det_spans[d][1] - lab_spans[k][1]) * clip.fps)
    if clip.hard_negative:
        tally.hard_negative_fp += fp
        tally.hard_negative_s += clip.duration_s
        tally.fp_by_negative_type[clip.negative_type or "other"] += fp


def score(
    events_by_clip: dict[str, Sequence[Event]], clips: Sequence[Clip], detector: str
) -> Tally:
    """One tally of ``detector`` over ``clips`` (events keyed by clip file)."""
    tally = Tally()
    for clip in clips:
        score_clip(events_by_clip.get(clip.file, ()), clip, detector, tally)
    return tally


# --- running ----------------------------------------------------------------------------------


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class BaselineCache:
    """FFmpeg baseline events per (clip, config), in memory; misses of one clip run in one
    decoding pass."""

    def __init__(self) -> None:
        self._events: dict[tuple[str, Config], list[Event]] = {}
        self.seconds = 0.0

    def events(self, clip: Clip, configs: Sequence[Config]) -> dict[Config, list[Event]]:
        missing = [c for c in dict.fromkeys(configs) if (clip.file, c) not in self._events]
        if missing:
            started = time.perf_counter()
            for config, events in zip(missing, run_baselines(clip.path, missing), strict=True):
                self._events[(clip.file, config)] = events
            self.seconds += time.perf_counter() - started
        return {c: self._events[(clip.file, c)] for c in configs}


def onglass_events(clip: Clip) -> list[Event]:
    """Every registered onglass detector, default settings, over ``clip`` (as ``onglass
    analyze``)."""
    _, events, _ = analyze_file(str(clip.path), build_detectors(list(DETECTORS)))
    return events


def tool_label(tool: str) -> str:
    return f"ffmpeg {tool}"


def distance_from_defaults(config: Config) -> tuple[int, float]:
    """(parameters changed, summed |log ratio| to the default): smaller is closer."""
    defaults = Config.make(config.tool)
    changed = 0
    spread = 0.0
    for (_, value), (_, default) in zip(config.params, defaults.params, strict=True):
        if value != default:
            changed += 1
            spread += abs(math.log(value / default)) if value > 0 and default > 0 else 1.0
    return changed, spread


def tune(
    cache: BaselineCache, clips: Sequence[Clip], tool: str, detector: str
) -> tuple[Config, Tally]:
    """The grid configuration of ``tool`` with the best ``detector`` F1 over ``clips``.

    Ties go to better precision, fewer false positives, then the configuration closest to
    the filter's defaults (a small validation split leaves wide plateaus; the least tuning
    wins). A detector with no validation labels is tuned for the fewest false positives.
    """
    best: tuple[tuple[float, ...], Config, Tally] | None = None
    for config in configs_of(tool, GRIDS[tool]):
        tally = Tally()
        for clip in clips:
            score_clip(cache.events(clip, [config])[config], clip, detector, tally)
        changed, spread = distance_from_defaults(config)
        # None: nothing to find and nothing found (F1), or nothing found (precision)
        f1 = 1.0 if tally.f1 is None else tally.f1
        precision = 1.0 if tally.precision is None else tally.precision
        key = (f1, precision, -tally.fp, -changed, -spread)
        if best is None or key > best[0]:
            best = (key, config, tally)
    assert best is not None
    return best[1], best[2]


@dataclass
class Row:
    tool: str
    config: str
    detector: str
    tally: Tally


# --- report -----------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def render_table(rows: Sequence[Row]) -> str:
    head = (
        "| tool | config | detector | P | R | F1 | median start err (frames) "
        "| median end err (frames) | FP/h on hard negatives | TP | FP | FN |"
    )
    lines = [head, "|" + "---|" * 12]
    for row in rows:
        t = row.tally
        lines.append(
            f"| {row.tool} | `{row.config}` | {row.detector} | {_fmt(t.precision)} "
            f"| {_fmt(t.recall)} | {_fmt(t.f1)} | {_fmt(t.median_start_error, 1)} "
            f"| {_fmt(t.median_end_error, 1)} | {_fmt(t.fp_per_hour, 1)} "
            f"| {t.tp} | {t.fp} | {t.fn} |"
        )
    return "\n".join(lines)


def render_negative_table(rows: Sequence[Row], clips: Sequence[Clip]) -> str:
    """False positives on hard negatives, one column per negative type."""
    types = sorted({c.negative_type or "other" for c in clips if c.hard_negative})
    if not types:
        return ""
    lines = [
        "| tool | config | detector | " + " | ".join(types) + " |",
        "|" + "---|" * (3 + len(types)),
    ]
    for row in rows:
        counts = row.tally.fp_by_negative_type
        cells = " | ".join(str(counts.get(t, 0)) for t in types)
        lines.append(f"| {row.tool} | `{row.config}` | {row.detector} | {cells} |")
    return "\n".join(lines)


def machine_description() -> str:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 0
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpus} CPUs (nproc), {model}"


def utc_date() -> str:
    try:
        return subprocess.run(
            ["date", "-u"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime())


def _short(path: str) -> str:
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def command_line(argv: Sequence[str] | None) -> str:
    """The command that runs this evaluation with ``argv`` (``sys.argv`` when None)."""
    args = sys.argv[1:] if argv is None else list(argv)
    return shlex.join([_short(sys.executable), _short(__file__), *args])


def clip_counts(clips: Sequence[Clip]) -> str:
    parts = []
    for split in sorted({c.split for c in clips}):
        of_split = [c for c in clips if c.split == split]
        defects = sum(not c.hard_negative for c in of_split)
        negatives = len(of_split) - defects
        seconds = sum(c.duration_s for c in of_split)
        parts.append(
            f"{split} {len(of_split)} ({defects} defect, {negatives} hard negative, {seconds:.0f} s)"
        )
    return "; ".join(parts)


# --- main -------------------------------------------------------------------------------------


def evaluate(
    corpus_dir: Path, split: str, tools: Sequence[str]
) -> tuple[list[Row], list[str], dict[str, Any], list[Clip]]:
    """Run and score everything; returns (rows, notes, manifest, clips)."""
    manifest, clips = load_corpus(corpus_dir)
    chosen = [c for c in clips if c.split == split]
    validation = [c for c in clips if c.split == "validation"]
    if not chosen:
        raise SystemExit(f"{corpus_dir}: no clips in split {split!r}")
    notes: list[str] = []
    cache = BaselineCache()

    tuned: dict[tuple[str, str], tuple[Config, Tally]] = {}
    if validation and tools:
        grid = [c for tool in tools for c in configs_of(tool, GRIDS[tool])]
        progress(
            f"tuning {', '.join(tools)} on {len(validation)} validation clips, {len(grid)} configs each"
        )
        for n, clip in enumerate(validation, 1):
            started = time.perf_counter()
            cache.events(clip, grid)
            progress(
                f"  [{n}/{len(validation)}] {clip.file} ({clip.category}): "
                f"{time.perf_counter() - started:.1f} s"
            )
        for tool in tools:
            for detector in TOOL_DETECTORS[tool]:
                tuned[(tool, detector)] = tune(cache, validation, tool, detector)
        if split == "validation":
            notes.append("Tuned and evaluated on the same (validation) split.")
    elif tools:
        notes.append("No validation clips: no tuned FFmpeg rows.")

    progress(f"evaluating on {len(chosen)} {split} clips")
    onglass: dict[str, list[Event]] = {}
    baseline: dict[str, dict[Config, list[Event]]] = {}
    onglass_s = 0.0
    for n, clip in enumerate(chosen, 1):
        started = time.perf_counter()
        onglass[clip.file] = onglass_events(clip)
        mid = time.perf_counter()
        onglass_s += mid - started
        configs = [Config.make(tool) for tool in tools] + [c for c, _ in tuned.values()]
        baseline[clip.file] = cache.events(clip, configs)
        progress(
            f"  [{n}/{len(chosen)}] {clip.file} ({clip.category}): onglass {mid - started:.1f} s, "
            f"ffmpeg {time.perf_counter() - mid:.1f} s, "
            f"{len(onglass[clip.file])} onglass events"
        )

    rows: list[Row] = []
    for name in DETECTORS:
        rows.append(Row("onglass", "default", name, score(onglass, chosen, name)))
    for tool in tools:
        default = Config.make(tool)
        for detector in TOOL_DETECTORS[tool]:
            events = {f: by_config[default] for f, by_config in baseline.items()}
            rows.append(
                Row(
                    tool_label(tool),
                    f"default {default.label}",
                    detector,
                    score(events, chosen, detector),
                )
            )
            if (tool, detector) in tuned:
                config, _ = tuned[(tool, detector)]
                events = {f: by_config[config] for f, by_config in baseline.items()}
                rows.append(
                    Row(
                        tool_label(tool),
                        f"tuned {config.label}",
                        detector,
                        score(events, chosen, detector),
                    )
                )
    label_detectors = sorted(
        {lab.get("detector") for c in clips for lab in c.labels} - set(DETECTORS)
    )
    if label_detectors:
        notes.append(f"Labels of detectors onglass does not have: {', '.join(label_detectors)}.")
    for (tool, detector), (config, tally) in tuned.items():
        notes.append(
            f"{tool_label(tool)} tuned for {detector}: `{config.label}` "
            f"(validation F1 {_fmt(tally.f1)}, P {_fmt(tally.precision)}, R {_fmt(tally.recall)})."
        )
    notes.append(f"Time: onglass {onglass_s:.1f} s, FFmpeg filters {cache.seconds:.1f} s.")
    return rows, notes, manifest, clips


CONVENTIONS = """\
Conventions: a detection matches a label of the same detector at interval IoU >= 0.5
(greedy, one to one, best IoU first). Detections overlapping an `expected` span of the clip
(`still`: freeze and stutter; `black`: black) count neither as TP nor as FP. Errors are
medians over matched pairs, in frames at the clip's frame rate. FP/h counts false positives
on hard-negative clips per hour of hard-negative video. FFmpeg filters run on the decoded
frames in-process (PyAV filter graphs), except mpdecimate when the header names ffmpeg-cli:
it is a GPL filter that the LGPL av wheel lacks, so the system ffmpeg runs it.

Filter behaviour worth knowing when reading the rows: freezedetect's `freeze_start` is the
*reference* frame (the first showing of the picture that then stays), one frame before the
first repeated frame, so a start error of 1 frame is its convention; with `duration` at or
under one frame interval it reports every changed frame as a one-frame freeze; it reports a
black run as a freeze. blackdetect reports every black run in its metadata and applies
`black_min_duration` only to its log line, so the minimum duration is applied here.
mpdecimate's dropped frames become `stutter` (runs under 0.25 s, merged when < 0.5 s apart,
kind `repeat`) or `freeze` (runs of 0.25 s or more); it cannot see dropped frames."""


def render_report(
    rows: Sequence[Row],
    notes: Sequence[str],
    manifest: dict[str, Any],
    clips: Sequence[Clip],
    corpus_dir: Path,
    split: str,
    command: str,
    backend: str,
    elapsed_s: float,
) -> str:
    versions = av.library_versions.get("libavfilter")
    lavfi = ".".join(str(v) for v in versions) if versions else "?"
    size = manifest.get("size")
    header = [
        "# onglass detectors vs FFmpeg baselines",
        "",
        f"- date: {utc_date()}",
        f"- machine: {machine_description()}",
        f"- command: `{command}`",
        f"- corpus: `{corpus_dir}` (schema {manifest.get('schema')}, seed {manifest.get('seed')}"
        + (f", {size[0]}x{size[1]}" if isinstance(size, list) and len(size) == 2 else "")
        + f"); {len(clips)} clips: {clip_counts(clips)}",
        f"- evaluated split: {split}; thresholds tuned on: validation",
        f"- onglass detectors (default settings): {', '.join(DETECTORS)}",
        f"- FFmpeg: PyAV {av.__version__} (libavfilter {lavfi}); mpdecimate: {backend}",
        f"- wall time: {elapsed_s:.0f} s",
        "",
    ]
    body = [render_table(rows), "", *[f"- {note}" for note in notes], ""]
    negatives = render_negative_table(rows, [c for c in clips if c.split == split])
    if negatives:
        body += ["False positives on the hard-negative clips, by negative type:", "", negatives, ""]
    body += [CONVENTIONS, ""]
    return "\n".join(header + body)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus_dir", type=Path, help="folder with manifest.json and the clips")
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/detectors.md"), help="markdown report"
    )
    parser.add_argument("--split", default="test", help="split to score (default: test)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    tools = list(TOOL_DETECTORS)
    try:
        backend = mpdecimate_backend()
    except BaselineError as error:
        progress(f"mpdecimate left out: {error}")
        tools.remove("mpdecimate")
        backend = f"not run ({error})"
    rows, notes, manifest, clips = evaluate(args.corpus_dir, args.split, tools)
    report = render_report(
        rows,
        notes,
        manifest,
        clips,
        args.corpus_dir,
        args.split,
        command_line(argv),
        backend,
        time.perf_counter() - started,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    print(report)
    progress(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

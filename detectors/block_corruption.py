"""``block_corruption``: displaced, flat-coloured or smeared blocks after decode errors.

Algorithm (after Prime Video's VQA block-corruption model): ``detectors.block_model``'s
ResNet18 map network gives every 32x32-pixel cell of a frame a corruption probability (a
640x360 frame -> a 12x20 map, 1080p -> 34x60). The frame decision is

* ``v1``: the share of cells above 0.5 exceeds ``area_threshold`` (0.07 in the reference);
* ``v2``: the learned frame head over the map (trained jointly) gives a probability above
  ``v2_threshold``.

Flat frames (luma standard deviation under ``flat_level``: black, fades, uniform fills) are not
judged. Live, only one frame every ``sample_interval_s`` seconds is analysed (0 = every frame, which
``onglass analyze`` should use: ``--set block_corruption.sample_interval_s=0``); sampled frames
are run in batches of ``batch_frames`` on CUDA when available, else on the CPU with ``threads``
torch threads. Consecutive flagged samples merge into one event from the first flagged frame to
the first clean sample (or the last flagged frame plus one frame interval); events shorter than
``min_duration_s`` are dropped. Each event carries the peak frame's map (``details["map"]``, a
nested list of probabilities rounded to 0.01), its time (``peak_t``) and both decision scores.

The picture's content is what the model judges, so intact compression blocking is not
corruption (see the model card ``detectors/models/block_corruption.md`` for where the line is
and the measured accuracy).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from detectors.block_model import (
    DEFAULT_WEIGHTS,
    BlockModelError,
    area_share,
    load_model,
    to_tensor,
)
from detectors.event import Event
from detectors.media import AudioChunk, VideoFrame
from detectors.settings import SettingsError, require

DECISIONS = ("v1", "v2")


@dataclass(frozen=True)
class BlockCorruptionSettings:
    """Settings of the block-corruption detector."""

    sample_interval_s: float = 0.5
    """Seconds between analysed frames; 0 analyses every frame (offline). 0.5 s keeps one CPU
    thread well under a quarter busy at 640x360 beside the other detectors."""
    decision: str = "v2"
    """Frame decision: ``v1`` (binarised map area) or ``v2`` (learned head); v2 is the default
    because the evaluation favours it (benchmarks/results/block_corruption.md)."""
    area_threshold: float = 0.07
    """v1: share of the picture's cells (0..1) that must be corrupted to flag a frame."""
    v2_threshold: float = 0.6
    """v2: frame-head probability (0..1) above which a frame is flagged. 0.6 clears the virtual
    device's menus, titles and overlays (0.53 at most); the validation split's 1%-FPR threshold
    is higher and costs most of the recall (benchmarks/results/block_corruption.md)."""
    flat_level: float = 0.02
    """Luma standard deviation (0..1 of full scale, on the shared thumbnail) below which a frame
    is flat (black, a fade, a uniform fill) and not judged: nothing in it can be told apart from
    a flat corrupted block, and black is the ``black`` detector's."""
    min_duration_s: float = 0.0
    """Shortest event reported, in seconds (0: a single flagged frame is an event)."""
    batch_frames: int = 4
    """Sampled frames run through the network together (more: faster, later events)."""
    threads: int = 1
    """Torch CPU threads (ignored on CUDA); 0 leaves torch's setting alone."""
    weights: str = ""
    """Path of a safetensors weights file; empty: the shipped ``detectors/models`` file."""

    def __post_init__(self) -> None:
        require(
            self.sample_interval_s >= 0,
            "sample_interval_s",
            f"must be >= 0 seconds, got {self.sample_interval_s}",
        )
        require(
            self.decision in DECISIONS,
            "decision",
            f"must be one of {', '.join(DECISIONS)}, got {self.decision!r}",
        )
        require(
            0.0 <= self.area_threshold < 1.0,
            "area_threshold",
            f"must be in [0, 1), got {self.area_threshold}",
        )
        require(
            0.0 < self.v2_threshold < 1.0,
            "v2_threshold",
            f"must be in (0, 1), got {self.v2_threshold}",
        )
        require(
            0.0 <= self.flat_level < 1.0,
            "flat_level",
            f"must be in [0, 1), got {self.flat_level}",
        )
        require(
            self.min_duration_s >= 0,
            "min_duration_s",
            f"must be >= 0 seconds, got {self.min_duration_s}",
        )
        require(self.batch_frames >= 1, "batch_frames", f"must be >= 1, got {self.batch_frames}")
        require(self.threads >= 0, "threads", f"must be >= 0, got {self.threads}")
        require(isinstance(self.weights, str), "weights", f"expected a path, got {self.weights!r}")


@dataclass
class _Run:
    """Consecutive flagged samples."""

    start: float
    end: float
    flagged: int
    peak_t: float
    peak_score: float
    peak_map: np.ndarray
    peak_area: float
    peak_v2: float


class BlockCorruptionDetector:
    """Streaming block-corruption detector; see the module docstring for the algorithm."""

    name: ClassVar[str] = "block_corruption"
    consumes: ClassVar[frozenset[str]] = frozenset({"video"})
    Settings: ClassVar[type[BlockCorruptionSettings]] = BlockCorruptionSettings

    def __init__(self, settings: BlockCorruptionSettings | None = None) -> None:
        self.settings = settings or BlockCorruptionSettings()
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        if self.device == "cpu" and self.settings.threads:
            torch.set_num_threads(self.settings.threads)
        path = Path(self.settings.weights) if self.settings.weights else DEFAULT_WEIGHTS
        try:
            self.model = load_model(path, self.device)
        except BlockModelError as error:
            raise SettingsError(f"weights: {error}") from None
        self._pending: list[tuple[float, np.ndarray]] = []
        self._next_sample_t: float | None = None
        self._run: _Run | None = None
        self._last_t: float | None = None
        self._frame_interval = 0.04
        self.frames_checked = 0

    def feed(self, item: VideoFrame | AudioChunk) -> list[Event]:
        if not isinstance(item, VideoFrame):
            return []
        if self._last_t is not None and item.t > self._last_t:
            self._frame_interval = item.t - self._last_t
        self._last_t = item.t
        if self._next_sample_t is not None and item.t < self._next_sample_t - 1e-6:
            return []
        self._next_sample_t = item.t + self.settings.sample_interval_s
        if float(item.thumbnail().std()) / 255.0 < self.settings.flat_level:
            events = self._analyse()  # earlier samples first, then this one as clean
            return events + (self._close(item.t) if self._run is not None else [])
        self._pending.append((item.t, item.image))
        if len(self._pending) < self.settings.batch_frames:
            return []
        return self._analyse()

    def flush(self) -> list[Event]:
        events = self._analyse()
        if self._run is not None:
            events += self._close(self._run.end)
        return events

    def frame_scores(self, frames: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Probability maps (N, rows, cols), v1 area shares (N,) and v2 probabilities (N,) of
        same-size BGR frames."""
        with torch.inference_mode():
            logits = self.model(to_tensor(frames, self.device))
            probability = torch.sigmoid(logits)
            areas = area_share(probability)
            v2 = torch.sigmoid(self.model.head(probability))
        return probability.cpu().numpy(), areas.cpu().numpy(), v2.cpu().numpy()

    def _analyse(self) -> list[Event]:
        if not self._pending:
            return []
        events: list[Event] = []
        while self._pending:  # one batch per picture size
            size = self._pending[0][1].shape
            batch = [p for p in self._pending if p[1].shape == size]
            self._pending = [p for p in self._pending if p[1].shape != size]
            maps, areas, v2 = self.frame_scores([image for _, image in batch])
            for (t, _), cells, area, head in zip(batch, maps, areas, v2, strict=True):
                events += self._judge(t, cells, float(area), float(head))
        return events

    def _judge(self, t: float, cells: np.ndarray, area: float, head: float) -> list[Event]:
        self.frames_checked += 1
        if self.settings.decision == "v1":
            flagged, score = area > self.settings.area_threshold, area
        else:
            flagged, score = head > self.settings.v2_threshold, head
        if not flagged:
            return self._close(t) if self._run is not None else []
        end = t + self._frame_interval
        run = self._run
        if run is None:
            self._run = _Run(t, end, 1, t, score, cells, area, head)
        else:
            run.end, run.flagged = end, run.flagged + 1
            if score > run.peak_score:
                run.peak_t, run.peak_score, run.peak_map = t, score, cells
                run.peak_area, run.peak_v2 = area, head
        return []

    def _close(self, end: float) -> list[Event]:
        run, self._run = self._run, None
        if run is None or end - run.start < self.settings.min_duration_s:
            return []
        details = {
            "decision": self.settings.decision,
            "peak_t": round(run.peak_t, 4),
            "area_share": round(run.peak_area, 4),
            "v2_probability": round(run.peak_v2, 4),
            "frames_flagged": run.flagged,
            "cell_px": 32,
            "map": np.round(run.peak_map.astype(float), 2).tolist(),
        }
        return [Event(self.name, run.start, end, float(np.clip(run.peak_score, 0, 1)), details)]

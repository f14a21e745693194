"""Scoring rules of benchmarks/eval_detectors.py and the FFmpeg baselines on synthetic clips."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from benchmarks import ffmpeg_baselines as fb
from benchmarks.eval_detectors import (
    Clip,
    Tally,
    interval_iou,
    is_excused,
    main,
    match_intervals,
    score,
    score_clip,
)
from detectors.event import Event

FPS = 25


def clip(labels=(), expected=(), category="defect", duration_s=12.0, fps=FPS) -> Clip:
    return Clip(
        file="c.mp4",
        path=Path("c.mp4"),
        split="test",
        category=category,
        fps=fps,
        duration_s=duration_s,
        labels=tuple(labels),
        expected=tuple(expected),
    )


def label(detector: str, start: float, end: float, kind: str | None = None) -> dict:
    return {"detector": detector, "kind": kind or detector, "start_s": start, "end_s": end}


# --- matching and metrics ---------------------------------------------------------------------


def test_interval_iou():
    assert interval_iou((1.0, 2.0), (1.0, 2.0)) == 1.0
    assert interval_iou((1.0, 2.0), (2.0, 3.0)) == 0.0  # touching is not overlapping
    assert interval_iou((1.0, 2.0), (5.0, 6.0)) == 0.0
    assert interval_iou((0.0, 2.0), (1.0, 3.0)) == pytest.approx(1 / 3)
    assert interval_iou((0.0, 4.0), (1.0, 2.0)) == pytest.approx(0.25)  # containment
    assert interval_iou((1.0, 1.0), (1.0, 1.0)) == 0.0  # empty intervals never match


def test_match_is_greedy_one_to_one_by_best_iou():
    labels = [(0.0, 1.0), (1.2, 2.2)]
    detections = [(0.1, 1.0), (0.0, 1.05), (1.3, 2.2)]
    matches = match_intervals(detections, labels)
    # label 0 goes to the detection with the better IoU (1.0/1.05 > 0.9), the other is left over
    assert sorted((d, k) for d, k, _ in matches) == [(1, 0), (2, 1)]
    assert all(iou >= 0.5 for _, _, iou in matches)


def test_match_threshold_and_one_label_per_detection():
    # one long detection over two labels matches at most one of them
    assert len(match_intervals([(0.0, 2.0)], [(0.0, 1.0), (1.0, 2.0)])) == 1
    assert len(match_intervals([(0.0, 1.5)], [(0.0, 1.0), (1.0, 2.0)])) == 1
    # IoU exactly 0.5 matches, just under does not
    assert match_intervals([(0.0, 2.0)], [(0.0, 1.0)]) == [(0, 0, 0.5)]
    assert match_intervals([(0.0, 2.01)], [(0.0, 1.0)]) == []
    # in seconds a 2-frame detection over a 1-frame label is a hair under 0.5: still a match
    assert interval_iou((8.0, 8.08), (8.0, 8.04)) < 0.5
    assert len(match_intervals([(8.0, 8.08)], [(8.0, 8.04)])) == 1


def test_score_counts_tp_fp_fn_and_frame_errors():
    c = clip(labels=[label("freeze", 3.2, 4.0), label("freeze", 8.0, 9.0), label("black", 1, 2)])
    events = [
        Event("freeze", 3.16, 4.0, 1.0),  # matches, start 1 frame early
        Event("freeze", 6.0, 6.5, 1.0),  # nothing there: FP
        Event("black", 1.0, 2.08, 1.0),  # other detector: ignored for freeze
    ]
    tally = Tally()
    score_clip(events, c, "freeze", tally)
    assert (tally.tp, tally.fp, tally.fn) == (1, 1, 1)
    assert tally.start_errors == [pytest.approx(1.0)]
    assert tally.end_errors == [pytest.approx(0.0)]
    assert tally.precision == 0.5 and tally.recall == 0.5 and tally.f1 == 0.5
    black = score({"c.mp4": events}, [c], "black")
    assert (black.tp, black.fp, black.fn) == (1, 0, 0)
    assert black.median_end_error == pytest.approx(2.0)
    assert tally.fp_per_hour is None  # no hard-negative video scored


def test_expected_spans_are_neither_tp_nor_fp():
    expected = [{"kind": "still", "start_s": 5.0, "end_s": 7.0}]
    c = clip(labels=[label("freeze", 1.0, 2.0)], expected=expected)
    events = [
        Event("freeze", 1.0, 2.0, 1.0),
        Event("freeze", 6.9, 7.5, 1.0),  # overlaps the expected still: set aside
        Event("stutter", 5.5, 5.6, 1.0),  # a still excuses stutter too
        Event("black", 5.0, 7.0, 1.0),  # but not black
        Event("freeze", 7.0, 7.5, 1.0),  # touching only: an FP
    ]
    assert is_excused(events[1], expected) and is_excused(events[2], expected)
    assert not is_excused(events[3], expected) and not is_excused(events[4], expected)
    freeze = score({"c.mp4": events}, [c], "freeze")
    assert (freeze.tp, freeze.fp, freeze.fn, freeze.excused) == (1, 1, 0, 1)
    stutter = score({"c.mp4": events}, [c], "stutter")
    assert (stutter.tp, stutter.fp, stutter.fn, stutter.excused) == (0, 0, 0, 1)
    assert stutter.f1 is None and stutter.precision is None
    black = score({"c.mp4": events}, [c], "black")
    assert black.fp == 1


def test_fp_per_hour_counts_hard_negatives_only():
    negative = clip(category="hard_negative", duration_s=900.0)
    other_negative = clip(category="hard_negative", duration_s=900.0)
    defect = clip(labels=[label("freeze", 1.0, 2.0)], duration_s=3600.0)
    clips = [negative, other_negative, defect]
    events = {"c.mp4": [Event("freeze", 10.0, 11.0, 1.0), Event("freeze", 20.0, 21.0, 1.0)]}
    # every clip here shares the file name, so each sees both events
    tally = score(events, clips, "freeze")
    assert tally.hard_negative_fp == 4
    assert tally.hard_negative_s == 1800.0
    assert tally.fp_per_hour == pytest.approx(8.0)
    assert tally.fp == 6 and tally.fn == 1


def test_decimate_events_split_freezes_from_stutter():
    times = [k / FPS for k in range(100)]
    dropped = [False] * 100
    for k in (10, 11, 20, 60):  # repeats: 10-11 and 20 merge (< 0.5 s apart), 60 alone
        dropped[k] = True
    for k in range(30, 40):  # 10 frames = 0.4 s: a freeze
        dropped[k] = True
    events = fb.decimate_events(times, dropped, 1 / FPS)
    summary = [
        (e.detector, round(e.start, 2), round(e.end, 2), e.details.get("frames")) for e in events
    ]
    assert summary == [
        ("stutter", 0.4, 0.84, 3),
        ("freeze", 1.2, 1.6, 10),
        ("stutter", 2.4, 2.44, 1),
    ]
    assert events[0].details["kind"] == "repeat"


# --- FFmpeg filters on a synthetic clip -------------------------------------------------------


def write_clip(
    path: Path,
    seconds: float = 6.0,
    freeze: tuple[int, int] | None = (50, 75),
    black: tuple[int, int] | None = (100, 125),
    repeats: tuple[int, ...] = (),
    size: tuple[int, int] = (192, 108),
    seed: int = 1,
) -> None:
    """An H.264 clip of a moving random texture; frames in ``freeze`` repeat the frame before
    it, frames in ``black`` are black, each frame in ``repeats`` repeats the one before."""
    w, h = size
    n = round(seconds * FPS)
    rng = np.random.default_rng(seed)
    texture = rng.integers(0, 256, (h // 4, (w + 3 * n) // 4 + 1), dtype=np.uint8)
    texture = np.kron(texture, np.ones((4, 4), np.uint8))
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": "18", "preset": "ultrafast"}
        previous = None
        for k in range(n):
            if (freeze and freeze[0] <= k < freeze[1]) or k in repeats:
                image = previous
            elif black and black[0] <= k < black[1]:
                image = np.zeros((h, w, 3), np.uint8)
            else:
                g = texture[:, 3 * k : 3 * k + w]
                image = np.dstack([g, np.roll(g, 5, axis=1), 255 - g])
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = k, Fraction(1, FPS)
            out.mux(stream.encode(frame))
            previous = image
        out.mux(stream.encode(None))


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("eval") / "synthetic.mp4"
    write_clip(path)  # freeze: frames 50-74 (2.0-3.0 s), black: 100-124 (4.0-5.0 s)
    return path


def test_freezedetect_and_blackdetect_find_both_within_a_frame(synthetic):
    frame = 1 / FPS
    freezes = fb.freezedetect(synthetic, duration_s=0.5)
    blacks = fb.blackdetect(synthetic, duration_s=0.5)
    # freezedetect also calls the black run a freeze: a frozen black picture
    freeze = min(freezes, key=lambda e: abs(e.start - 2.0))
    assert abs(freeze.start - 2.0) <= frame + 1e-6
    assert freeze.end == pytest.approx(3.0, abs=1e-6)
    assert [(round(e.start, 3), round(e.end, 3)) for e in blacks] == [(4.0, 5.0)]
    assert all(e.detector == "freeze" for e in freezes)
    assert blacks[0].detector == "black" and blacks[0].details["d"] == 0.5
    # the defaults (d = 2 s) see neither 1 s defect
    assert fb.freezedetect(synthetic) == [] and fb.blackdetect(synthetic) == []


def test_run_baselines_matches_single_runs(synthetic):
    configs = [
        fb.Config.make("freezedetect", duration_s=0.5),
        fb.Config.make("blackdetect", duration_s=0.5),
        fb.Config.make("blackdetect", duration_s=0.5, picture_threshold=0.9),
    ]
    freezes, blacks, blacks_90 = fb.run_baselines(synthetic, configs)
    assert freezes == fb.freezedetect(synthetic, duration_s=0.5)
    assert blacks == fb.blackdetect(synthetic, duration_s=0.5)
    assert [(e.start, e.end) for e in blacks_90] == [(e.start, e.end) for e in blacks]
    assert blacks_90[0].details["pic_th"] == 0.9


def _mpdecimate_available() -> bool:
    try:
        fb.mpdecimate_backend()
    except fb.BaselineError:
        return False
    return True


@pytest.mark.skipif(not _mpdecimate_available(), reason="no FFmpeg with mpdecimate")
def test_mpdecimate_repeats_and_freezes(tmp_path):
    path = tmp_path / "repeats.mp4"
    write_clip(path, seconds=4.0, freeze=(50, 75), black=None, repeats=(20, 85))
    events = fb.mpdecimate(path)
    summary = [(e.detector, round(e.start, 2), round(e.end, 2)) for e in events]
    assert summary == [("stutter", 0.8, 0.84), ("freeze", 2.0, 3.0), ("stutter", 3.4, 3.44)]
    assert events[0].details == {**events[0].details, "kind": "repeat", "frames": 1}


# --- the whole evaluation on a two-clip corpus ------------------------------------------------


def test_main_writes_a_report(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_clip(corpus / "v.mp4", seconds=4.0, freeze=(25, 50), black=(75, 100))
    write_clip(corpus / "t.mp4", seconds=4.0, freeze=(50, 75), black=None, seed=2)
    labels_v = [label("freeze", 1.0, 2.0), label("black", 3.0, 4.0)]
    manifest = {
        "schema": "onglass.corpus/1",
        "seed": 7,
        "size": [192, 108],
        "clips": [
            {"file": "v.mp4", "split": "validation", "category": "defect", "fps": FPS,
             "frames": 100, "duration_s": 4.0, "labels": labels_v, "expected": []},
            {"file": "t.mp4", "split": "test", "category": "defect", "fps": FPS,
             "frames": 100, "duration_s": 4.0, "labels": [label("freeze", 2.0, 3.0)],
             "expected": []},
        ],
    }  # fmt: skip
    (corpus / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "results" / "detectors.md"
    assert main([str(corpus), "--out", str(out)]) == 0
    report = out.read_text()
    assert report in capsys.readouterr().out
    assert "seed 7" in report and "validation 1" in report and "test 1" in report
    rows = [line for line in report.splitlines() if line.startswith("| ")][1:]
    by_key = {tuple(cell.strip() for cell in row.split("|")[1:4]): row for row in rows}
    onglass_freeze = by_key[("onglass", "`default`", "freeze")]
    assert onglass_freeze.split("|")[-4:-1] == [" 1 ", " 0 ", " 0 "]  # TP FP FN
    tuned = [k for k in by_key if k[0] == "ffmpeg freezedetect" and k[1].startswith("`tuned")]
    assert len(tuned) == 1
    # tuned on the validation clip, freezedetect finds the 1 s test freeze
    assert by_key[tuned[0]].split("|")[-4:-1] == [" 1 ", " 0 ", " 0 "]

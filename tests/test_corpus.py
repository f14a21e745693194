"""The benchmark corpus generator: reproducible, and its labels match the pixels."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import av
import numpy as np
import pytest

from benchmarks.corpus import SCHEMA, generate

SIZE = (320, 180)


def decode(path: Path) -> tuple[list[np.ndarray], int | None]:
    """BGR frames of ``path`` and the pts of its first frame."""
    frames, first_pts = [], None
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if first_pts is None:
                first_pts = frame.pts
            frames.append(frame.to_ndarray(format="bgr24"))
    return frames, first_pts


def pixels_digest(path: Path) -> str:
    digest = hashlib.sha256()
    for image in decode(path)[0]:
        digest.update(image.tobytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, Path, dict]:
    first, second = tmp_path_factory.mktemp("corpus_a"), tmp_path_factory.mktemp("corpus_b")
    a = generate(first, seed=3, clips_per_type=1, seconds=4.0, size=SIZE, quick=True)
    b = generate(second, seed=3, clips_per_type=1, seconds=4.0, size=SIZE, quick=True)
    return first, a, second, b


def test_same_seed_same_manifest_and_pixels(corpora) -> None:
    first, a, second, b = corpora
    assert a == b
    assert json.loads((first / "manifest.json").read_text()) == a
    assert (first / "manifest.json").read_bytes() == (second / "manifest.json").read_bytes()
    for clip in a["clips"][:3]:
        assert pixels_digest(first / clip["file"]) == pixels_digest(second / clip["file"])


def test_manifest_schema(corpora) -> None:
    _, manifest, _, _ = corpora
    assert manifest["schema"] == SCHEMA
    assert manifest["seed"] == 3
    assert manifest["size"] == list(SIZE)
    keys = {"file", "split", "source", "category", "negative_type", "fps", "frames"}
    keys |= {"duration_s", "labels", "expected"}
    detectors = set()
    for clip in manifest["clips"]:
        assert set(clip) == keys
        assert clip["split"] in ("validation", "test")
        assert clip["category"] in ("defect", "hard_negative")
        assert (clip["negative_type"] is None) == (clip["category"] == "defect")
        assert clip["duration_s"] == pytest.approx(clip["frames"] / clip["fps"])
        for label in clip["labels"]:
            detectors.add(label["detector"])
            assert label["kind"] in ("freeze", "black", "repeat", "drop", "cadence")
            assert 0 < label["start_s"] < label["end_s"] <= clip["duration_s"]
            assert label["frames"] >= 1
        for span in clip["expected"]:
            assert 0 <= span["start_s"] < span["end_s"] <= clip["duration_s"]
    assert detectors == {"freeze", "black", "stutter"}


def test_labels_match_the_decoded_pixels(corpora) -> None:
    folder, manifest, _, _ = corpora
    checked = {"freeze": 0, "black": 0}
    for clip in manifest["clips"]:
        kinds = {label["kind"] for label in clip["labels"]}
        if not kinds & {"freeze", "black"}:
            continue
        frames, first_pts = decode(folder / clip["file"])
        assert first_pts == 0
        assert len(frames) == clip["frames"]
        fps = clip["fps"]
        for label in clip["labels"]:
            first = round(label["start_s"] * fps)
            last = round(label["end_s"] * fps) - 1
            assert last - first + 1 == label["frames"] or label["kind"] != "freeze"
            if label["kind"] == "freeze":
                before = frames[first - 1].astype(np.int16)
                for n in range(first, last + 1):
                    assert np.abs(frames[n].astype(np.int16) - before).mean() < 1.0
                after = np.abs(frames[last + 1].astype(np.int16) - before).mean()
                assert after > 1.0  # the content jumps when the freeze ends
                checked["freeze"] += 1
            elif label["kind"] == "black":
                for n in range(first, last + 1):
                    assert frames[n].mean() < 10
                checked["black"] += 1
    assert checked["freeze"] >= 1 and checked["black"] >= 1


def test_splits_never_share_a_source(corpora) -> None:
    _, manifest, _, _ = corpora
    split_of: dict[str, str] = {}
    for clip in manifest["clips"]:
        source = clip["source"]
        parts = source.split(":", 1)[1].split("+") if source.startswith("photo:") else [source]
        for part in parts:
            assert split_of.setdefault(part, clip["split"]) == clip["split"], part
    assert set(split_of.values()) == {"validation", "test"}

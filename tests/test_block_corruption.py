"""Block corruption: synthesis labels, codec damage, the map network, weights files, training,
the detector with the shipped weights, and ``onglass analyze``."""

from __future__ import annotations

import json
import subprocess
import sys

import av
import cv2
import numpy as np
import pytest
import torch

from benchmarks.block_data import FRAME_SIZE, STRIPE_KINDS, stripe_frames, stripes
from benchmarks.train_block_corruption import (
    average_models,
    batch_from_crops,
    replace_with_negatives,
    train,
)
from benchmarks.train_block_corruption import main as train_main
from detectors.block_corruption import BlockCorruptionDetector, BlockCorruptionSettings
from detectors.block_model import (
    BlockMapNet,
    BlockModelError,
    load_model,
    save_model,
    to_tensor,
)
from detectors.codec_damage import BLOCK, SEARCH_PX, block_mask, damaged_clip, visible_mask
from detectors.corruption_synthesis import GRIDS, KINDS, MASK_LEVEL, cell_labels, corrupt
from detectors.event import Event
from detectors.media import VideoFrame
from detectors.settings import SettingsError
from devices.simulator.device import render_playback
from devices.simulator.faults import FaultSchedule
from reports.heatmap import event_heatmap, heatmap_overlay


def _picture(height: int = 360, width: int = 640, seed: int = 0) -> np.ndarray:
    """A textured test picture: smooth gradients plus shapes (no flat areas)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    image = np.stack(
        [xx * 255 // width, yy * 255 // height, (xx + yy) * 255 // (width + height)], 2
    )
    image = image.astype(np.uint8)
    for _ in range(40):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.circle(image, centre, int(rng.integers(5, 60)), colour, -1)
    return image


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("grid", GRIDS)
def test_synthesis_mask_marks_exactly_the_changed_blocks(kind, grid):
    image = _picture()
    damaged, mask = corrupt(image, np.random.default_rng(7), area=0.1, kind=kind, grid=grid)
    assert damaged.shape == image.shape and mask.shape == image.shape[:2]
    diff = np.abs(damaged.astype(int) - image.astype(int)).max(axis=2)
    assert mask.any(), "nothing was damaged"
    assert (diff[mask] > MASK_LEVEL).all()
    assert (diff[~mask] <= MASK_LEVEL).all()
    rows, cols = np.nonzero(mask)
    blocks = {(r // grid, c // grid) for r, c in zip(rows, cols, strict=True)}
    assert len(blocks) * grid * grid >= mask.sum()  # inside grid-aligned blocks only
    assert 0.01 < mask.mean() < 0.2


def test_cell_labels_follow_the_damaged_share():
    mask = np.zeros((64, 96), bool)
    mask[0:32, 0:32] = True  # cell (0, 0) fully damaged
    mask[32:40, 32:64] = True  # cell (1, 1): 25% damaged
    mask[0:2, 64:96] = True  # cell (0, 2): 6% damaged
    labels = cell_labels(mask, min_share=0.15)
    assert labels.tolist() == [[1, 0, 0], [0, 1, 0]]


def test_codec_damage_labels_damage_against_the_intact_decode():
    base = _picture(144, 256)
    frames = [np.roll(base, 3 * k, axis=1) for k in range(24)]
    out = damaged_clip(frames, "libx264", np.random.default_rng(3), hits=2)
    assert len(out) >= 20
    shares = [f.damaged_share for f in out]
    assert max(shares) > 0.01, shares
    assert shares[0] == 0.0  # the first keyframe is never damaged
    for f in out:
        if f.damaged_share == 0.0:
            assert np.abs(f.clean.astype(int) - f.damaged.astype(int)).mean() < 1.0
        assert not (f.visible & ~f.mask).any()  # visible damage is damage


def test_an_intact_picture_moved_a_little_is_damage_but_not_visible_damage():
    """Concealment that shows an earlier picture: every block differs from the intact decode,
    none is broken in the frame alone; a grey slab over part of it is."""
    clean = _picture(144, 256)
    stale = np.roll(clean, (6, SEARCH_PX - 4), axis=(0, 1))
    mask = block_mask(clean, stale)
    assert mask.mean() > 0.5
    visible = visible_mask(clean, stale, mask)
    assert visible[BLOCK:, SEARCH_PX:-SEARCH_PX].mean() < 0.02  # the rolled-in edges aside
    slab = stale.copy()
    slab[5 * BLOCK : 9 * BLOCK, 10 * BLOCK : 20 * BLOCK] = 128
    visible = visible_mask(clean, slab, block_mask(clean, slab))
    assert visible[5 * BLOCK : 9 * BLOCK, 10 * BLOCK : 20 * BLOCK].mean() > 0.9


def test_map_shapes_224_and_1080p():
    model = BlockMapNet(width=8).eval()
    with torch.inference_mode():
        assert model(torch.rand(2, 3, 224, 224)).shape == (2, 7, 7)
        assert model(torch.rand(1, 3, 1080, 1920)).shape == (1, 34, 60)
        assert model.head(torch.rand(3, 12, 20)).shape == (3,)


def test_bad_weights_files_get_one_line_errors(tmp_path):
    missing = tmp_path / "none.safetensors"
    with pytest.raises(BlockModelError, match=r"none\.safetensors: .*not found"):
        load_model(missing)
    corrupt_file = tmp_path / "corrupt.safetensors"
    corrupt_file.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(BlockModelError, match="not a readable safetensors file") as error:
        load_model(corrupt_file)
    assert "\n" not in str(error.value)
    mismatched = tmp_path / "mismatched.safetensors"
    save_model(BlockMapNet(width=8), mismatched)
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(mismatched))
    save_file(
        tensors, str(mismatched), metadata={"format": "onglass.block_corruption/1", "width": "16"}
    )
    with pytest.raises(BlockModelError, match="does not match the block model"):
        load_model(mismatched)
    with pytest.raises(SettingsError, match=r"^weights: .*none\.safetensors"):
        BlockCorruptionDetector(BlockCorruptionSettings(weights=str(missing)))


def test_quick_training_lowers_the_loss_and_checkpoints_reload_identically(tmp_path):
    rng = np.random.default_rng(0)
    images = np.zeros((12, 224, 224, 3), np.uint8)
    masks = np.zeros((12, 28, 28), np.uint8)
    for k in range(12):
        picture = _picture(224, 224, seed=k)
        if k % 2:
            picture, mask = corrupt(picture, rng, area=0.2, kind="constant", grid=32)
            masks[k] = mask.reshape(28, 8, 28, 8).mean(axis=(1, 3)) * 255
        images[k] = picture
    torch.set_num_threads(1)
    model, losses = train(
        images, masks, 30, width=8, batch=8, crop=128, lr=3e-3, log=lambda _: None
    )
    assert np.mean(losses[-5:]) < np.mean(losses[:5]), losses
    path = tmp_path / "ckpt.safetensors"
    save_model(model, path)
    again = load_model(path)
    for name, tensor in model.state_dict().items():
        if not name.endswith("num_batches_tracked"):
            assert torch.equal(tensor, again.state_dict()[name]), name
    x, _, _ = batch_from_crops(images, masks, np.arange(4), 128, np.random.default_rng(1))
    with torch.inference_mode():
        assert torch.equal(model(x), again(x))


@pytest.mark.parametrize("seed", range(2 * len(STRIPE_KINDS)))
def test_stripes_are_dense_regular_lines(seed):
    picture = stripes(seed, 360, 640)
    assert picture.shape == (360, 640, 3)
    assert np.array_equal(picture, stripes(seed, 360, 640))
    grey = cv2.cvtColor(picture, cv2.COLOR_BGR2GRAY).astype(np.float32)
    spectrum = np.abs(np.fft.fft2(grey - grey.mean()))
    frequency = np.hypot(np.fft.fftfreq(360)[:, None], np.fft.fftfreq(640)[None, :])
    spectrum[frequency < 1 / 64] = 0  # light and shading: slower than 64 pixels
    peak = np.unravel_index(spectrum.argmax(), spectrum.shape)
    assert 3 <= 1 / frequency[peak] <= 32  # lines every 3..32 pixels
    assert spectrum[peak] > 100 * np.median(spectrum[spectrum > 0])  # and nothing else


def test_stripe_frames_are_intact_encoded_frames_of_the_output_size():
    frames = stripe_frames(2)
    assert len(frames) == 8
    assert all(f.shape == (FRAME_SIZE[1], FRAME_SIZE[0], 3) and f.dtype == np.uint8 for f in frames)


def test_negative_pools_replace_crops_by_their_share_and_label_them_intact():
    images, cells, frames = torch.zeros(400, 3, 32, 32), torch.ones(400, 1, 1), torch.ones(400)
    grey, white = np.full((64, 64, 3), 128, np.uint8), np.full((64, 64, 3), 255, np.uint8)
    pools = [([grey], 0.25), ([white], 0.5), ([], 0.2)]  # an empty pool takes nothing
    rng = np.random.default_rng(0)
    replace_with_negatives(images, cells, frames, pools, rng)
    level = images.mean(dim=(1, 2, 3))
    from_grey, from_white, kept = level == 128 / 255, level == 1.0, level == 0.0
    assert 70 <= int(from_grey.sum()) <= 130 and 160 <= int(from_white.sum()) <= 240
    assert bool((from_grey | from_white | kept).all())
    assert bool((cells[~kept] == 0).all() and (frames[~kept] == 0).all())
    assert bool((cells[kept] == 1).all() and (frames[kept] == 1).all())
    with pytest.raises(ValueError, match="sum to at most 1, got"):
        replace_with_negatives(images, cells, frames, [([grey], 0.7), ([white], 0.5)], rng)


def test_average_models_is_the_mean_of_their_weights_and_statistics():
    torch.manual_seed(0)
    first, second = BlockMapNet(8), BlockMapNet(8)
    with torch.no_grad():
        second.bn1.running_mean.fill_(2.0)
    soup = average_models([first, second])
    for name, tensor in soup.state_dict().items():
        if tensor.is_floating_point():
            expected = (first.state_dict()[name] + second.state_dict()[name]) / 2
            assert torch.allclose(tensor, expected), name
    assert torch.allclose(soup.bn1.running_mean, torch.ones(8))
    alone = average_models([first, first])
    x = torch.rand(1, 3, 64, 64)
    with torch.inference_mode():
        assert torch.allclose(alone(x), first.eval()(x), atol=1e-6)
    with pytest.raises(ValueError, match="one width"):
        average_models([first, BlockMapNet(16)])
    with pytest.raises(ValueError, match="at least one model"):
        average_models([])


def test_averaging_a_missing_checkpoint_is_a_one_line_error(tmp_path, capsys):
    missing = tmp_path / "nowhere_fp32.safetensors"
    out, checkpoint = tmp_path / "out.safetensors", tmp_path / "out_fp32.safetensors"
    code = train_main(
        [
            "--average",
            str(missing),
            str(missing),
            "--out",
            str(out),
            "--checkpoint",
            str(checkpoint),
        ]
    )
    printed = capsys.readouterr().out.strip()
    assert code == 2 and not out.exists()
    assert printed.count("\n") == 0 and str(missing) in printed and "not found" in printed


def _clip(corrupted: range, count: int = 30) -> list[VideoFrame]:
    """Frames of a slow pan over a photo the model never trained on (a test-split source:
    see benchmarks/results/block_corruption.md), ``corrupted`` ones damaged."""
    import skimage.data

    photo = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    photo = cv2.resize(photo, (720, 480))
    rng = np.random.default_rng(5)
    frames = []
    for k in range(count):
        image = np.ascontiguousarray(photo[60 : 60 + 360, 2 * k : 2 * k + 640])
        if k in corrupted:
            image, _ = corrupt(image, rng, area=0.2)
        frames.append(VideoFrame(k / 25, k, image))
    return frames


def _run(detector: BlockCorruptionDetector, frames: list[VideoFrame]) -> list:
    events = []
    for frame in frames:
        events += detector.feed(frame)
    return events + detector.flush()


def test_detector_with_shipped_weights_flags_corruption_and_not_clean_frames():
    settings = BlockCorruptionSettings(sample_interval_s=0, batch_frames=8)
    clean = _run(BlockCorruptionDetector(settings), _clip(range(0)))
    assert clean == []
    events = _run(BlockCorruptionDetector(settings), _clip(range(10, 20)))
    assert events, "no block_corruption event on a corrupted clip"
    assert all(e.start >= 0.36 and e.end <= 0.84 for e in events), events
    details = events[0].details
    assert np.asarray(details["map"]).shape == (12, 20)
    assert 0 <= events[0].score <= 1
    json.dumps(events[0].to_json())


def test_onglass_analyze_emits_block_corruption_events(tmp_path):
    path = tmp_path / "block.ts"
    render_playback(str(path), "Big Buck Bunny", 5.0, FaultSchedule.parse("block@2s+1500ms:20%"))
    out = tmp_path / "analysis.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "analyze",
            str(path),
            "--json",
            str(out),
            "--detectors",
            "block_corruption",
            "--set",
            "block_corruption.sample_interval_s=0.12",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    events = json.loads(out.read_text())["events"]
    assert events and all(e["detector"] == "block_corruption" for e in events), events
    assert all(1.8 <= e["start_s"] <= 3.6 for e in events), events
    assert "map" in events[0]["details"]
    with av.open(str(path)) as container:
        origin = container.start_time / av.time_base
    event = Event(
        "block_corruption", events[0]["start_s"], events[0]["end_s"], 1.0, events[0]["details"]
    )
    png = cv2.imdecode(np.frombuffer(event_heatmap(str(path), origin, event), np.uint8), 1)
    assert png.shape == (360, 1280, 3)


def test_heatmap_overlay_marks_the_flagged_cells():
    image = np.full((360, 640, 3), 100, np.uint8)
    cells = np.zeros((12, 20))
    cells[2, 3] = 0.9
    out = heatmap_overlay(image, cells)
    assert out.shape == image.shape
    assert (out[64:96, 96:128] != 100).any() and (out[200:232, 400:432] == out[0, 0]).all()


def test_onglass_analyze_reports_a_missing_weights_file_in_one_line(tmp_path):
    path = tmp_path / "clean.ts"
    render_playback(str(path), "Big Buck Bunny", 1.0, FaultSchedule.parse(""))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "analyze",
            str(path),
            "--json",
            str(tmp_path / "a.json"),
            "--detectors",
            "block_corruption",
            "--set",
            f"block_corruption.weights={tmp_path}/x.safetensors",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "x.safetensors" in lines[0] and "not found" in lines[0], lines


def test_to_tensor_keeps_bgr_order_and_scale():
    frame = np.zeros((2, 3, 3), np.uint8)
    frame[..., 0] = 255
    x = to_tensor([frame])
    assert x.shape == (1, 3, 2, 3) and float(x[0, 0].min()) == 1.0 and float(x[0, 1].max()) == 0.0

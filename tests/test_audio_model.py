"""The audio-artifact classifier: a quick training run, checkpoints, bad weights files, and the
detector with the shipped weights on simulated defects."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks.audio_data import RATE, Split, apply_defect, defect_to_content_db, drone
from benchmarks.train_audio_artifact import clean_tail_loss, train
from benchmarks.train_audio_artifact import main as train_main
from detectors import audio_synthesis as synth
from detectors.audio_artifact import AudioArtifactDetector, AudioArtifactSettings
from detectors.audio_model import (
    CLASSES,
    DEFAULT_WEIGHTS,
    FEATURE_NAMES,
    MODEL_RATE,
    AudioArtifactNet,
    AudioModelError,
    SegmentFeatures,
    load_classifier,
    save_classifier,
    to_model_rate,
)
from detectors.media import AudioChunk
from detectors.registry import build_detector
from detectors.settings import SettingsError


def chord(seconds: float, rng: np.random.Generator, level_db: float = -25.0) -> np.ndarray:
    """A random three-note chord with a tremolo, mono at 48 kHz."""
    t = np.arange(int(seconds * RATE)) / RATE
    notes = rng.uniform(150.0, 900.0, size=3)
    x = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in notes) / 3
    x *= 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.2, 2.0) * t)
    return (x * synth.db_to_gain(level_db + 3)).astype(np.float32)


def tiny_split(per_class: int, seed: int) -> Split:
    rng = np.random.default_rng(seed)
    audio, labels = [], []
    for i in range(per_class * len(CLASSES)):
        y, _ = apply_defect(chord(1.0, rng), CLASSES[i % len(CLASSES)], rng)
        audio.append(to_model_rate(np.clip(y, -1, 1), RATE)[:MODEL_RATE])
        labels.append(i % len(CLASSES))
    n = len(labels)
    return Split(np.stack(audio), np.array(labels), ["chord"] * n, [""] * n, np.zeros(n, bool))


@pytest.fixture
def one_thread():
    """Train on one torch thread, as the training script does on a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("clean_tail", [0.0, 1.0])
def test_quick_training_lowers_the_loss_and_the_checkpoint_reloads_identically(
    tmp_path, one_thread, clean_tail
):
    torch.manual_seed(0)
    data = tiny_split(per_class=4, seed=1)
    model = AudioArtifactNet(width=4, hidden=16)
    model, losses, summary = train(
        model, data, None, epochs=10, batch=10, lr=5e-3, log_every=0, clean_tail=clean_tail
    )
    assert summary["steps"] == len(losses) == 20
    assert np.mean(losses[-4:]) < np.mean(losses[:4]) * 0.8, losses
    path = tmp_path / "tiny.safetensors"
    save_classifier(model, path, {"training": summary})
    again = load_classifier(path)
    x = torch.from_numpy(data.audio[:7])
    with torch.inference_mode():
        assert torch.equal(model.eval()(x), again(x))
    assert again.config == {"width": 4, "kernel": 3, "hidden": 16}


def test_clean_tail_loss_is_the_hardest_clean_quarters_none_loss():
    logits = torch.tensor(
        [[3.0, 0.0], [0.0, 0.0], [-2.0, 1.0], [1.0, 0.0], [5.0, 0.0], [0.0, 4.0], [2.0, 0.0]],
        requires_grad=True,
    )
    labels = torch.tensor([0, 0, 0, 0, 0, 1, 0])  # six clean segments: the hardest one counts
    none_loss = -torch.log_softmax(logits.detach(), dim=1)[:, 0]
    assert torch.isclose(clean_tail_loss(logits, labels), none_loss[2])
    clean_tail_loss(logits, labels).backward()
    assert logits.grad is not None and logits.grad[2].abs().sum() > 0
    assert logits.grad[[0, 1, 3, 4, 5, 6]].abs().sum() == 0
    no_clean = clean_tail_loss(logits, torch.ones(7, dtype=torch.long))
    assert no_clean.item() == 0.0 and no_clean.requires_grad


def test_segment_features_tell_mains_hum_from_a_bass_note_and_find_clicks():
    t = np.arange(MODEL_RATE) / MODEL_RATE
    rng = np.random.default_rng(3)
    music = 0.1 * np.sin(2 * np.pi * 440.0 * t)
    signals = {
        "hum": music + 0.01 * np.sin(2 * np.pi * 50.1 * t),
        "note": music + 0.01 * np.sin(2 * np.pi * 49.0 * t),  # G1, a semitone under 50 Hz
        "hum60": music + 0.01 * np.sin(2 * np.pi * 59.8 * t),
        "clicks": music + synth.add_clicks(np.zeros(MODEL_RATE), MODEL_RATE, rng, 5.0, 0.5),
        "silence": np.zeros(MODEL_RATE),
    }
    x = torch.tensor(np.stack(list(signals.values())), dtype=torch.float32)
    values = SegmentFeatures()(x).numpy()
    assert values.shape == (len(signals), len(FEATURE_NAMES)) and np.isfinite(values).all()
    row = {
        name: dict(zip(FEATURE_NAMES, v, strict=True))
        for name, v in zip(signals, values, strict=True)
    }
    assert row["hum"]["hum50_offset_hz"] <= 0.2 and row["hum"]["hum50_narrow_db"] > 0.3
    assert row["note"]["hum50_offset_hz"] >= 0.8 and row["note"]["hum50_narrow_db"] < 0.0
    assert row["hum60"]["hum60_offset_hz"] <= 0.2 and row["hum"]["hum60_offset_hz"] > 0.5
    assert row["clicks"]["click_isolation_db"] > 1.0 > row["hum"]["click_isolation_db"] + 0.5
    assert row["silence"]["near_peak_share"] == 0.0


def test_training_drones_hold_low_notes_off_the_mains_frequencies():
    audio = drone(12.0, np.random.default_rng(5))
    assert audio.dtype == np.float32 and np.abs(audio).max() == pytest.approx(1.0)
    for second in range(12):
        window = audio[second * RATE : (second + 1) * RATE].astype(np.float64)
        spectrum = np.abs(np.fft.rfft(window * np.hanning(RATE), n=8 * RATE))  # 0.125 Hz bins
        low = np.arange(len(spectrum)) / 8.0
        band = (low >= 30.0) & (low <= 80.0)
        strongest = low[band][np.argmax(spectrum[band])]
        assert min(abs(strongest - 50.0), abs(strongest - 60.0)) >= 0.5, (second, strongest)


def test_defect_strength_reads_a_hum_or_hiss_level_against_the_content():
    rng = np.random.default_rng(4)
    music = chord(1.0, rng)
    level = synth.rms_dbfs(music)
    hum = synth.add_hum(music, RATE, 50.0, level - 20.0)
    assert defect_to_content_db(music, hum) == pytest.approx(-20.0, abs=0.5)
    hiss = synth.add_hiss(music, rng, level - 35.0)
    assert defect_to_content_db(music, hiss) == pytest.approx(-35.0, abs=0.5)
    assert defect_to_content_db(music, 0.3 * music) < -100  # a level change is no defect
    assert np.isnan(defect_to_content_db(np.zeros(100), np.ones(100)))


def test_a_model_with_segment_features_reloads_identically(tmp_path, one_thread):
    torch.manual_seed(0)
    model = AudioArtifactNet(width=4, hidden=16, segment_features=True).eval()
    path = tmp_path / "joint.safetensors"
    save_classifier(model, path, {})
    again = load_classifier(path)
    assert again.config == {"width": 4, "kernel": 3, "hidden": 16, "segment_features": True}
    x = torch.from_numpy(tiny_split(per_class=1, seed=2).audio)
    with torch.inference_mode():
        assert torch.equal(model(x), again(x))


def test_bad_weights_files_get_one_line_errors(tmp_path):
    missing = tmp_path / "nope.safetensors"
    with pytest.raises(
        AudioModelError, match="nope.safetensors: audio_artifact weights file not found"
    ):
        load_classifier(missing)
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all, truncated")
    with pytest.raises(AudioModelError, match="corrupt.safetensors: not a readable safetensors"):
        load_classifier(corrupt)
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(3)}, str(foreign))
    with pytest.raises(AudioModelError, match="not an onglass audio_artifact model"):
        load_classifier(foreign)
    mismatched = tmp_path / "mismatched.safetensors"
    save_classifier(AudioArtifactNet(width=8), mismatched, {})
    text = mismatched.read_bytes().replace(b'{\\"width\\": 8', b'{\\"width\\": 6')
    mismatched.write_bytes(text)
    with pytest.raises(AudioModelError) as error:
        load_classifier(mismatched)
    message = str(error.value)
    assert "mismatched.safetensors: weights do not match the network" in message
    assert "\n" not in message and "has shape" in message
    with pytest.raises(AudioModelError, match="not found"):
        build_detector("audio_artifact", {"weights": str(missing)})


@pytest.mark.parametrize("value", ["music=0", "music", "music=two"])
def test_a_bad_kind_weight_is_named_before_any_data_is_built(value, capsys):
    with pytest.raises(SystemExit):
        train_main(["--kind-weights", value])
    assert f"{value!r} is not KIND=N (N >= 1)" in capsys.readouterr().err


def test_a_negative_clean_tail_weight_is_named_before_any_data_is_built(capsys):
    with pytest.raises(SystemExit):
        train_main(["--clean-tail", "-0.5"])
    assert "--clean-tail must be >= 0, got -0.5" in capsys.readouterr().err


def test_settings_are_checked():
    with pytest.raises(SettingsError, match="audio_artifact.hop_s"):
        build_detector("audio_artifact", {"hop_s": 2.0})
    with pytest.raises(SettingsError, match="audio_artifact.threshold"):
        build_detector("audio_artifact", {"threshold": 1.5})


@pytest.fixture(scope="module")
def detector_run():
    """Shipped weights over 14 s of chords with hum (3-6 s) and clicks (9-11 s), stereo."""
    if not DEFAULT_WEIGHTS.is_file():
        pytest.fail(f"shipped weights missing: {DEFAULT_WEIGHTS} (run the training script)")
    rng = np.random.default_rng(7)
    x = np.concatenate([chord(2.0, rng) for _ in range(7)])
    x[3 * RATE : 6 * RATE] = synth.add_hum(x[3 * RATE : 6 * RATE], RATE, 50.0, -30.0)
    x[9 * RATE : 11 * RATE] = synth.add_clicks(
        x[9 * RATE : 11 * RATE], RATE, rng, clicks_per_s=10, amplitude=0.3
    )
    stereo = np.repeat(x[:, None], 2, axis=1)
    detector = AudioArtifactDetector(AudioArtifactSettings(hop_s=0.5))
    events = []
    for start in range(0, len(stereo), 1920):
        events += detector.feed(AudioChunk(start / RATE, stereo[start : start + 1920], RATE))
    return events + detector.flush(), detector


def test_detector_merges_defective_segments_into_one_event_per_defect(detector_run):
    events, detector = detector_run
    found = [(e.details["class"], round(e.start, 2), round(e.end, 2)) for e in events]
    assert [c for c, _, _ in found] == ["hum", "clicks"], found
    (_, hum_start, hum_end), (_, click_start, click_end) = found
    assert 2.0 <= hum_start <= 3.0 and 6.0 <= hum_end <= 7.0, found
    assert 8.0 <= click_start <= 9.0 and 11.0 <= click_end <= 12.0, found
    hum = events[0]
    assert hum.details["segments"] >= 5 and 0.5 <= hum.score <= 1.0
    assert set(hum.details["probabilities"]) == set(CLASSES)
    assert len(detector.segments) == 27  # 1 s segments every 0.5 s over 14 s

"""The DSP audio pieces: the silence detector, the EBU R128 meter, the defect simulation and
the spectrogram evidence, on real sound (alsa-utils' speech) and exact test signals."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from detectors import audio_synthesis as synth
from detectors.loudness import LoudnessDetector, LoudnessSettings
from detectors.media import AudioChunk
from detectors.settings import SettingsError
from detectors.silence import SilenceDetector, SilenceSettings
from reports.spectrogram import spectrogram_png

RATE = 48_000
SPEECH = Path("/usr/share/sounds/alsa/Front_Center.wav")


def speech_stereo(seconds: float) -> np.ndarray:
    """Real speech (alsa-utils), looped to ``seconds``, stereo at 48 kHz, over the room tone
    of a real recording (pink noise at -66 dBFS; the file itself is gated to digital zero
    between words, which a broadcast never is)."""
    from benchmarks.audio_data import decode_mono

    mono = decode_mono(SPEECH)
    mono = np.tile(mono, int(math.ceil(seconds * RATE / len(mono))))[: int(seconds * RATE)]
    stereo = np.repeat(mono[:, None], 2, axis=1).astype(np.float32)
    return synth.add_hiss(stereo, np.random.default_rng(2), -66.0, "pink")


def feed(detector, samples: np.ndarray, chunk: int = 1024, rate: int = RATE) -> list:
    events = []
    for start in range(0, len(samples), chunk):
        events += detector.feed(AudioChunk(start / rate, samples[start : start + chunk], rate))
    return events + detector.flush()


def music_like(seconds: float, level_db: float = -30.0) -> np.ndarray:
    """A chord with a slow tremolo and a faint noise floor: never silent, sometimes quiet."""
    t = np.arange(int(seconds * RATE)) / RATE
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)) / 3
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 0.5 * t)
    x = chord * envelope * synth.db_to_gain(level_db + 3)
    x += np.random.default_rng(1).standard_normal(len(t)) * synth.db_to_gain(-62)
    return np.repeat(x[:, None], 2, axis=1).astype(np.float32)


def test_silence_catches_a_50_ms_dropout_and_a_3_s_mute_in_speech():
    audio = speech_stereo(12.0)
    audio = synth.dropout(audio, int(2.0 * RATE), int(0.05 * RATE))
    audio = synth.dropout(audio, int(6.0 * RATE), int(3.0 * RATE))
    events = feed(SilenceDetector(), audio)
    spans = [(round(e.start, 3), round(e.end, 3)) for e in events]
    assert any(abs(s - 2.0) <= 0.006 and abs(e - 2.05) <= 0.006 for s, e in spans), spans
    assert any(abs(s - 6.0) <= 0.006 and abs(e - 9.0) <= 0.006 for s, e in spans), spans


def test_silence_ignores_a_quiet_passage_and_natural_pauses():
    quiet = music_like(6.0, level_db=-55.0)  # a very quiet passage, still above the floor
    assert feed(SilenceDetector(), quiet) == []
    audio = speech_stereo(4.0) + music_like(4.0, level_db=-60.0)  # speech pauses, room tone
    assert feed(SilenceDetector(), audio) == []


def test_silence_per_channel_reports_a_lost_channel():
    audio = music_like(4.0)
    audio[RATE : 2 * RATE, 1] = 0.0
    assert feed(SilenceDetector(), audio) == []  # "all": the left channel still sounds
    events = feed(SilenceDetector(SilenceSettings(channels="any")), audio)
    assert len(events) == 1 and events[0].details["channels"] == [1]
    assert abs(events[0].start - 1.0) < 0.006 and abs(events[0].end - 2.0) < 0.006


def test_silence_settings_errors_name_the_field():
    with pytest.raises(SettingsError, match="channels"):
        SilenceSettings(channels="left")
    with pytest.raises(SettingsError, match="threshold_dbfs"):
        SilenceSettings(threshold_dbfs=3.0)


@pytest.mark.parametrize("rate", [48_000, 44_100])
def test_loudness_of_a_1_khz_sine_matches_bs1770(rate):
    """EBU Tech 3341 test 1: stereo 1 kHz at -23 dBFS (peak) reads -23.0 LUFS (+-0.1)."""
    t = np.arange(int(rate * 10)) / rate
    sine = synth.db_to_gain(-23.0) * np.sin(2 * np.pi * 1000 * t)
    meter = LoudnessDetector()
    assert feed(meter, np.stack([sine, sine], axis=1).astype(np.float32), 4800, rate) == []
    assert abs(meter.integrated_lufs() - (-23.0)) <= 0.1
    last = meter.timeline[-1]
    assert abs(last["momentary_lufs"] + 23.0) <= 0.1 and abs(last["short_term_lufs"] + 23.0) <= 0.1


def test_loudness_gating_ignores_silence_and_jump_check_reports_a_sudden_rise():
    t = np.arange(RATE * 8) / RATE
    sine = np.sin(2 * np.pi * 1000 * t) * synth.db_to_gain(-33.0)
    sine[4 * RATE :] *= synth.db_to_gain(20.0)  # +20 LU at 4 s
    x = np.concatenate([np.zeros(RATE * 4), sine])  # 4 s of silence first
    stereo = np.stack([x, x], axis=1).astype(np.float32)
    meter = LoudnessDetector(LoudnessSettings(max_jump_lu=10.0))
    events = feed(meter, stereo, 4800)
    # silence fails the absolute gate; the -33 LUFS part lies 20 LU under the programme and
    # fails the relative gate (-10 LU): integrated loudness is the loud part's, -13 LUFS
    assert abs(meter.integrated_lufs() - (-13.0)) <= 0.2
    assert len(events) == 1, events  # the start after silence is no jump; the rise is
    assert abs(events[0].start - 8.0) <= 0.5 and events[0].details["jump_lu"] >= 15


def test_hum_is_at_the_mains_frequency_and_level():
    tone = synth.hum_tone(RATE, RATE, 60.0, -30.0, harmonics=(1.0,))
    assert abs(synth.rms_dbfs(tone) + 30.0) < 0.05
    spectrum = np.abs(np.fft.rfft(tone))
    assert int(np.argmax(spectrum)) == 60  # 1 Hz bins
    rich = synth.hum_tone(RATE, RATE, 50.0, -30.0)
    peaks = np.abs(np.fft.rfft(rich))[[50, 100, 150, 200, 250]]
    assert np.all(peaks > 0.05 * peaks[0]) and abs(synth.rms_dbfs(rich) + 30.0) < 0.05
    joined = np.concatenate(
        [synth.hum_tone(1000, RATE, start_sample=0), synth.hum_tone(1000, RATE, start_sample=1000)]
    )
    assert np.allclose(joined, synth.hum_tone(2000, RATE), atol=1e-6)  # phase-continuous


def test_hiss_level_and_colour():
    rng = np.random.default_rng(0)
    silent = np.zeros(RATE * 2, np.float32)
    white = synth.add_hiss(silent, rng, -40.0, "white")
    pink = synth.add_hiss(silent, rng, -40.0, "pink")
    assert abs(synth.rms_dbfs(white) + 40.0) < 0.2 and abs(synth.rms_dbfs(pink) + 40.0) < 0.2

    def band(x, lo, hi):
        power = np.abs(np.fft.rfft(x)) ** 2
        f = np.fft.rfftfreq(len(x), 1 / RATE)
        return power[(f >= lo) & (f < hi)].mean()

    assert 0.5 < band(white, 100, 200) / band(white, 10_000, 20_000) < 2
    assert band(pink, 100, 200) / band(pink, 10_000, 20_000) > 30  # ~1/f: 100x


def test_distortion_clips_and_crushes():
    t = np.arange(RATE) / RATE
    sine = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    hard = synth.hard_clip(sine, 30.0)
    assert np.abs(hard).max() == pytest.approx(1.0) and np.mean(np.abs(hard) >= 0.999) > 0.5
    soft = synth.soft_clip(sine, 30.0)
    assert np.abs(soft).max() < 1.0 and np.abs(soft).max() > 0.99
    crushed = synth.bit_crush(sine * 8, bits=3)
    assert len(np.unique(crushed)) <= 2**3 + 1


def test_clicks_and_dropout():
    rng = np.random.default_rng(3)
    silent = np.zeros((RATE, 2), np.float32)
    clicks = synth.add_clicks(silent, RATE, rng, positions=np.array([1000, 30_000]), amplitude=0.5)
    hits = np.flatnonzero(np.abs(clicks[:, 0]) > 0.1)
    assert hits.min() == 1000 and 30_000 in hits and hits.max() < 30_000 + 40
    assert np.abs(clicks).max() <= 0.5
    positions = synth.click_positions(RATE * 10, RATE, 5.0, rng)
    assert 25 <= len(positions) <= 75
    audio = music_like(1.0)
    gap = synth.dropout(audio, 100, 50)
    assert np.all(gap[100:150] == 0) and np.all(gap[:100] == audio[:100])


def test_spectrogram_shows_hum_at_the_bottom_and_marks_the_event():
    audio = synth.add_hum(np.zeros(RATE * 3, np.float32), RATE, 50.0, -20.0)
    png = spectrogram_png(audio, RATE, 10.0, (11.0, 12.0), "hum", width=300)
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[0] > 256 and image.shape[1] > 300
    column = image[20 : 20 + 256, 56 + 50].astype(int).sum(axis=1)  # one time column
    assert column[200:].max() > 400 > column[:100].max()  # bright at 50 Hz, dark in treble


@pytest.mark.parametrize("channels", [1, 2, 6])
def test_audio_chunk_mono_is_the_channel_mean(channels):
    samples = np.random.default_rng(3).uniform(-1, 1, (1920, channels)).astype(np.float32)
    mono = AudioChunk(0.0, samples, RATE).mono()
    assert mono.dtype == np.float32 and mono.shape == (1920,)
    np.testing.assert_allclose(mono, samples.mean(axis=1), atol=1e-6)
    np.testing.assert_array_equal(AudioChunk(0.0, samples[:, 0], RATE).mono(), samples[:, 0])

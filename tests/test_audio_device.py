"""The virtual device's audio faults and MUTE key, on its rendered output (before encoding)."""

from __future__ import annotations

import numpy as np
import pytest

from detectors import audio_synthesis as synth
from devices.simulator.app import VirtualApp
from devices.simulator.content import AUDIO_RATE, default_titles
from devices.simulator.faults import FaultSchedule, FaultSpecError

FPS = 25


@pytest.fixture(scope="module")
def titles():
    return default_titles(64, 36)


def play(titles, faults: str, seconds: float, keys: dict[int, str] | None = None) -> np.ndarray:
    """Audio of ``seconds`` of Big Buck Bunny's playback; ``keys``: frame index -> key."""
    app = VirtualApp(titles, FaultSchedule.parse(faults), 64, 36, FPS)
    app.launch()
    app.press("PLAY")
    audio = []
    for n in range(round(seconds * FPS)):
        if keys and n in keys:
            app.press(keys[n])
        audio.append(app.render()[1])
    return np.concatenate(audio)


def test_audio_faults_alter_the_sound_where_scheduled(titles):
    clean = play(titles, "", 6.0)
    faulty = play(titles, "hum@1s+1s:-30db,dropout@2500ms+60ms,hiss@3s+1s,distortion@4s+1s", 6.0)
    second = slice(0, AUDIO_RATE)
    assert np.array_equal(clean[second], faulty[second])  # before the first fault: untouched
    hum = faulty[AUDIO_RATE : 2 * AUDIO_RATE, 0] - clean[AUDIO_RATE : 2 * AUDIO_RATE, 0]
    assert abs(synth.rms_dbfs(hum) + 30.0) < 0.1
    assert int(np.argmax(np.abs(np.fft.rfft(hum)))) == 50  # 1 Hz bins: 50 Hz mains
    gap = faulty[int(2.5 * AUDIO_RATE) : int(2.56 * AUDIO_RATE)]
    assert np.all(gap == 0) and np.any(faulty[int(2.56 * AUDIO_RATE) + 1 :][:10] != 0)
    hiss = faulty[3 * AUDIO_RATE : 4 * AUDIO_RATE] - clean[3 * AUDIO_RATE : 4 * AUDIO_RATE]
    assert abs(synth.rms_dbfs(hiss) + 45.0) < 0.3
    distorted = faulty[4 * AUDIO_RATE : 5 * AUDIO_RATE]
    assert np.abs(distorted).max() == pytest.approx(1.0) and np.mean(np.abs(distorted) == 1) > 0.05


def test_clicks_come_at_the_scheduled_rate(titles):
    clean = play(titles, "", 3.0)
    faulty = play(titles, "clicks@1s+2s:10", 3.0)
    diff = np.abs(faulty[:, 0] - clean[:, 0])
    assert np.all(diff[:AUDIO_RATE] == 0)
    onsets = np.flatnonzero((diff[1:] > 0.1) & (diff[:-1] <= 0.1))
    assert 8 <= len(onsets) <= 35, len(onsets)  # Poisson, 10 per second over 2 s


def test_mute_silences_the_output_until_pressed_again(titles):
    audio = play(titles, "", 4.0, keys={25: "MUTE", 75: "MUTE"})
    frame = AUDIO_RATE // FPS
    assert np.all(audio[25 * frame : 75 * frame] == 0)
    assert synth.rms_dbfs(audio[75 * frame :]) > -70 and synth.rms_dbfs(audio[: 25 * frame]) > -70


def test_audio_fault_values_parse_with_units():
    schedule = FaultSchedule.parse("hum@1s+2s:-35db,clicks@0s+1s:4,dropout@2s+80ms")
    assert [f.value for f in schedule.faults] == [-35.0, 4.0, None]
    assert schedule.faults[2].duration_s == pytest.approx(0.08)
    with pytest.raises(FaultSpecError, match="unknown kind 'humm'"):
        FaultSchedule.parse("humm@1s+2s")

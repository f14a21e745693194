"""The device under test as a scenario sees it: press keys, wait, navigate, ask its state.

A ``Device`` joins a transport (how to reach it) with a profile (how its keys are coded and
how its app is navigated). Every key press is logged with its host time so the harness can
place it on the capture timeline.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from devices.keys import Key
from devices.transports.base import Transport, TransportError

PLAYBACK_STATES = {
    0: "none",
    1: "stopped",
    2: "paused",
    3: "playing",
    4: "fast_forwarding",
    5: "rewinding",
    6: "buffering",
    7: "error",
    8: "connecting",
}
"""Android ``PlaybackState`` codes -> the names ``wait_for_player_state`` takes."""


@dataclass(frozen=True)
class KeyPress:
    """One key sent to the device.

    Attributes:
        key: onglass key name.
        code: the transport's code for it (e.g. ``KEYCODE_MEDIA_PLAY``).
        transport: transport kind (``adb``, ``lirc``...).
        sent_at: host monotonic seconds when sending began.
        done_at: host monotonic seconds when the transport confirmed it.
    """

    key: Key
    code: str
    transport: str
    sent_at: float
    done_at: float


@dataclass(frozen=True)
class PlayerStatus:
    """What the device's media session reports: state name, position (seconds), title."""

    state: str
    position_s: float
    title: str


@dataclass(frozen=True)
class AppProfile:
    """The app under test: how to launch it and where titles sit in its catalogue.

    Attributes:
        package: Android package name.
        activity: activity started by ``launch_app`` (``.MainActivity``).
        catalogue: titles in catalogue order, top to bottom.
    """

    package: str
    activity: str
    catalogue: tuple[str, ...] = ()


@dataclass
class Device:
    """A device under test reached through ``transport`` with key codes from ``keymap``."""

    transport: Transport
    keymap: Callable[[Key], str]
    app: AppProfile | None = None
    status: Transport | None = None
    """A second link for app launch, player state and logs when the key transport cannot
    (an IR blaster has no back channel: e.g. ADB beside IR). None: the key transport only."""
    interpress_delay_s: float = 0.3
    """Pause between keys of a sequence, in seconds (stb-tester's default)."""
    key_listeners: list[Callable[[KeyPress], None]] = field(default_factory=list)
    step: Callable[[str], AbstractContextManager] = lambda title: contextlib.nullcontext()
    """Wraps each scripted action (a report step); the pytest plugin sets ``allure.step``."""

    def press(self, key: Key | str) -> KeyPress:
        """Send one key; raises ``TransportError`` (an infrastructure problem) on failure."""
        parsed = Key.parse(key)
        code = self.keymap(parsed)
        sent = time.monotonic()
        self.transport.send_key(code)
        return self._notify(parsed, code, sent)

    def hold(self, key: Key | str, seconds: float) -> KeyPress:
        """Hold ``key`` down for ``seconds`` (repeat frames on IR, keydown/keyup on ECP...).

        Transports without a hold send single presses on a ``interpress_delay_s`` grid
        instead (at 0, d, 2d... while within ``seconds``; a slow press does not shorten it).
        """
        parsed = Key.parse(key)
        code = self.keymap(parsed)
        sent = time.monotonic()
        hold_key = getattr(self.transport, "hold_key", None)
        with self.step(f"hold {parsed.value} for {seconds:g} s"):
            if hold_key is not None:
                hold_key(code, seconds)
            else:
                repeats = int(seconds / self.interpress_delay_s) if self.interpress_delay_s else 0
                for n in range(repeats + 1):
                    time.sleep(max(0.0, sent + n * self.interpress_delay_s - time.monotonic()))
                    self.transport.send_key(code)
        return self._notify(parsed, code, sent)

    def _notify(self, key: Key, code: str, sent: float) -> KeyPress:
        """The ``KeyPress`` of ``key`` sent at host time ``sent``, told to every key listener."""
        press = KeyPress(key, code, self.transport.kind, sent, time.monotonic())
        for listener in self.key_listeners:
            listener(press)
        return press

    def press_sequence(
        self, keys: Iterable[Key | str], interpress_delay_s: float | None = None
    ) -> None:
        """Send ``keys`` in order, ``interpress_delay_s`` seconds apart."""
        delay = self.interpress_delay_s if interpress_delay_s is None else interpress_delay_s
        for i, key in enumerate(keys):
            if i:
                time.sleep(delay)
            self.press(key)

    def wait(self, seconds: float) -> None:
        """Let the device run for ``seconds`` (the monitor keeps watching meanwhile)."""
        with self.step(f"wait {seconds:g} s"):
            time.sleep(seconds)

    def shell(self, command: str) -> str:
        """Run a shell command on the device (transports that have a shell: ADB)."""
        run = self._shell_channel()
        if run is None:
            raise TransportError(
                f"{self.transport.kind}: this transport has no shell or state queries "
                "(give the rig a status link: device.status)"
            )
        return run(command)

    def _shell_channel(self) -> Callable[[str], str] | None:
        return self._capability("shell")

    def _capability(self, name: str) -> Callable | None:
        """Method ``name`` of the key transport, else of the status link, else None."""
        for link in (self.transport, self.status):
            method = getattr(link, name, None)
            if method is not None:
                return method
        return None

    # ---- app navigation (Android TV profile: am start + catalogue keys) -------------
    def _require_app(self) -> AppProfile:
        if self.app is None:
            raise ValueError("this rig declares no app (rig file: device.app)")
        return self.app

    def launch_app(self) -> None:
        """Start the app under test on its catalogue."""
        app = self._require_app()
        launch = self._capability("launch_app")  # e.g. Roku ECP /launch
        if launch is not None:
            with self.step(f"launch {app.package}"):
                launch(app)
            return
        with self.step(f"launch {app.package}"):
            out = self.shell(f"am start -n {app.package}/{app.activity}")
        if "Error" in out:
            raise TransportError(f"{self.transport.kind}: am start failed: {out.strip()}")

    def open_title(self, name: str) -> None:
        """Launch the app and open ``name`` from its catalogue with key presses."""
        app = self._require_app()
        if name not in app.catalogue:
            raise ValueError(f"title {name!r} is not in the catalogue ({', '.join(app.catalogue)})")
        with self.step(f"open title {name!r}"):
            self.launch_app()
            time.sleep(self.interpress_delay_s)
            moves = [Key.UP] * len(app.catalogue) + [Key.DOWN] * app.catalogue.index(name)
            self.press_sequence([*moves, Key.OK])

    def player_state(self) -> PlayerStatus:
        """The player's state: the transport's own query (Roku ECP ``/query/media-player``)
        or the media session, parsed from ``dumpsys media_session``."""
        query = self._capability("player_status")
        if query is not None:
            return PlayerStatus(*query())
        text = self.shell("dumpsys media_session")
        match = re.search(r"state=PlaybackState \{([^}]*)\}", text)
        if match is None:
            raise TransportError(
                f"{self.transport.kind}: dumpsys media_session has no PlaybackState line"
            )
        fields = dict(
            part.strip().split("=", 1) for part in match.group(1).split(",") if "=" in part
        )
        try:
            code = int(fields["state"])
            position_s = int(fields.get("position", "0")) / 1000.0
        except (KeyError, ValueError):
            raise TransportError(
                f"{self.transport.kind}: unreadable PlaybackState {match.group(1)!r}"
            ) from None
        title = re.search(r"description=([^,\n]*)", text)
        return PlayerStatus(
            PLAYBACK_STATES.get(code, str(code)), position_s, title.group(1) if title else ""
        )

    def wait_for_player_state(
        self, state: str, timeout: float = 10.0, poll_s: float = 0.2
    ) -> PlayerStatus:
        """Poll the media session until it reports ``state``; AssertionError after ``timeout`` s."""
        if state not in PLAYBACK_STATES.values():
            raise ValueError(
                f"unknown player state {state!r} (known: {', '.join(PLAYBACK_STATES.values())})"
            )
        deadline = time.monotonic() + timeout
        with self.step(f"wait for player state {state!r} (up to {timeout:g} s)"):
            while True:
                status = self.player_state()
                if status.state == state:
                    return status
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"player did not reach {state!r} within {timeout:g} s "
                        f"(last: {status.state} at {status.position_s:.1f} s of {status.title!r})"
                    )
                time.sleep(poll_s)

    def describe(self) -> dict[str, str]:
        """Model, firmware and app version as the device reports them ('' where unknown)."""
        if self._shell_channel() is None:
            return {"model": "", "firmware": "", "app_version": ""}
        facts = {
            "model": self.shell("getprop ro.product.model").strip(),
            "firmware": self.shell("getprop ro.build.fingerprint").strip(),
            "app_version": "",
        }
        if self.app is not None:
            match = re.search(
                r"versionName=(\S+)", self.shell(f"dumpsys package {self.app.package}")
            )
            facts["app_version"] = match.group(1) if match else ""
        return facts

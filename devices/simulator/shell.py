"""The virtual device's shell: the commands an Android TV answers over ``adb shell``.

Only what onglass and a QA engineer poking by hand need: ``input keyevent``, ``am start``,
``dumpsys media_session``, ``dumpsys window``, ``getprop``, ``logcat -d`` / ``-c``, ``echo``.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable

from devices.profiles.android_tv import key_for_keycode
from devices.simulator.adbd import ShellResult
from devices.simulator.app import PACKAGE, VirtualApp

APP_VERSION = "1.4.2-sim"
"""versionName the virtual app reports in ``dumpsys package``."""

PROPERTIES = {
    "ro.product.model": "onglass virtual device",
    "ro.product.manufacturer": "onglass",
    "ro.product.name": "onglass_sim",
    "ro.build.version.release": "12",
    "ro.build.version.sdk": "31",
    "ro.build.fingerprint": "onglass/onglass_sim/onglass:12/SIM1/1:user/release-keys",
}


class DeviceShell:
    """Answers shell command lines for a ``VirtualApp``; unknown commands exit 127."""

    def __init__(self, app: VirtualApp) -> None:
        self.app = app
        self._commands: dict[str, Callable[[list[str]], ShellResult]] = {
            "input": self._input,
            "am": self._am,
            "dumpsys": self._dumpsys,
            "getprop": self._getprop,
            "logcat": self._logcat,
            "echo": lambda args: ShellResult(stdout=(" ".join(args) + "\n").encode()),
            "true": lambda args: ShellResult(),
            "false": lambda args: ShellResult(exit_code=1),
        }

    def __call__(self, command: str) -> ShellResult:
        try:
            words = shlex.split(command)
        except ValueError as error:
            return ShellResult(stderr=f"sh: {error}\n".encode(), exit_code=2)
        # logcat arrives as "export ANDROID_LOG_TAGS=''; exec logcat '-d'" from adb
        if words and words[0] == "export" and "exec" in words:
            words = words[words.index("exec") + 1 :]
        if not words:
            return ShellResult()
        handler = self._commands.get(words[0])
        if handler is None:
            return ShellResult(
                stderr=f"/system/bin/sh: {words[0]}: not found\n".encode(), exit_code=127
            )
        return handler(words[1:])

    def _input(self, args: list[str]) -> ShellResult:
        if not args or args[0] != "keyevent":
            return ShellResult(
                stderr=b"usage: input keyevent [--longpress] KEYCODE ...\n", exit_code=1
            )
        codes = [a for a in args[1:] if not a.startswith("--")]
        if not codes:
            return ShellResult(stderr=b"input keyevent: no keycode given\n", exit_code=1)
        try:
            keys = [key_for_keycode(code) for code in codes]
        except ValueError as error:
            return ShellResult(stderr=f"input keyevent: {error}\n".encode(), exit_code=1)
        for key in keys:
            self.app.press(key.value)
        return ShellResult()

    def _am(self, args: list[str]) -> ShellResult:
        if len(args) >= 3 and args[0] == "start" and "-n" in args:
            component = args[args.index("-n") + 1]
            if not component.startswith(PACKAGE + "/"):
                return ShellResult(
                    stderr=f"Error: Activity class {{{component}}} does not exist.\n".encode(),
                    exit_code=1,
                )
            self.app.launch()
            return ShellResult(stdout=f"Starting: Intent {{ cmp={component} }}\n".encode())
        if len(args) >= 2 and args[0] == "force-stop":
            self.app.press("HOME")
            return ShellResult()
        return ShellResult(
            stderr=b"usage: am start -n PACKAGE/ACTIVITY | am force-stop PACKAGE\n", exit_code=1
        )

    def _dumpsys(self, args: list[str]) -> ShellResult:
        if args[:1] == ["media_session"]:
            state, position_s, title = self.app.media_session()
            text = (
                "MEDIA SESSION SERVICE (dumpsys media_session)\n\n"
                "User Records:\nRecord for full_user=0\n"
                "  Sessions Stack - have 1 sessions:\n"
                f"    onglass {PACKAGE}/onglass (userId=0)\n"
                f"      package={PACKAGE}\n"
                f"      active={'true' if state.value >= 2 else 'false'}\n"
                f"      state=PlaybackState {{state={state.value}, position={int(position_s * 1000)}, "
                "buffered position=0, speed=1.0, updated=0, actions=379, custom actions=[], "
                "active item id=-1, error=null}\n"
                f"      metadata: size=1, description={title}, null, null\n"
            )
            return ShellResult(stdout=text.encode())
        if args[:1] == ["package"]:
            if args[1:2] != [PACKAGE]:
                return ShellResult(stdout=b"")
            text = f"Packages:\n  Package [{PACKAGE}] (5f3a2c1):\n    versionCode=10402 minSdk=26 targetSdk=33\n    versionName={APP_VERSION}\n"
            return ShellResult(stdout=text.encode())
        if args[:1] == ["window"]:
            activity = self.app.focused_activity()
            return ShellResult(stdout=f"  mCurrentFocus=Window{{5e1f2a u0 {activity}}}\n".encode())
        return ShellResult(stderr=f"Can't find service: {' '.join(args)}\n".encode(), exit_code=1)

    def _getprop(self, args: list[str]) -> ShellResult:
        if args:
            return ShellResult(stdout=(PROPERTIES.get(args[0], "") + "\n").encode())
        lines = "".join(f"[{k}]: [{v}]\n" for k, v in PROPERTIES.items())
        return ShellResult(stdout=lines.encode())

    def _logcat(self, args: list[str]) -> ShellResult:
        if "-c" in args:
            self.app.log_lines.clear()
            return ShellResult()
        if "-d" not in args:
            return ShellResult(
                stderr=b"logcat: only -d (dump) and -c (clear) are simulated\n", exit_code=1
            )
        return ShellResult(
            stdout="".join(line + "\n" for line in list(self.app.log_lines)).encode()
        )

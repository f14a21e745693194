"""Key-press latency of each control transport against its loopback simulator.

For every transport the production client sends ``--presses`` keys to the simulator that
speaks its wire protocol (lircd with the file driver, iTach, ptys for LG / Samsung serial,
Roku ECP over HTTP, CEC through the cec-client stand-in, adbd); the time from
``send_key`` to its return is one sample, and the simulator must have decoded every key.
These are the host-side costs of each protocol here, not the IR air time or a real device's
reaction: LIRC and iTach return once the IR frame (~68 ms of NEC) would have gone out.

    python benchmarks/transport_latency.py [--presses 40] [--out benchmarks/results/transport_latency.md]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from devices.keys import Key
from devices.profiles.android_tv import key_for_keycode
from devices.profiles.catalog import keymap
from devices.simulator.adbd import AdbDaemon, ShellResult
from devices.simulator.cec_sim import CecBus
from devices.simulator.itach_sim import ItachSimulator
from devices.simulator.lirc_sim import LircSimulator
from devices.simulator.roku_sim import RokuSimulator
from devices.simulator.serial_sim import LgSerialSim, SamsungSerialSim
from devices.transports.factory import build_transport

try:
    from benchmarks.eval_detectors import machine_description
except ModuleNotFoundError:  # run as a script: benchmarks/ itself is on sys.path
    from eval_detectors import machine_description  # type: ignore[no-redef]

KEYS = (Key.UP, Key.DOWN, Key.OK, Key.PLAY, Key.PAUSE, Key.FF, Key.RW, Key.BACK)


class _Recorder:
    """Stands in for the app: counts the key actions each simulator delivers."""

    def __init__(self) -> None:
        self.actions: list[str] = []

    def press(self, action: str) -> None:
        self.actions.append(action)

    def key(self, key: Key) -> None:
        self.actions.append(key.value)

    def launch(self) -> None:
        pass

    def media_session(self):
        return 0, 0.0, ""

    def focused_activity(self) -> str:
        return "com.onglass.launcher/.Home"


def _adb_shell(app: _Recorder):
    def shell(command: str) -> ShellResult:
        words = command.split()
        if words[:2] == ["input", "keyevent"]:
            app.press(key_for_keycode(words[2]).value)
        return ShellResult()

    return shell


def simulators(app: _Recorder) -> dict[str, tuple[object, str, str, dict]]:
    """Transport kind -> (simulator, address attribute, profile, options)."""
    return {
        "adb": (AdbDaemon(_adb_shell(app)), "address", "android_tv", {}),
        "lirc": (LircSimulator(app.key), "address", "set_top_box", {}),
        "itach": (ItachSimulator(app.key), "address", "set_top_box", {}),
        "serial_lg": (LgSerialSim(app.key), "path", "lg_tv", {}),
        "serial_samsung": (SamsungSerialSim(app.key), "path", "samsung_tv", {}),
        "roku_ecp": (RokuSimulator(app), "address", "roku", {}),
        "cec": (
            CecBus(app.key),
            "address",
            "game_console",
            {"client": f"{sys.executable} -m devices.simulator.cec_sim"},
        ),
    }


def measure(kind: str, presses: int) -> tuple[list[float], int]:
    """Per-press seconds and the number of keys the simulator decoded."""
    app = _Recorder()
    sim, attribute, profile, options = simulators(app)[kind]
    sim.start()
    try:
        address = getattr(sim, attribute)
        transport = build_transport(kind, address, timeout_s=5, profile=profile, options=options)
        transport.connect()
        codes = keymap(profile, kind)
        samples = []
        try:
            for i in range(presses):
                code = codes(KEYS[i % len(KEYS)])
                start = time.perf_counter()
                transport.send_key(code)
                samples.append(time.perf_counter() - start)
        finally:
            transport.close()
        time.sleep(0.2)  # the lircd file follower polls every 10 ms
        return samples, len(app.actions)
    finally:
        sim.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=40, help="keys per transport")
    parser.add_argument("--out", default="benchmarks/results/transport_latency.md")
    args = parser.parse_args(argv)
    rows = []
    for kind in simulators(_Recorder()):
        samples, decoded = measure(kind, args.presses)
        ms = sorted(s * 1000 for s in samples)
        p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
        rows.append(
            f"| {kind} | {statistics.median(ms):.1f} | {p95:.1f} | {ms[-1]:.1f} "
            f"| {decoded}/{len(samples)} |"
        )
        print(rows[-1], flush=True)
    table = "\n".join(
        [
            "# Key-press latency per transport (loopback simulators)",
            "",
            f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            f"- machine: {machine_description()}, Python {platform.python_version()}",
            f"- command: `python benchmarks/transport_latency.py --presses {args.presses}`",
            "- what: time from `send_key` to its return (the transport's confirmation), "
            "production client against the simulator speaking its wire protocol; "
            "decoded = keys the simulator turned back into onglass keys",
            "",
            "| transport | median ms | p95 ms | max ms | decoded |",
            "|---|---:|---:|---:|---:|",
            *rows,
            "",
            "Reading it: LIRC and iTach confirm once the IR is out, so they cost about one NEC",
            "frame period (108 ms start to start; lircd answers after the frame, the iTach after",
            "the frame and its trailing gap). ADB's ~47 ms is adb-shell's per-command stream",
            "setup. Serial, ECP and CEC are host-side only here: a real CEC bus sends a bit",
            "every 2.4 ms, 10 bits a byte (User Control Pressed ~77 ms, Released ~53 ms), and a",
            "real TV's RS-232 reply takes its firmware's time. Measured on a shared 2-core",
            "machine under load (other jobs running).",
            "",
        ]
    )
    Path(args.out).write_text(table)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

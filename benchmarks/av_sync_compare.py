"""AV-offset accuracy: onglass ``av_sync`` (flash + beep) against av-drift-detector (stamped
frames and audio), through the same capture paths with the same injected offsets.

    .venv/bin/python benchmarks/av_sync_compare.py [--paths file,stream,pulse]
        [--out benchmarks/results/av_sync.md]

What is compared: each tool measures its *own* test title, played by the same virtual device
with the same fault schedule through the same capture path, so the two tools never see the
same decoded items: onglass the "AV Sync" title (a white flash and a 1 kHz burst once a
second), av-drift-detector the "Sync Test" title (its own pattern: every frame and every
frame's worth of sound stamped with the frame number, rendered by its ``PatternRenderer`` /
``synthesize_audio``). The device's ``av_offset`` fault shifts the sound of either title
alike: one playback walks through 0 ms (the calibration window), then -200, -100, -40, +40,
+100, +200 ms (positive = audio early); a second playback drifts 40 ms per minute. On the
live paths both titles play one after the other in one device session (one virtual device,
one PulseAudio server; the fault schedule restarts with each title's playback). Paths:

* ``file``: the device's MPEG-TS output (H.264 + AAC) rendered to a file, decoded by the
  capture's PyAV code (faster than real time, no network);
* ``stream``: the live virtual device over UDP, captured by the ``stream`` backend;
* ``pulse``: the live device's sound played into a PulseAudio null sink and recorded with
  sounddevice (``pulse`` ALSA device), paired with the stream video (``VideoWithDeviceAudio``).

Both tools get the items the path's capture decodes from their title: onglass feeds them to
``AvSyncDetector``; av-drift-detector reads each frame's luma with ``StampReader`` and gets the
mono audio, and ``analyze_frames`` reports a drift per frame (positive = audio late, negated
here). Errors are
measured value minus injected value, away from the fault windows' edges (0.6 s); on the live
paths each tool's own median in the 0 ms window is subtracted first (what
``onglass calibrate --av`` does). Writes a table with the date, machine and command.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import yaml

from detectors.av_sync import AvSyncDetector, drift_ms_per_min
from detectors.media import AudioChunk, VideoFrame
from devices.simulator.content import AvSyncTitle
from devices.simulator.device import SimulatorConfig, render_playback
from devices.simulator.faults import FaultSchedule
from harness.calibrate import play_and_feed
from harness.rig import Rig, default_rig_path, parse_rig
from harness.session import RigSession

try:
    from benchmarks.eval_detectors import machine_description
except ModuleNotFoundError:  # run as a script: benchmarks/ itself is on sys.path
    from eval_detectors import machine_description  # type: ignore[no-redef]

WINDOWS_MS = (0, -200, -100, -40, 40, 100, 200)
"""Injected offsets, in playback order, ms (positive = audio early)."""
WINDOW_S = 4.0
"""Length of each offset window, seconds (the first, 0 ms, starts at playback 0)."""
DRIFT_MS_PER_MIN = 40.0
EDGE_S = 0.6
"""Measurements this close to a window's edge are left out (the fault switches there)."""
PLAY_S = len(WINDOWS_MS) * WINDOW_S + 1.5
OFFSET_FAULTS = ",".join(
    f"av_offset@{i * WINDOW_S:g}s+{WINDOW_S:g}s:{ms}ms" for i, ms in enumerate(WINDOWS_MS) if ms
)
DRIFT_FAULTS = f"av_drift@0s+60s:{DRIFT_MS_PER_MIN:g}ms"
FPS = 25


@dataclass
class Measured:
    """(playback seconds, offset ms, positive = audio early) pairs of one tool on one run."""

    points: list[tuple[float, float]] = field(default_factory=list)


# ---- the two tools ------------------------------------------------------------------------
class OnglassTool:
    name = "onglass av_sync"
    title = "AV Sync"

    def __init__(self) -> None:
        self.detector = AvSyncDetector()

    def feed(self, item: VideoFrame | AudioChunk) -> None:
        self.detector.feed(item)

    def finish(self) -> Measured:
        self.detector.flush()
        markers = self.detector.markers
        if not markers:
            return Measured()
        start = _playback_start([m.flash_s for m in markers])
        return Measured([(m.flash_s - start, m.offset_ms) for m in markers])


def _playback_start(flashes: list[float]) -> float:
    """Capture time of playback 0: the marker schedule's sub-frame phases make the spacing
    pattern unique, so the flashes are matched against the title's marker times."""
    title_markers = np.array(AvSyncTitle("AV Sync", 64, 64, fps=FPS).marker_times())
    best, best_hits = 0.0, -1
    for m in title_markers:
        start = flashes[0] - m
        hits = sum(np.min(np.abs(title_markers + start - f)) < 0.004 for f in flashes)
        if hits > best_hits:
            best, best_hits = start, hits
    return best


class AvDriftTool:
    name = "av-drift-detector"
    title = "Sync Test"

    def __init__(self) -> None:
        import av_drift_detector

        self.avd = av_drift_detector
        self.reader = av_drift_detector.StampReader(try_qr=False)
        self.audio: list[np.ndarray] = []
        self.audio_t: float | None = None
        self.size = (0, 0)

    def feed(self, item: VideoFrame | AudioChunk) -> None:
        if isinstance(item, VideoFrame):
            luma = np.ascontiguousarray(item.luma)
            self.size = (luma.shape[1], luma.shape[0])
            self.reader.read(luma, luma.shape[1], luma.shape[0], item.t)
        else:
            if self.audio_t is None:
                self.audio_t = item.t
            self.audio.append(item.samples.mean(axis=1).astype(np.float32))

    def finish(self) -> Measured:
        if self.audio_t is None:
            return Measured()
        audio = {
            "sample_rate": 48_000,
            "start_time": self.audio_t,
            "samples": np.concatenate(self.audio),
        }
        report = self.avd.analyze_frames(
            self.reader.finish(), audio, width=self.size[0], height=self.size[1], fps=str(FPS)
        )
        points = []
        for frame in report["frames"]:
            if frame["status"] == "ok" and frame["video_frame"] is not None:
                playback = frame["video_frame"] / FPS  # the title plays from frame 0, no seeks
                points.append((playback, -float(frame["drift_ms"])))
        return Measured(points)


TOOLS = (OnglassTool, AvDriftTool)
NOTES = (
    "Notes:",
    "",
    "- What is compared: each tool measures its own title (onglass the AV Sync title, "
    "av-drift-detector the Sync Test title), played with the same injected offsets through the "
    "same path; the tools never see the same decoded items. On the live paths both titles "
    "play one after the other in one session of the virtual device.",
    "- The injected offsets are whole samples at 48 kHz, and av-drift-detector reads the frame "
    "numbers its audio carries, so on a bit-exact sound path it reads them exactly (0.00).",
    "- av-drift-detector's `analyze_frames` takes one audio start time: it is given the first "
    "chunk's time and the samples as counted, so it does not see the Pulse capture's clock "
    "corrections; onglass follows every chunk's time (what the harness delivers live).",
    "- On the pulse path the virtual device plays its sound with `pacat` on a loaded 2-core "
    "machine; a stall longer than pacat's 200 ms buffer shifts the rest of that run's sound "
    "(a device-side glitch both tools would measure as real offset).",
)


# ---- the paths ----------------------------------------------------------------------------
def run_file(tool, faults: str) -> Measured:
    from harness.capture.file import FileCapture

    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "out.ts")
        render_playback(path, tool.title, PLAY_S, FaultSchedule.parse(faults), SimulatorConfig())
        for item in FileCapture(path).items():
            tool.feed(item)
    return tool.finish()


def live_rig(faults: str, pulse) -> Rig:
    """The built-in virtual rig with ``faults``; with ``pulse`` (a ``PulseServer``) the device
    also plays into its sink and the capture takes the sound from the ``pulse`` device."""
    data = yaml.safe_load(default_rig_path().read_text())
    data["simulator"]["faults"] = faults
    if pulse is not None:
        data["simulator"]["pulse_sink"] = pulse.sink
        data["capture"]["audio_device"] = "pulse"
    return parse_rig(data, "virtual rig (av_sync_compare)")


def run_live(tools: list, faults: str, pulse=None) -> list[Measured]:
    """Each tool's title played in turn in one session of the virtual device, measured by it."""
    session = RigSession(live_rig(faults, pulse))
    try:
        for tool in tools:
            play_and_feed(session, tool.title, PLAY_S + 3.0, tool.feed)
        return [tool.finish() for tool in tools]
    finally:
        session.close()


# ---- scoring ------------------------------------------------------------------------------
def injected_offset(playback_s: float) -> float | None:
    """The injected offset at ``playback_s`` (ms), None near a window edge or past the end."""
    index = int(playback_s // WINDOW_S)
    within = playback_s - index * WINDOW_S
    if index >= len(WINDOWS_MS) or within < EDGE_S or within > WINDOW_S - EDGE_S:
        return None
    return float(WINDOWS_MS[index])


def offset_errors(measured: Measured, calibrate: bool) -> tuple[dict[int, list[float]], float]:
    """Errors (ms) by injected offset, and the calibration subtracted (ms)."""
    by_window: dict[int, list[float]] = {ms: [] for ms in WINDOWS_MS}
    for playback, offset in measured.points:
        expected = injected_offset(playback)
        if expected is not None:
            by_window[int(expected)].append(offset - expected)
    zero = by_window[0]
    calibration = float(np.median(zero)) if calibrate and zero else 0.0
    return {ms: [e - calibration for e in errs] for ms, errs in by_window.items()}, calibration


def drift_of(measured: Measured) -> float | None:
    from detectors.av_sync import Marker

    points = [p for p in measured.points if 1.0 <= p[0] <= PLAY_S - 1.0]
    if len(points) < 3:
        return None
    return drift_ms_per_min([Marker(t, t, o) for t, o in points])


def summarise(errors: dict[int, list[float]]) -> tuple[float, float, int]:
    everything = np.abs(np.concatenate([np.array(e) for e in errors.values()] or [[]]))
    if everything.size == 0:
        return float("nan"), float("nan"), 0
    return float(np.median(everything)), float(everything.max()), int(everything.size)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", default="file,stream,pulse", help="comma-separated paths")
    parser.add_argument("--no-drift", action="store_true", help="skip the drift playbacks")
    parser.add_argument(
        "--out", default=str(Path(__file__).resolve().parent / "results" / "av_sync.md")
    )
    args = parser.parse_args(argv)
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    pulse = None
    if "pulse" in paths:
        from harness.pulse_server import PulseServer

        pulse = PulseServer().start()
        os.environ["PULSE_SERVER"] = pulse.server
    rows: list[list[str]] = []
    detail: list[list[str]] = []
    try:
        for path in paths:
            live = path != "file"

            def measure(faults: str, path=path) -> list[Measured]:
                """Every tool's measurement of its own title under ``faults`` on ``path``."""
                tools = [make() for make in TOOLS]
                print(f"[{path}] {', '.join(t.name for t in tools)}: {faults}", flush=True)
                if path == "file":
                    return [run_file(tool, faults) for tool in tools]
                return run_live(tools, faults, pulse if path == "pulse" else None)

            offsets = measure(OFFSET_FAULTS)
            drifts = [None] * len(TOOLS) if args.no_drift else measure(DRIFT_FAULTS)
            for make, measured, drifted in zip(TOOLS, offsets, drifts, strict=True):
                errors, calibration = offset_errors(measured, calibrate=live)
                median, worst, count = summarise(errors)
                drift = None if drifted is None else drift_of(drifted)
                rows.append(
                    [
                        path, make.name, f"{median:.2f}", f"{worst:.2f}", str(count),
                        f"{calibration:+.2f}" if live else "-",
                        "-" if drift is None else f"{drift:+.1f}",
                    ]
                )  # fmt: skip
                for ms, errs in errors.items():
                    cell = f"{np.median(errs):+.2f} ({len(errs)})" if errs else "-"
                    detail.append([path, make.name, f"{ms:+d}", cell])
                print(rows[-1], flush=True)
    finally:
        if pulse is not None:
            pulse.stop()
    write_table(args.out, rows, detail, " ".join(sys.argv))
    return 0


def write_table(out: str, rows: list[list[str]], detail: list[list[str]], command: str) -> None:
    lines = [
        "# AV-offset accuracy: onglass av_sync vs av-drift-detector",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {machine_description()}, Python {platform.python_version()}",
        f"- command: `{command}`",
        f"- injected offsets (ms, + = audio early): {', '.join(f'{m:+d}' for m in WINDOWS_MS)}, "
        f"{WINDOW_S:g} s each; drift run: {DRIFT_MS_PER_MIN:+g} ms per minute",
        "- compared: each tool on its own title (onglass: AV Sync, av-drift-detector: Sync "
        "Test), same device, same injected offsets, same path; not the same decoded items",
        "- error = measured - injected, every marker (onglass) or stamped frame (av-drift-"
        "detector) at least 0.6 s from a window edge; live paths: minus the tool's own median "
        "in the 0 ms window (calibration)",
        "",
        "| path | tool | median abs error ms | max abs error ms | measurements | calibration ms "
        "| drift measured ms/min (true +40) |",
        "|---|---|---:|---:|---:|---:|---:|",
        *[f"| {' | '.join(row)} |" for row in rows],
        "",
        "Median error per injected offset (measurements):",
        "",
        "| path | tool | injected ms | median error ms |",
        "|---|---|---:|---:|",
        *[f"| {' | '.join(row)} |" for row in detail],
        "",
        *NOTES,
        "",
    ]
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())

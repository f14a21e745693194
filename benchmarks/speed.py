"""Detector speed at 1080p, and ``onglass analyze`` against decoding alone and FFmpeg.

    .venv/bin/python benchmarks/speed.py [--seconds 20] [--out benchmarks/results/speed.md]

Makes a 1080p25 H.264 file of the virtual device playing Big Buck Bunny (cached in
benchmarks/.cache), then measures, on one core (OpenCV and FFmpeg threads = 1):

1. each detector's cost per 1080p frame (freeze, black, stutter, and all three sharing one
   frame), from frames already decoded in memory;
2. wall time of decoding the file alone (PyAV with the capture's decoder settings, video
   and audio, each frame's luma plane), of ``analyze_file`` with all detectors (same
   decoding, plus timeline, audio conversion and the detectors), and their ratio;
3. wall time of FFmpeg running freezedetect, blackdetect and mpdecimate on the same file
   (Debian's ffmpeg, ``-threads 1``).

Wall times are the best of ``--repeat`` runs (default 3), the three tools alternating.

Prints a table and writes it, with the date, machine and command, to ``--out``.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import av
import cv2
import numpy as np

from detectors.media import VideoFrame
from detectors.registry import build_detectors
from devices.simulator.device import SimulatorConfig, render_playback
from harness.analyze import analyze_file

DETECTORS: tuple[str, ...] = ("freeze", "black", "stutter")
"""The frame-difference detectors this benchmark times (the models have their own)."""

try:
    from benchmarks.eval_detectors import machine_description
except ModuleNotFoundError:  # run as a script: benchmarks/ itself is on sys.path
    from eval_detectors import machine_description  # type: ignore[no-redef]

CACHE = Path(__file__).resolve().parent / ".cache"


def make_media(seconds: float) -> Path:
    path = CACHE / f"bbb-1080p25-{seconds:g}s.ts"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        print(f"rendering {path} ...", flush=True)
        render_playback(
            str(path), "Big Buck Bunny", seconds, config=SimulatorConfig(1920, 1080, 25)
        )
    return path


def decoded_frames(path: Path, count: int) -> list[tuple[float, int, object, object]]:
    """(t, n, luma plane, av frame) of the first ``count`` frames."""
    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames.append((float(frame.time), len(frames), frame.to_ndarray(format="gray"), frame))
            if len(frames) == count:
                break
    return frames


def per_frame_ms(names: list[str], frames: list) -> float:
    detectors = build_detectors(names)
    start = time.perf_counter()
    for t, n, luma, frame in frames:
        video = VideoFrame(t, n, luma=luma, load_image=lambda f=frame: f.to_ndarray(format="bgr24"))
        for detector in detectors:
            detector.feed(video)
    for detector in detectors:
        detector.flush()
    return (time.perf_counter() - start) / len(frames) * 1000


def decode_only_s(path: Path) -> float:
    """Demux and decode video and audio as the capture does (same decoder settings), and
    look at each frame's luma plane; no detector."""
    start = time.perf_counter()
    with av.open(str(path)) as container:
        for packet in container.demux(container.streams.video[0], *container.streams.audio[:1]):
            for frame in packet.decode():
                if isinstance(frame, av.VideoFrame):
                    np.frombuffer(frame.planes[0], np.uint8)
    return time.perf_counter() - start


def analyze_s(path: Path) -> float:
    start = time.perf_counter()
    analyze_file(str(path), build_detectors(list(DETECTORS)))
    return time.perf_counter() - start


def ffmpeg_s(path: Path) -> float | None:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return None
    start = time.perf_counter()
    subprocess.run(
        [ffmpeg, "-hide_banner", "-loglevel", "error", "-threads", "1", "-filter_threads", "1",
         "-i", str(path), "-vf", "freezedetect,blackdetect,mpdecimate", "-an", "-f", "null", "-"],
        check=True,
    )  # fmt: skip
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--frames", type=int, default=150, help="frames held in memory for (1)")
    parser.add_argument("--repeat", type=int, default=3, help="wall-time runs; the best counts")
    parser.add_argument(
        "--out", default=str(Path(__file__).resolve().parent / "results" / "speed.md")
    )
    args = parser.parse_args()
    cv2.setNumThreads(1)
    path = make_media(args.seconds)
    frames = decoded_frames(path, args.frames)
    rows = [(f"{name} per 1080p frame", per_frame_ms([name], frames), "ms") for name in DETECTORS]
    together = per_frame_ms(list(DETECTORS), frames)
    rows.append(("freeze + black + stutter together per 1080p frame", together, "ms"))
    rows.append(("share of one core at 60 fps (the three together)", together * 60 / 10, "%"))
    runs = range(args.repeat)  # wall times: the best of the runs, alternating the tools
    timings = [(decode_only_s(path), analyze_s(path), ffmpeg_s(path)) for _ in runs]
    decode = min(t[0] for t in timings)
    analyse = min(t[1] for t in timings)
    ffmpeg = None if timings[0][2] is None else min(t[2] for t in timings)
    rows += [
        (f"decode only, {args.seconds:g} s 1080p25 file", decode, "s"),
        ("onglass analyze (all detectors), same file", analyse, "s"),
        ("analyze / decode-only", analyse / decode, "x"),
    ]
    if ffmpeg is not None:
        rows += [
            ("FFmpeg freezedetect+blackdetect+mpdecimate, same file", ffmpeg, "s"),
            ("analyze / FFmpeg", analyse / ffmpeg, "x"),
        ]
    command = "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    lines = [
        "# Detector speed (1080p, one core)",
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {machine_description()}, Python {platform.python_version()}, "
        f"PyAV {av.__version__}, OpenCV {cv2.__version__}",
        f"- command: `{command}`",
        f"- media: the virtual device playing Big Buck Bunny, 1920x1080 25 fps H.264, {args.seconds:g} s",
        "",
        "| measure | value | unit |",
        "|---|---:|---|",
        *[f"| {name} | {value:.2f} | {unit} |" for name, value, unit in rows],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

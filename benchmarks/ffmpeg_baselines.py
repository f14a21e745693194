"""FFmpeg's own detectors as baselines for onglass's: freezedetect, blackdetect, mpdecimate.

Each file is decoded once with PyAV and every decoded frame is pushed, as decoded, through one
``buffer -> filter -> buffersink`` graph per configuration (``av.filter.Graph``); the filters
report in the output frames' ``metadata``. The results become onglass ``Event``s with times in
seconds from the start of the file, the same clock ``FileCapture`` gives onglass's detectors
(frame time minus the container's start time; 0 for files whose first frame has pts 0).

What the filters do through PyAV (FFmpeg 8.1 in the av 18 wheel), measured on synthetic files:

* ``freezedetect`` puts ``lavfi.freezedetect.freeze_start`` on the frame where the still run
  reaches ``d`` (not on the first still frame), and its value is the time of the *reference*
  frame: the last changed frame, i.e. the first showing of the picture that then repeats, one
  frame before the first repeated frame. ``freeze_duration`` and ``freeze_end`` come on the
  first changed frame. With ``d`` at or below one frame interval every changed frame reports a
  freeze of one frame (start, duration and end on the same frame): the filter tests ``d``
  before it tests stillness. Black is a frozen picture to it.
* ``blackdetect`` sets ``lavfi.black_start`` on the first black frame and ``lavfi.black_end``
  on the first non-black frame for *every* black run: ``d`` only gates its log line, so the
  minimum duration is applied here.
* ``mpdecimate`` is a GPL filter and the LGPL av wheel does not have it. When PyAV lacks it,
  the system ``ffmpeg`` (``$ONGLASS_FFMPEG`` or ``ffmpeg`` on PATH; Debian's, installed by
  ``scripts/bootstrap``) runs it instead, one process decoding the file once for all
  configurations, and its per-frame ``keep``/``drop`` debug lines say which frames it dropped.
  In-process, dropped frames are the input pts missing from the output.
"""

from __future__ import annotations

import bisect
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import av.filter

from detectors.event import Event

TOOLS = ("freezedetect", "blackdetect", "mpdecimate")
"""The FFmpeg filters this module runs."""

DEFAULTS: dict[str, dict[str, float]] = {
    "freezedetect": {"noise": 0.001, "duration_s": 2.0},
    "blackdetect": {"pixel_threshold": 0.10, "picture_threshold": 0.98, "duration_s": 2.0},
    "mpdecimate": {"hi": 768, "lo": 320, "frac": 0.33},
}
"""Each filter's own defaults, by this module's parameter names."""

STUTTER_MERGE_GAP_S = 0.5
"""Duplicates closer than this (seconds between one run's end and the next's start) are one
stutter episode, as onglass's stutter detector merges affected frames."""

FREEZE_RUN_S = 0.25
"""A run of consecutive duplicates at least this long is a freeze, not stutter (onglass's
freeze detector reports still runs from 0.25 s)."""

FALLBACK_FPS = 25.0


class BaselineError(RuntimeError):
    """A baseline cannot run (filter missing, ffmpeg failed); the message says why."""


@dataclass(frozen=True)
class Config:
    """One FFmpeg filter with one set of thresholds (hashable: a cache key)."""

    tool: str
    params: tuple[tuple[str, float], ...]

    @classmethod
    def make(cls, tool: str, **params: float) -> Config:
        """``tool`` with ``params`` over its defaults (unknown names raise ValueError)."""
        if tool not in DEFAULTS:
            raise ValueError(f"unknown baseline {tool!r} (known: {', '.join(TOOLS)})")
        unknown = sorted(set(params) - set(DEFAULTS[tool]))
        if unknown:
            raise ValueError(f"{tool}: unknown parameter {unknown[0]!r}")
        merged = {**DEFAULTS[tool], **params}
        return cls(tool, tuple((name, merged[name]) for name in DEFAULTS[tool]))

    def get(self, name: str) -> float:
        return dict(self.params)[name]

    @property
    def is_default(self) -> bool:
        return dict(self.params) == DEFAULTS[self.tool]

    @property
    def label(self) -> str:
        """The filter's own option string, e.g. ``noise=0.001:duration=2``."""
        return filter_args(self)


def _num(value: float) -> str:
    return f"{value:g}"


def filter_args(config: Config) -> str:
    """The FFmpeg option string of ``config`` (full option names)."""
    p = dict(config.params)
    if config.tool == "freezedetect":
        return f"noise={_num(p['noise'])}:duration={_num(p['duration_s'])}"
    if config.tool == "blackdetect":
        return (
            f"pixel_black_th={_num(p['pixel_threshold'])}"
            f":picture_black_ratio_th={_num(p['picture_threshold'])}"
            f":black_min_duration={_num(p['duration_s'])}"
        )
    return f"hi={int(p['hi'])}:lo={int(p['lo'])}:frac={_num(p['frac'])}"


# --- public, one filter at a time -------------------------------------------------------------


def freezedetect(path: str | Path, noise: float = 0.001, duration_s: float = 2.0) -> list[Event]:
    """Freezes by FFmpeg ``freezedetect=noise=NOISE:duration=D`` (defaults 0.001 and 2 s).

    An event spans ``freeze_start`` (the reference frame: the first showing of the picture
    that then stays) to ``freeze_end`` (the first changed frame); a freeze still open at the
    end of the file ends one frame interval after the last frame.
    """
    return run_baselines(path, [Config.make("freezedetect", noise=noise, duration_s=duration_s)])[0]


def blackdetect(
    path: str | Path,
    pixel_threshold: float = 0.10,
    picture_threshold: float = 0.98,
    duration_s: float = 2.0,
) -> list[Event]:
    """Black runs by FFmpeg ``blackdetect=pixel_black_th=PIX:picture_black_ratio_th=PIC:
    black_min_duration=D`` (defaults 0.10, 0.98, 2 s).

    An event spans ``black_start`` (first black frame) to ``black_end`` (first non-black
    frame); runs shorter than D are left out here, since the filter's metadata reports every
    run. A run still open at the end of the file ends one frame interval after the last frame.
    """
    config = Config.make(
        "blackdetect",
        pixel_threshold=pixel_threshold,
        picture_threshold=picture_threshold,
        duration_s=duration_s,
    )
    return run_baselines(path, [config])[0]


def mpdecimate(path: str | Path, hi: int = 768, lo: int = 320, frac: float = 0.33) -> list[Event]:
    """Repeated frames by FFmpeg ``mpdecimate=hi=HI:lo=LO:frac=FRAC`` (defaults 768, 320, 0.33;
    ``max`` and ``keep`` left at 0).

    Every frame mpdecimate drops is a duplicate of the last kept frame. A run of consecutive
    duplicates lasting at least ``FREEZE_RUN_S`` becomes a ``freeze`` event (first duplicate
    to one frame after the last); shorter runs become ``stutter`` events, runs closer than
    ``STUTTER_MERGE_GAP_S`` merged into one, with details ``{"kind": "repeat", "frames": n}``.
    Runs in PyAV when its FFmpeg has the filter, else in the system ``ffmpeg``.
    """
    return run_baselines(path, [Config.make("mpdecimate", hi=hi, lo=lo, frac=frac)])[0]


# --- many configurations, one decode ----------------------------------------------------------


def run_baselines(path: str | Path, configs: Sequence[Config]) -> list[list[Event]]:
    """Events of every config in ``configs`` (same order), decoding ``path`` once.

    Configurations whose filter PyAV lacks (mpdecimate with the LGPL wheel) share one run of
    the system ``ffmpeg``, which decodes the file once more for all of them.
    """
    path = str(path)
    results: list[list[Event] | None] = [None] * len(configs)
    available = av.filter.filters_available
    local = [i for i, c in enumerate(configs) if c.tool in available]
    external = [i for i, c in enumerate(configs) if c.tool not in available]
    for i in external:
        if configs[i].tool != "mpdecimate":
            raise BaselineError(f"PyAV's FFmpeg has no {configs[i].tool} filter")
    if local:
        for i, events in zip(
            local, _run_in_process(path, [configs[i] for i in local]), strict=True
        ):
            results[i] = events
    if external:
        for i, events in zip(
            external, _run_ffmpeg_mpdecimate(path, [configs[i] for i in external]), strict=True
        ):
            results[i] = events
    return [r if r is not None else [] for r in results]


def mpdecimate_backend() -> str:
    """Where mpdecimate runs: ``"pyav"``, or ``"ffmpeg-cli <version>"``; BaselineError if
    neither has it."""
    if "mpdecimate" in av.filter.filters_available:
        return "pyav"
    exe = _ffmpeg_exe()
    try:
        out = subprocess.run([exe, "-version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        raise BaselineError(f"cannot run {exe}: {error}") from None
    first = out.stdout.splitlines()[0] if out.stdout else exe
    return "ffmpeg-cli " + " ".join(first.split()[:3])


class _Stream:
    """Timing facts of a file's first video stream, without decoding."""

    def __init__(self, container: av.container.InputContainer) -> None:
        if not container.streams.video:
            raise BaselineError(f"{container.name}: no video stream")
        stream = container.streams.video[0]
        self.stream = stream
        self.origin = 0.0 if container.start_time is None else container.start_time / av.time_base
        rate = stream.average_rate or stream.guessed_rate
        self.fps = float(rate) if rate else FALLBACK_FPS


def _frame_interval(times: Sequence[float], fps: float) -> float:
    return 1.0 / fps if fps > 0 else (times[-1] - times[-2] if len(times) > 1 else 0.04)


def _decode(
    container: av.container.InputContainer, stream: av.VideoStream
) -> Iterator[av.VideoFrame]:
    """Every timestamped frame of ``stream``; a packet that fails to decode is skipped, as
    onglass's capture skips it."""
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            continue
        for frame in frames:
            if frame.pts is not None and frame.time is not None:
                yield frame


def _run_in_process(path: str, configs: Sequence[Config]) -> list[list[Event]]:
    try:
        container = av.open(path)
    except av.error.FFmpegError as error:
        raise BaselineError(f"{path}: cannot open ({error})") from None
    try:
        info = _Stream(container)
        stream = info.stream
        graphs = []
        for config in configs:
            graph = av.filter.Graph()
            source = graph.add_buffer(template=stream)
            node = graph.add(config.tool, filter_args(config))
            sink = graph.add("buffersink")
            source.link_to(node)
            node.link_to(sink)
            graph.configure()
            graphs.append(graph)
        collectors = [_collector(config, info.origin) for config in configs]
        in_pts: list[int] = []
        times: list[float] = []

        def drain(k: int) -> None:
            graph, collector = graphs[k], collectors[k]
            while True:
                try:
                    out = graph.pull()
                except (av.BlockingIOError, av.EOFError):
                    return
                collector.output(out.pts, float(out.time) - info.origin, dict(out.metadata))

        for frame in _decode(container, stream):
            in_pts.append(frame.pts)
            times.append(float(frame.time) - info.origin)
            for k, graph in enumerate(graphs):
                graph.push(frame)
                drain(k)
        for k, graph in enumerate(graphs):
            graph.push(None)
            drain(k)
    finally:
        container.close()
    if not times:
        return [[] for _ in configs]
    dt = _frame_interval(times, info.fps)
    return [c.finish(in_pts, times, dt) for c in collectors]


# --- per-filter interpretation ----------------------------------------------------------------


class _Collector:
    """Reads one configuration's output frames; ``finish`` turns them into events."""

    def __init__(self, config: Config, origin: float) -> None:
        self.config = config
        self.origin = origin  # stream time of the file start

    def output(self, pts: int, t: float, metadata: dict[str, str]) -> None:
        raise NotImplementedError

    def finish(self, in_pts: Sequence[int], times: Sequence[float], dt: float) -> list[Event]:
        raise NotImplementedError


def _snap(value: float, ordered: Sequence[float]) -> float:
    """The time in sorted ``ordered`` nearest ``value`` (metadata times are printed with 6
    significant digits)."""
    k = bisect.bisect_left(ordered, value)
    near = ordered[max(0, k - 1) : k + 1]
    return min(near, key=lambda t: abs(t - value)) if near else value


class _FreezeCollector(_Collector):
    def __init__(self, config: Config, origin: float) -> None:
        super().__init__(config, origin)
        self.spans: list[tuple[float, float]] = []
        self.open: float | None = None

    def output(self, pts: int, t: float, metadata: dict[str, str]) -> None:
        start = metadata.get("lavfi.freezedetect.freeze_start")
        if start is not None:
            # the reference frame's stream time, printed with 6 significant digits
            self.open = float(start) - self.origin
        if "lavfi.freezedetect.freeze_end" in metadata and self.open is not None:
            self.spans.append((self.open, t))
            self.open = None

    def finish(self, in_pts: Sequence[int], times: Sequence[float], dt: float) -> list[Event]:
        spans = list(self.spans)
        if self.open is not None:
            spans.append((self.open, times[-1] + dt))
        details = {
            "tool": "ffmpeg freezedetect",
            "noise": self.config.get("noise"),
            "d": self.config.get("duration_s"),
        }
        ordered = sorted(times)
        events = []
        for start, end in spans:
            start = _snap(start, ordered)
            events.append(
                Event("freeze", start, end, 1.0, {**details, "duration_s": round(end - start, 4)})
            )
        return events


class _BlackCollector(_Collector):
    def __init__(self, config: Config, origin: float) -> None:
        super().__init__(config, origin)
        self.spans: list[tuple[float, float]] = []
        self.open: float | None = None

    def output(self, pts: int, t: float, metadata: dict[str, str]) -> None:
        # black_start comes on the first black frame, black_end on the first non-black one
        if "lavfi.black_end" in metadata and self.open is not None:
            self.spans.append((self.open, t))
            self.open = None
        if "lavfi.black_start" in metadata:
            self.open = t

    def finish(self, in_pts: Sequence[int], times: Sequence[float], dt: float) -> list[Event]:
        spans = list(self.spans)
        if self.open is not None:
            spans.append((self.open, times[-1] + dt))
        d = self.config.get("duration_s")
        details = {
            "tool": "ffmpeg blackdetect",
            "pix_th": self.config.get("pixel_threshold"),
            "pic_th": self.config.get("picture_threshold"),
            "d": d,
        }
        return [
            Event("black", s, e, 1.0, {**details, "duration_s": round(e - s, 4)})
            for s, e in spans
            if e - s >= d - 1e-9
        ]


class _DecimateCollector(_Collector):
    def __init__(self, config: Config, origin: float) -> None:
        super().__init__(config, origin)
        self.kept: set[int] = set()

    def output(self, pts: int, t: float, metadata: dict[str, str]) -> None:
        self.kept.add(pts)

    def finish(self, in_pts: Sequence[int], times: Sequence[float], dt: float) -> list[Event]:
        dropped = [p not in self.kept for p in in_pts]
        return decimate_events(times, dropped, dt, self.config)


def _collector(config: Config, origin: float) -> _Collector:
    kinds: dict[str, type[_Collector]] = {
        "freezedetect": _FreezeCollector,
        "blackdetect": _BlackCollector,
        "mpdecimate": _DecimateCollector,
    }
    return kinds[config.tool](config, origin)


def decimate_events(
    times: Sequence[float], dropped: Sequence[bool], dt: float, config: Config | None = None
) -> list[Event]:
    """Freeze and stutter events from mpdecimate's per-frame drop decisions.

    ``times[i]`` is input frame i's time and ``dropped[i]`` whether mpdecimate dropped it.
    A run of consecutive dropped frames lasting at least ``FREEZE_RUN_S`` is a freeze; the
    others are repeats, merged into one stutter episode while less than
    ``STUTTER_MERGE_GAP_S`` apart (a freeze between two runs keeps them apart).
    """
    runs: list[tuple[float, float, int]] = []  # start, end, frames
    k = 0
    while k < len(times):
        if not dropped[k]:
            k += 1
            continue
        first = k
        while k + 1 < len(times) and dropped[k + 1]:
            k += 1
        runs.append((times[first], times[k] + dt, k - first + 1))
        k += 1
    details: dict[str, Any] = {"tool": "ffmpeg mpdecimate"}
    if config is not None:
        details.update({name: value for name, value in config.params})
    events: list[Event] = []
    episode: list[tuple[float, float, int]] = []

    def close_episode() -> None:
        if episode:
            frames = sum(n for _, _, n in episode)
            events.append(
                Event(
                    "stutter",
                    episode[0][0],
                    episode[-1][1],
                    1.0,
                    {**details, "kind": "repeat", "frames": frames, "runs": len(episode)},
                )
            )
            episode.clear()

    for start, end, frames in runs:
        if end - start >= FREEZE_RUN_S - 1e-9:
            close_episode()
            events.append(
                Event(
                    "freeze",
                    start,
                    end,
                    1.0,
                    {
                        **details,
                        "kind": "freeze",
                        "frames": frames,
                        "duration_s": round(end - start, 4),
                    },
                )
            )
            continue
        if episode and start - episode[-1][1] >= STUTTER_MERGE_GAP_S:
            close_episode()
        episode.append((start, end, frames))
    close_episode()
    events.sort(key=lambda e: e.start)
    return events


# --- mpdecimate in the system ffmpeg ----------------------------------------------------------

_DECIMATE_LINE = re.compile(
    r"^\[mpdecimate@c(\d+) @ [^\]]+\] (?:.*\s)?(keep|drop) pts:(-?\d+) pts_time:(\S+)"
)


def _ffmpeg_exe() -> str:
    exe = os.environ.get("ONGLASS_FFMPEG") or shutil.which("ffmpeg")
    if not exe:
        raise BaselineError(
            "mpdecimate: PyAV's FFmpeg lacks this GPL filter and no ffmpeg is on PATH "
            "(install Debian's ffmpeg or set ONGLASS_FFMPEG)"
        )
    return exe


def _run_ffmpeg_mpdecimate(path: str, configs: Sequence[Config]) -> list[list[Event]]:
    try:
        with av.open(path) as container:
            info = _Stream(container)
    except av.error.FFmpegError as error:
        raise BaselineError(f"{path}: cannot open ({error})") from None
    n = len(configs)
    chains = [f"[i{k}]mpdecimate@c{k}={filter_args(c)}[o{k}]" for k, c in enumerate(configs)]
    if n == 1:
        graph = "[0:v:0]" + chains[0].removeprefix("[i0]")
    else:
        graph = f"[0:v:0]split={n}" + "".join(f"[i{k}]" for k in range(n)) + ";" + ";".join(chains)
    cmd = [_ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-loglevel", "debug"]
    cmd += ["-i", path, "-filter_complex", graph]
    for k in range(n):
        cmd += ["-map", f"[o{k}]"]
    cmd += ["-fps_mode", "passthrough", "-f", "null", "-"]
    decisions: list[dict[int, tuple[float, bool]]] = [{} for _ in configs]
    with subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace"
    ) as proc:
        assert proc.stderr is not None
        tail: list[str] = []
        for line in proc.stderr:
            match = _DECIMATE_LINE.match(line)
            if match:
                k, verdict, pts, pts_time = match.groups()
                decisions[int(k)][int(pts)] = (float(pts_time), verdict == "drop")
            else:
                tail = [*tail[-5:], line.rstrip()]
        rc = proc.wait()
    if rc != 0:
        raise BaselineError(f"ffmpeg mpdecimate failed on {path} (exit {rc}): {' | '.join(tail)}")
    results = []
    for config, frames in zip(configs, decisions, strict=True):
        ordered = [frames[p] for p in sorted(frames)]
        times = [t for t, _ in ordered]
        if not times:
            results.append([])
            continue
        dt = _frame_interval(times, info.fps)
        results.append(decimate_events(times, [d for _, d in ordered], dt, config))
    return results


def configs_of(tool: str, grid: dict[str, Iterable[float]]) -> list[Config]:
    """Every combination of ``grid`` values (parameter name -> values) for ``tool``."""
    combos: list[dict[str, float]] = [{}]
    for name, values in grid.items():
        combos = [{**c, name: v} for c in combos for v in values]
    return [Config.make(tool, **c) for c in combos]

"""The ``onglass`` command: ``sim``, ``render``, ``analyze``, ``report``, ``gate``, ``calibrate``.

Every command exits 2 with a one-line ``error:`` message on bad input.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from detectors.registry import DEFAULT_DETECTORS, DETECTORS, OPT_IN, build_detectors
from detectors.settings import SettingsError
from devices.simulator.device import render_playback
from devices.simulator.faults import FaultSchedule, FaultSpecError
from devices.simulator.serve import add_arguments as add_sim_arguments
from devices.simulator.serve import config_from_args, serve
from devices.transports.base import TransportError
from harness.analyze import analyze_file
from harness.calibrate import (
    AV_REFERENCE_TITLE,
    calibrate,
    calibrate_av,
    write_av_offset,
    write_thresholds,
)
from harness.errors import InfrastructureError, MediaError
from harness.rig import RigError, load_rig
from reports.allure_report import ReportError, generate
from reports.analysis_json import analysis_document, write_analysis
from reports.gate import GateError, evaluate, junit_xml, load_policy, read_results


class UsageError(Exception):
    """Bad command-line input; printed as one line, exit code 2."""


def _parse_sets(values: list[str]) -> dict[str, dict[str, object]]:
    """``freeze.noise=0.004`` options -> {"freeze": {"noise": 0.004}}."""
    settings: dict[str, dict[str, object]] = {}
    for text in values:
        key, sep, value = text.partition("=")
        detector, dot, field = key.partition(".")
        if not sep or not dot or not field:
            raise UsageError(
                f"--set {text!r}: expected DETECTOR.FIELD=VALUE, e.g. freeze.noise=0.004"
            )
        settings.setdefault(detector, {})[field] = yaml.safe_load(value)
    return settings


def _cmd_analyze(args: argparse.Namespace) -> int:
    names = (
        [n.strip() for n in args.detectors.split(",") if n.strip()]
        if args.detectors
        else list(DEFAULT_DETECTORS)
    )
    settings = _parse_sets(args.set)
    unused = sorted(set(settings) - set(names))
    if unused:
        raise UsageError(f"--set {unused[0]}.*: detector {unused[0]!r} is not in --detectors")
    try:
        detectors = build_detectors(names, settings)
    except SettingsError as error:
        raise UsageError(f"--detectors/--set: {error}") from None

    def progress(done: float, total: float | None) -> None:
        of = f" of {total:.1f} s" if total else " s"
        print(f"onglass analyze: {done:.1f}{of} analysed", file=sys.stderr, flush=True)

    media, events, stats = analyze_file(args.media, detectors, None if args.quiet else progress)
    write_analysis(args.json, analysis_document(media, events, stats))
    if not args.quiet:
        print(
            f"onglass analyze: {len(events)} event(s) in {args.media} "
            f"({stats['video_frames']} frames, {stats['speed_x_realtime']}x real time)",
            file=sys.stderr,
        )
    return 0


def _cmd_sim(args: argparse.Namespace) -> int:
    try:
        config = config_from_args(args)
    except ValueError as error:
        raise UsageError(str(error)) from None
    return serve(config)


def _cmd_render(args: argparse.Namespace) -> int:
    try:
        faults = FaultSchedule.parse(args.faults)
    except FaultSpecError as error:
        raise UsageError(f"--faults: {error}") from None
    if args.seconds <= 0:
        raise UsageError(f"--seconds: must be > 0, got {args.seconds}")
    try:
        render_playback(args.output, args.title, args.seconds, faults)
    except ValueError as error:
        raise UsageError(f"--title: {error}") from None
    print(
        f"onglass render: wrote {args.seconds:g} s of {args.title!r} to {args.output}",
        file=sys.stderr,
    )
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    index = generate(args.results, args.output, args.history, args.known_issues, args.name)
    print(f"onglass report: {index} (open it in a browser; it is one self-contained file)")
    return 0


def _cmd_gate(args: argparse.Namespace) -> int:
    summary = evaluate(read_results(args.results), load_policy(args.policy))
    Path(args.summary).write_text(json.dumps(summary, indent=2) + "\n")
    Path(args.junit).write_bytes(junit_xml(summary))
    totals = ", ".join(f"{n} {status}" for status, n in sorted(summary["totals"].items()))
    print(f"onglass gate: {summary['verdict'].upper()} ({totals})")
    for rerun in summary["reruns"]:
        print(f"  rerun: {rerun['test']}: {' -> '.join(rerun['attempts'])}")
    for reason in summary["reasons"]:
        print(f"  blocks: {reason}")
    return 1 if summary["verdict"] == "block" else 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    try:
        rig = load_rig(args.rig)
    except RigError as error:
        raise UsageError(f"--rig: {error}") from None
    if args.av:
        return _calibrate_av(args, rig)
    print(f"onglass calibrate: measuring {rig.name} on a still picture for {args.seconds:g} s ...")
    floor = calibrate(rig, args.seconds)
    print(f"  frames measured            {floor.frames}")
    print(
        f"  frame-to-frame change, max {floor.frame_to_frame_max:.5f} (p99 {floor.frame_to_frame_p99:.5f})"
    )
    print(f"  drift from the first frame {floor.drift_max:.5f}")
    thresholds = floor.thresholds()
    for name, fields in thresholds.items():
        for field, value in fields.items():
            print(f"  -> detectors.{name}.{field} = {value}")
    if args.rig and not args.dry_run:
        backup = write_thresholds(args.rig, thresholds)
        print(f"onglass calibrate: wrote them into {args.rig} (previous version: {backup})")
    else:
        print("onglass calibrate: not written (built-in rig or --dry-run)")
    return 0


class _GivenSeconds(float):
    """A --seconds value the user typed (the default is a plain float)."""


def _seconds_given(text: str) -> float:
    """argparse type of calibrate's --seconds: a number of seconds > 0."""
    try:
        seconds = _GivenSeconds(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}") from None
    if not seconds > 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be > 0 seconds, got {text!r}")
    return seconds


def _calibrate_av(args: argparse.Namespace, rig) -> int:
    seconds = args.seconds if isinstance(args.seconds, _GivenSeconds) else 20.0
    print(f"onglass calibrate --av: playing {args.title!r} on {rig.name} for {seconds:g} s ...")
    result = calibrate_av(rig, seconds, args.title)
    low, high = result.span_ms
    print(f"  markers measured           {result.markers}")
    print(f"  capture-chain AV offset    {result.offset_ms:+.2f} ms (+ = audio early)")
    print(f"  spread (std), span         {result.spread_ms:.2f} ms, {low:+.2f} .. {high:+.2f} ms")
    print(f"  drift                      {result.drift_ms_per_min:+.2f} ms per minute")
    print(f"  -> capture.av_offset_ms = {result.offset_ms:.2f}")
    if args.rig and not args.dry_run:
        backup = write_av_offset(args.rig, result.offset_ms)
        print(f"onglass calibrate --av: wrote it into {args.rig} (previous version: {backup})")
    else:
        print("onglass calibrate --av: not written (built-in rig or --dry-run)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="onglass", description="Eyes-on-glass release testing.")
    commands = parser.add_subparsers(dest="command", required=True)

    analyze = commands.add_parser("analyze", help="run detectors over a recording or media file")
    analyze.add_argument("media", help="media file (any format FFmpeg reads)")
    analyze.add_argument("--json", required=True, help="where to write the analysis ('-' = stdout)")
    analyze.add_argument(
        "--detectors",
        default="",
        help=f"comma-separated ({', '.join(DETECTORS)}; default: all but {', '.join(sorted(OPT_IN))})",
    )
    analyze.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="DETECTOR.FIELD=VALUE",
        help="override a detector threshold, e.g. --set freeze.min_duration_s=0.5",
    )
    analyze.add_argument("--quiet", action="store_true", help="no progress on stderr")
    analyze.set_defaults(run=_cmd_analyze)

    sim = commands.add_parser(
        "sim", help="run the virtual device standalone and print its endpoints"
    )
    add_sim_arguments(sim)
    sim.set_defaults(run=_cmd_sim)

    render = commands.add_parser("render", help="write the virtual device's playback to a file")
    render.add_argument("output", help="MPEG-TS file to write")
    render.add_argument("--title", default="Big Buck Bunny", help="catalogue title to play")
    render.add_argument("--seconds", type=float, default=20.0, help="length in seconds")
    render.add_argument("--faults", default="", help="fault schedule, e.g. 'freeze@8s+2s'")
    render.set_defaults(run=_cmd_render)

    report = commands.add_parser("report", help="make the single-file Allure report of a run")
    report.add_argument("results", help="Allure results folder (pytest --alluredir)")
    report.add_argument("-o", "--output", required=True, help="report folder (index.html)")
    report.add_argument(
        "--history", default=None, help="history file kept across runs (default: beside OUTPUT)"
    )
    report.add_argument("--known-issues", default=None, help="the lab's known-issues YAML file")
    report.add_argument("--name", default="onglass", help="report title")
    report.set_defaults(run=_cmd_report)

    gate = commands.add_parser("gate", help="decide whether a run may ship, by a policy file")
    gate.add_argument("results", help="Allure results folder (pytest --alluredir)")
    gate.add_argument("--policy", required=True, help="policy YAML file")
    gate.add_argument("--summary", default="gate-summary.json", help="summary JSON to write")
    gate.add_argument("--junit", default="gate-junit.xml", help="JUnit XML to write")
    gate.set_defaults(run=_cmd_gate)

    cal = commands.add_parser(
        "calibrate", help="measure a rig's capture noise on a still picture, tune thresholds"
    )
    cal.add_argument(
        "--rig", default=None, help="rig file to calibrate and update (default: built-in)"
    )
    cal.add_argument(
        "--seconds",
        type=_seconds_given,
        default=8.0,
        help="how long to measure, in seconds (default 8; with --av 20)",
    )
    cal.add_argument(
        "--av",
        action="store_true",
        help="measure the capture chain's AV offset on a flash + beep title (capture.av_offset_ms)",
    )
    cal.add_argument(
        "--title", default=AV_REFERENCE_TITLE, help="--av: the in-sync reference title to play"
    )
    cal.add_argument("--dry-run", action="store_true", help="print the thresholds, write nothing")
    cal.set_defaults(run=_cmd_calibrate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (
        UsageError,
        MediaError,
        ReportError,
        GateError,
        SettingsError,
        InfrastructureError,
        TransportError,
        OSError,
        subprocess.TimeoutExpired,
    ) as error:
        print(f"onglass {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

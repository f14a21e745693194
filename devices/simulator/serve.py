"""Run a virtual device standalone: ``onglass sim`` and ``python -m devices.simulator``."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from devices.simulator.device import SimulatorConfig, VirtualDevice
from devices.simulator.faults import FAULT_KINDS, FaultSchedule, FaultSpecError

READY_MARKER = "ONGLASS_SIM_READY"
"""Prefix of the machine-readable line the simulator prints once its endpoints are up."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The simulator's command-line options."""
    kinds = "; ".join(f"{k}: {v}" for k, v in FAULT_KINDS.items())
    parser.add_argument(
        "--faults",
        default="",
        help=f"fault schedule kind@start+duration[:value],... from the start of playback ({kinds})",
    )
    parser.add_argument(
        "--adb-port", type=int, default=0, help="ADB TCP port (default: a free one)"
    )
    parser.add_argument(
        "--stream-port",
        type=int,
        default=0,
        help="UDP port for the MPEG-TS output (default: a free one)",
    )
    parser.add_argument("--size", default="640x360", help="output picture size WxH in pixels")
    parser.add_argument("--fps", type=int, default=25, help="output frame rate in frames/s")
    parser.add_argument(
        "--pulse-sink",
        default="",
        help="also play the sound into this PulseAudio sink (server from PULSE_SERVER)",
    )


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    """A SimulatorConfig from parsed options; ValueError with a one-line reason on bad input."""
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise ValueError(f"--size: expected WIDTHxHEIGHT in pixels, got {args.size!r}") from None
    if width < 64 or height < 64 or width % 2 or height % 2:
        raise ValueError(f"--size: {args.size} must be even and at least 64x64")
    if not 1 <= args.fps <= 120:
        raise ValueError(f"--fps: must be 1..120 frames/s, got {args.fps}")
    try:
        faults = FaultSchedule.parse(args.faults)
    except FaultSpecError as error:
        raise ValueError(f"--faults: {error}") from None
    return SimulatorConfig(
        width, height, args.fps, faults, args.adb_port, args.stream_port, args.pulse_sink
    )


def serve(config: SimulatorConfig) -> int:
    """Start a virtual device, print its endpoints, run until SIGINT or SIGTERM."""
    device = VirtualDevice(config)
    try:
        device.start()
    except (RuntimeError, OSError) as error:  # e.g. pacat missing, a port taken
        print(f"error: virtual device: {error}", file=sys.stderr, flush=True)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    endpoints = {
        "adb": device.adb_address,
        "stream": device.stream_url,
        "faults": str(config.faults),
        "controls": device.controls.endpoints,
        "unavailable": device.controls.unavailable,
    }
    print("onglass virtual device running (Ctrl-C stops it)")
    print(f"  ADB     {device.adb_address}   try: adb connect {device.adb_address}")
    print(f"  stream  {device.stream_url}   try: ffplay {device.stream_url}")
    for kind, address in device.controls.endpoints.items():
        print(f"  {kind:<14} {address}")
    for kind, why in device.controls.unavailable.items():
        print(f"  {kind:<14} unavailable: {why}")
    print(f"  faults  {config.faults or 'none'}")
    print(f"{READY_MARKER} {json.dumps(endpoints)}", flush=True)
    try:
        stop.wait()
    finally:
        device.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devices.simulator", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return serve(config)

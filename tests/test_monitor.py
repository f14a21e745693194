"""The monitor on real captures: verdicts against expectations, and infrastructure problems."""

from __future__ import annotations

import re
import socket
import time

import pytest

from detectors.registry import build_detectors
from devices.simulator.device import (
    EPHEMERAL_RANGE,
    SimulatorConfig,
    VirtualDevice,
    free_udp_port,
    render_playback,
)
from devices.simulator.faults import FaultSchedule
from harness.capture import FileCapture, StreamCapture
from harness.errors import NoSignal, PlaybackNotStarted
from harness.expectations import Verdict
from harness.monitor import Monitor, MonitorSettings


@pytest.fixture(scope="module")
def frozen_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("media") / "frozen.ts"
    render_playback(str(path), "Big Buck Bunny", 8.0, FaultSchedule.parse("freeze@3s+2s"))
    return path


def _monitor(capture, **settings) -> Monitor:
    return Monitor(capture, build_detectors(["freeze", "black"]), MonitorSettings(**settings))


def test_unexpected_freeze_is_a_defect(frozen_file):
    monitor = _monitor(FileCapture(frozen_file, realtime=True))
    monitor.start()
    start = monitor.wait_for_playback(timeout=5)
    assert start < 0.5
    monitor.capture.wait_until_ended(20)
    report = monitor.finish()
    assert report.infrastructure == []
    assert [e.detector for e in report.defects] == ["freeze"]
    assert abs(report.defects[0].start - 3.0) <= 0.1
    message = report.defect_message()
    offset = re.search(r"freeze .*\(playback \+([\d.]+) s\)", message)
    assert offset and abs(float(offset.group(1)) - 3.0) <= 0.1, message


def test_freeze_inside_an_expected_window_is_expected(frozen_file):
    monitor = _monitor(FileCapture(frozen_file, realtime=True))
    monitor.start()
    monitor.wait_for_playback(timeout=5)
    while monitor.now() < 2.8:
        time.sleep(0.02)
    with monitor.expect("still"):
        while monitor.now() < 5.0:
            time.sleep(0.02)
    monitor.capture.wait_until_ended(20)
    report = monitor.finish()
    assert report.defects == []
    assert [j.verdict for j in report.events if j.event.detector == "freeze"] == [Verdict.EXPECTED]


def test_stream_ports_are_free_and_below_the_kernels_automatic_source_ports():
    low = int(EPHEMERAL_RANGE.read_text().split()[0])
    for _ in range(20):
        port = free_udp_port()
        assert 16384 <= port < low
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
            receiver.bind(("127.0.0.1", port))


def test_no_signal_is_an_infrastructure_problem():
    capture = StreamCapture(f"udp://127.0.0.1:{free_udp_port()}", read_timeout_s=0.3)
    monitor = _monitor(capture)
    monitor.start()
    with pytest.raises(NoSignal, match="no video"):
        monitor.wait_for_signal(timeout_s=1.5)
    report = monitor.finish()
    assert any("no signal" in p for p in report.infrastructure)


def test_playback_that_never_starts_fails(frozen_file, tmp_path):
    still = tmp_path / "still.ts"
    render_playback(str(still), "Big Buck Bunny", 3.0, FaultSchedule.parse("freeze@0s+3s"))
    monitor = _monitor(FileCapture(still, realtime=True))
    monitor.start()
    with pytest.raises(PlaybackNotStarted, match="no moving picture"):
        monitor.wait_for_playback(timeout=2)
    monitor.finish()


def test_device_that_stops_sending_is_a_capture_stall(tmp_path):
    device = VirtualDevice(SimulatorConfig(width=320, height=180))
    device.start()
    try:
        capture = StreamCapture(
            device.stream_url, record_to=tmp_path / "cap.ts", read_timeout_s=0.5
        )
        monitor = _monitor(capture)
        monitor.start()
        monitor.wait_for_signal(timeout_s=10)
        time.sleep(1.0)
    finally:
        device.stop()
    time.sleep(2.0)
    report = monitor.finish()
    assert any("capture stalled" in p for p in report.infrastructure), report.infrastructure
    assert report.health["video_frames"] > 0
    assert (tmp_path / "cap.ts").stat().st_size > 0


class _SlowDetector:
    """A detector that needs 20 ms per frame: slower than a file capture delivers them."""

    name = "slow"
    consumes = frozenset({"video"})

    def __init__(self) -> None:
        self.seen: list[float] = []

    def feed(self, item) -> list:
        time.sleep(0.02)
        self.seen.append(item.t)
        return []

    def flush(self) -> list:
        return []


def test_a_detector_more_than_queue_seconds_behind_skips_items_and_says_so(frozen_file):
    """The queue is bounded in media seconds, not items: at 25 fps (or any rate) a detector
    stays at most ``queue_seconds`` of capture time behind; the rest is skipped and named."""
    slow = _SlowDetector()
    monitor = Monitor(FileCapture(frozen_file), [slow], MonitorSettings(queue_seconds=1.0))
    monitor.start()
    monitor.capture.wait_until_ended(20)
    report = monitor.finish()
    assert any(
        re.match(r"detector slow fell behind and skipped \d+ item", p)
        for p in report.infrastructure
    ), report.infrastructure
    assert 0 < len(slow.seen) < 8.0 * 25 and slow.seen[-1] < 7.0, slow.seen[-3:]

"""What the pytest plugin attaches to Allure for each test.

Failing tests: for each unexpected event (at most ``MAX_EVENTS_WITH_EVIDENCE``) a frame strip
and a short MP4 clip with sound cut from the recording, then one timeline plot of the whole
scenario and the device log. Passing tests: a small timeline thumbnail only.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import allure

from detectors.event import Event
from devices.device import KeyPress
from harness.monitor import MonitorReport
from reports.evidence import Span, clip, frame_strip, timeline
from reports.heatmap import event_heatmap
from reports.spectrogram import AUDIO_DETECTORS, event_spectrogram

MAX_EVENTS_WITH_EVIDENCE = 5
"""Unexpected events that get a frame strip and a clip; the rest are listed in the summary."""


def _timeline_png(
    report: MonitorReport, presses: list[tuple[KeyPress, float]], detectors: list[str], width: int
) -> bytes:
    lanes: dict[str, list[tuple[float, float, str]]] = {name: [] for name in detectors}
    for judged in report.events:
        lanes.setdefault(judged.event.detector, []).append(
            (judged.event.start, judged.event.end, judged.verdict.value)
        )
    return timeline(
        max(report.duration_s, 1.0),
        lanes,
        watch=[Span(s, e, "playback") for s, e in report.watch],
        expected=[Span(s, e, label) for s, e, label in report.expected],
        presses=[(t, p.key.value) for p, t in presses],
        width=width,
    )


def attach_evidence(
    report: MonitorReport,
    presses: list[tuple[KeyPress, float]],
    detectors: list[str],
    device_log: str | None,
) -> None:
    """Attach the evidence for one finished test to the current Allure test."""
    if not report.defects and not report.infrastructure:
        allure.attach(
            _timeline_png(report, presses, detectors, width=480),
            name="timeline",
            attachment_type=allure.attachment_type.PNG,
        )
        return
    for event in report.defects[:MAX_EVENTS_WITH_EVIDENCE]:
        label = f"{event.detector} {event.start:.2f}-{event.end:.2f} s"
        if report.recording:
            try:
                allure.attach(
                    frame_strip(report.recording, report.origin_s, event),
                    name=f"{label}: frames before / at / after",
                    attachment_type=allure.attachment_type.PNG,
                )
                allure.attach(
                    clip(report.recording, report.origin_s, event),
                    name=f"{label}: clip",
                    attachment_type=allure.attachment_type.MP4,
                )
            except (ValueError, OSError) as error:
                allure.attach(str(error), name=f"{label}: no picture evidence")
        if report.recording and event.detector in AUDIO_DETECTORS:
            _attach_png(event_spectrogram, report, event, label, "spectrogram")
        if report.recording and event.detector == "block_corruption":
            _attach_png(event_heatmap, report, event, label, "corruption map")
        allure.attach(
            json.dumps(event.to_json(), indent=2),
            name=f"{label}: details",
            attachment_type=allure.attachment_type.JSON,
        )
    allure.attach(
        _timeline_png(report, presses, detectors, width=1200),
        name="timeline",
        attachment_type=allure.attachment_type.PNG,
    )
    if device_log:
        allure.attach(device_log, name="device log", attachment_type=allure.attachment_type.TEXT)


def _attach_png(
    render: Callable[[str, float, Event], bytes],
    report: MonitorReport,
    event: Event,
    label: str,
    what: str,
) -> None:
    """Attach ``render(recording, origin_s, event)`` as PNG "<label>: <what>", or why it
    could not be made as "<label>: no <what>"."""
    try:
        png = render(report.recording, report.origin_s, event)
    except (ValueError, OSError) as error:
        allure.attach(str(error), name=f"{label}: no {what}")
        return
    allure.attach(png, name=f"{label}: {what}", attachment_type=allure.attachment_type.PNG)

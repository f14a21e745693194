"""Errors that sort a test's outcome.

``InfrastructureError`` (and subclasses) mark a test *broken*: lab trouble such as no signal,
a capture stall or an unreachable device, never a product regression. ``DefectFound`` is an
``AssertionError``: a detector fired where the script did not expect it, the test *fails*.
"""

from __future__ import annotations


class InfrastructureError(Exception):
    """The lab, not the product, went wrong: the test is broken, not failed."""


class NoSignal(InfrastructureError):
    """The capture delivered no video at all."""


class MediaError(Exception):
    """A media file or URL cannot be opened or decoded; the message names it and why."""


class DefectFound(AssertionError):
    """Detectors fired outside the windows the scenario declared: a product defect."""


class PlaybackNotStarted(AssertionError):
    """Video arrived, but playback (moving picture and sound) did not start in time."""

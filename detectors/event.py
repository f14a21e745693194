"""What a detector reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Event:
    """A defect candidate found by one detector.

    Attributes:
        detector: name of the detector (``freeze``, ``black``, ...).
        start: seconds on the capture timeline where the defect begins.
        end: seconds on the capture timeline where it ends (exclusive).
        score: detector confidence in 0..1 (1 = certain).
        details: detector-specific measurements, JSON-serialisable.
    """

    detector: str
    start: float
    end: float
    score: float
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        """Length of the event in seconds."""
        return self.end - self.start

    def to_json(self) -> dict[str, Any]:
        """The event as in the ``onglass.analysis/1`` contract."""
        return {
            "detector": self.detector,
            "start_s": round(self.start, 4),
            "end_s": round(self.end, 4),
            "score": round(self.score, 4),
            "details": self.details,
        }

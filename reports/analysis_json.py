"""The ``onglass.analysis/1`` document that ``onglass analyze --json`` writes.

{"schema": "onglass.analysis/1",
 "media": {...},
 "events": [{"detector", "start_s", "end_s", "score", "details"}, ...],
 "stats": {...}}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from detectors.event import Event

SCHEMA = "onglass.analysis/1"


def analysis_document(
    media: dict[str, Any], events: list[Event], stats: dict[str, Any]
) -> dict[str, Any]:
    """The contract document for ``events`` found in ``media``, sorted by start time."""
    ordered = sorted(events, key=lambda e: (e.start, e.detector))
    return {
        "schema": SCHEMA,
        "media": media,
        "events": [e.to_json() for e in ordered],
        "stats": stats,
    }


def write_analysis(path: str | Path, document: dict[str, Any]) -> None:
    """Write ``document`` as indented JSON; ``-`` writes to standard output."""
    text = json.dumps(document, indent=2) + "\n"
    if str(path) == "-":
        print(text, end="")
    else:
        Path(path).write_text(text)

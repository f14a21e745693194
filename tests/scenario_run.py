"""Runs pytest in a child process, as a lab would, for the end-to-end tests: scenarios of this
repository or scenario files written by a test, against the virtual device."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness.rig import default_rig_path

REPO = Path(__file__).resolve().parents[1]


def run_pytest(output: Path, *args: str, timeout_s: float = 300) -> subprocess.CompletedProcess:
    """``pytest ARGS`` from the repository root with onglass's results in ``output``; the
    child's exit code and text output (``timeout_s`` seconds at most)."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--onglass-output",
         str(output), *args],
        cwd=REPO, capture_output=True, text=True, timeout=timeout_s,
    )  # fmt: skip


def virtual_rig_with(folder: Path, detector_line: str) -> Path:
    """A copy of the built-in virtual rig in ``folder`` with one more ``detectors:`` entry
    (``detector_line``, e.g. ``"audio_artifact: {}"``): opt-in detectors are not in it."""
    rig = folder / "virtual-plus.yaml"
    rig.write_text(default_rig_path().read_text() + f"  {detector_line}\n")
    return rig

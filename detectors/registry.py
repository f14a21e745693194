"""Detectors by name, built from settings mappings (rig files, the command line)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from detectors.audio_artifact import AudioArtifactDetector
from detectors.av_sync import AvSyncDetector
from detectors.black import BlackDetector
from detectors.block_corruption import BlockCorruptionDetector
from detectors.freeze import FreezeDetector
from detectors.loudness import LoudnessDetector
from detectors.protocol import Detector
from detectors.settings import SettingsError, settings_from_mapping
from detectors.silence import SilenceDetector
from detectors.stutter import StutterDetector

DETECTORS: dict[str, type] = {
    FreezeDetector.name: FreezeDetector,
    BlackDetector.name: BlackDetector,
    BlockCorruptionDetector.name: BlockCorruptionDetector,
    StutterDetector.name: StutterDetector,
    AvSyncDetector.name: AvSyncDetector,
    SilenceDetector.name: SilenceDetector,
    AudioArtifactDetector.name: AudioArtifactDetector,
    LoudnessDetector.name: LoudnessDetector,
}
"""Every detector onglass has, by its contract name."""

OPT_IN = frozenset({AudioArtifactDetector.name, BlockCorruptionDetector.name})
"""Detectors run only when named (``--detectors``, a rig's ``detectors:``): their models still
flag clean content (see detectors/models/audio_artifact.md and block_corruption.md)."""
DEFAULT_DETECTORS = [name for name in DETECTORS if name not in OPT_IN]
"""What runs when no detectors are named."""


def build_detector(name: str, settings: Mapping[str, Any] | None = None) -> Detector:
    """A new detector ``name`` configured from ``settings`` (field name -> value)."""
    if name not in DETECTORS:
        raise SettingsError(f"unknown detector {name!r} (known: {', '.join(sorted(DETECTORS))})")
    cls = DETECTORS[name]
    return cls(settings_from_mapping(cls.Settings, settings, name))


def build_detectors(
    names: list[str], settings: Mapping[str, Mapping[str, Any]] | None = None
) -> list[Detector]:
    """New detectors for ``names``, each with its own entry of ``settings``."""
    settings = settings or {}
    return [build_detector(name, settings.get(name)) for name in names]

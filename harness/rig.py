"""Rig files: which device, how to reach it, where its picture comes from, which thresholds.

A rig file is YAML with the sections ``device``, ``capture``, ``detectors``, ``monitor`` and,
for the virtual device only, ``simulator`` (see ``harness/rigs/virtual.yaml``, the built-in
default). Every problem is reported in one line naming the file and the field:
``lab/rig-42.yaml: capture.url: expected a string, got 5``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from detectors.registry import DETECTORS, build_detectors
from detectors.settings import SettingsError, settings_from_mapping
from devices.device import AppProfile
from devices.transports.adb import parse_address
from harness.monitor import MonitorSettings

PROFILES = ("android_tv",)
TRANSPORTS = ("adb",)
BACKENDS = ("stream", "file")
AUTO = "auto"


class RigError(ValueError):
    """A rig file is missing, unreadable or invalid; the message names file and field."""


_REQUIRED = object()


class _Section:
    """A mapping being read, that knows its place in the file for error messages."""

    def __init__(self, data: Any, where: str, file: str) -> None:
        if not isinstance(data, dict):
            raise RigError(
                f"{file}: {where or 'top level'}: expected a mapping, got {type(data).__name__}"
            )
        self.data, self.where, self.file = data, where, file
        self.used: set[str] = set()

    def _name(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def error(self, key: str, problem: str) -> RigError:
        return RigError(f"{self.file}: {self._name(key)}: {problem}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = _REQUIRED) -> Any:
        self.used.add(key)
        if key not in self.data or self.data[key] is None:
            if default is _REQUIRED:
                raise self.error(key, "missing")
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            wanted = " or ".join(k.__name__ for k in kinds).replace("str", "a string")
            raise self.error(key, f"expected {wanted}, got {value!r}")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: Any = _REQUIRED) -> str:
        value = self.get(key, str, default)
        if value not in choices:
            raise self.error(key, f"{value!r} is not one of {', '.join(choices)}")
        return value

    def section(self, key: str, required: bool = True) -> _Section | None:
        self.used.add(key)
        if key not in self.data or self.data[key] is None:
            if required:
                raise self.error(key, "missing section")
            return None
        return _Section(self.data[key], self._name(key), self.file)

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.error(
                unknown[0], f"unknown field (known here: {', '.join(sorted(self.used))})"
            )


@dataclass(frozen=True)
class TransportConfig:
    kind: str
    address: str
    timeout_s: float = 5.0


@dataclass(frozen=True)
class DeviceConfig:
    profile: str
    transport: TransportConfig
    model: str = ""
    app: AppProfile | None = None


@dataclass(frozen=True)
class CaptureConfig:
    backend: str
    url: str
    read_timeout_s: float = 1.0


@dataclass(frozen=True)
class SimulatorSection:
    """How the session starts the virtual device (virtual rigs only)."""

    size: str = "640x360"
    fps: int = 25
    faults: str = ""


@dataclass(frozen=True)
class Rig:
    """A validated rig file."""

    name: str
    source: str
    device: DeviceConfig
    capture: CaptureConfig
    detectors: dict[str, dict[str, Any]] = field(default_factory=dict)
    monitor: MonitorSettings = MonitorSettings()
    simulator: SimulatorSection | None = None


def default_rig_path() -> Path:
    """The built-in virtual rig file."""
    return Path(str(resources.files("harness") / "rigs" / "virtual.yaml"))


def load_rig(path: str | Path | None = None) -> Rig:
    """Read and validate a rig file (default: the built-in virtual rig)."""
    path = Path(path) if path is not None else default_rig_path()
    if not path.is_file():
        raise RigError(f"{path}: rig file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError) as error:
        raise RigError(f"{path}: cannot read ({error})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark else ""
        raise RigError(
            f"{path}: not valid YAML{line}: {getattr(error, 'problem', error)}"
        ) from None
    return parse_rig(data, str(path))


def parse_rig(data: Any, source: str) -> Rig:
    """Validate an already-parsed rig mapping; ``source`` names it in errors."""
    top = _Section(data, "", source)
    name = top.get("name", str)
    device = _parse_device(top.section("device"))
    capture = _parse_capture(top.section("capture"))
    detectors = _parse_detectors(top.section("detectors", required=False), source)
    monitor_section = top.section("monitor", required=False)
    try:
        monitor = settings_from_mapping(
            MonitorSettings, monitor_section.data if monitor_section else None, "monitor"
        )
    except SettingsError as error:
        raise RigError(f"{source}: {error}") from None
    simulator = _parse_simulator(top.section("simulator", required=False))
    top.finish()
    for section, value in (
        ("device.transport.address", device.transport.address),
        ("capture.url", capture.url),
    ):
        if value == AUTO and simulator is None:
            raise RigError(
                f"{source}: {section}: 'auto' needs a simulator section (virtual rigs only)"
            )
    return Rig(name, source, device, capture, detectors, monitor, simulator)


def _parse_device(section: _Section) -> DeviceConfig:
    profile = section.choice("profile", PROFILES)
    t = section.section("transport")
    transport = TransportConfig(
        t.choice("kind", TRANSPORTS),
        t.get("address", str),
        float(t.get("timeout_s", (int, float), 5.0)),
    )
    if transport.timeout_s <= 0:
        raise t.error("timeout_s", f"must be > 0 seconds, got {transport.timeout_s}")
    if transport.address != AUTO:
        try:
            parse_address(transport.address)
        except ValueError as error:
            raise t.error("address", str(error)) from None
    t.finish()
    app = None
    a = section.section("app", required=False)
    if a is not None:
        catalogue = a.get("catalogue", list, [])
        if not all(isinstance(c, str) for c in catalogue):
            raise a.error("catalogue", "expected a list of title names")
        app = AppProfile(a.get("package", str), a.get("activity", str), tuple(catalogue))
        a.finish()
    model = section.get("model", str, "")
    section.finish()
    return DeviceConfig(profile, transport, model, app)


def _parse_capture(section: _Section) -> CaptureConfig:
    config = CaptureConfig(
        section.choice("backend", BACKENDS),
        section.get("url", str),
        float(section.get("read_timeout_s", (int, float), 1.0)),
    )
    if config.read_timeout_s <= 0:
        raise section.error("read_timeout_s", f"must be > 0 seconds, got {config.read_timeout_s}")
    section.finish()
    return config


def _parse_detectors(section: _Section | None, source: str) -> dict[str, dict[str, Any]]:
    if section is None:
        return {name: {} for name in DETECTORS}
    detectors = {}
    for name, settings in section.data.items():
        if name not in DETECTORS:
            raise section.error(name, f"unknown detector (known: {', '.join(sorted(DETECTORS))})")
        detectors[name] = dict(_Section(settings or {}, f"detectors.{name}", source).data)
    try:
        build_detectors(list(detectors), detectors)
    except SettingsError as error:
        raise RigError(f"{source}: detectors.{error}") from None
    return detectors


def _parse_simulator(section: _Section | None) -> SimulatorSection | None:
    if section is None:
        return None
    sim = SimulatorSection(
        section.get("size", str, "640x360"),
        section.get("fps", int, 25),
        section.get("faults", str, ""),
    )
    section.finish()
    return sim

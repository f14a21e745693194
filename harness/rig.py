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

from detectors.registry import DEFAULT_DETECTORS, DETECTORS, build_detectors
from detectors.settings import SettingsError, settings_from_mapping
from devices.device import AppProfile
from devices.profiles.catalog import PROFILE_TRANSPORTS, TRANSPORT_KINDS
from devices.transports.factory import OPTIONS, check_address
from harness.capture.card import CardMode
from harness.monitor import MonitorSettings

PROFILES = tuple(PROFILE_TRANSPORTS)
TRANSPORTS = TRANSPORT_KINDS
BACKENDS = ("stream", "file", "card")
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
    options: dict[str, Any] = field(default_factory=dict)
    """Kind-specific options (``devices.transports.factory.OPTIONS``): remote, baud, ..."""


@dataclass(frozen=True)
class ConsoleConfig:
    """A debug UART whose lines are kept as evidence: port (path or pyserial URL), baud."""

    port: str
    baud: int = 115200


@dataclass(frozen=True)
class DeviceConfig:
    profile: str
    transport: TransportConfig
    model: str = ""
    app: AppProfile | None = None
    status: TransportConfig | None = None
    """Second link for app launch / player state / logs (e.g. ADB beside IR)."""
    console: ConsoleConfig | None = None
    lease: str = ""
    """Name of the device's lock for leasing (default: the rig's name)."""


@dataclass(frozen=True)
class CardSection:
    """``capture.card``: a V4L2 capture card and its audio interface (``backend: card``)."""

    video: str | int
    """Device path (``/dev/video0``) or index."""
    fourcc: str = "MJPG"
    width: int = 1920
    height: int = 1080
    fps: float = 60.0
    audio: str | None = None
    """sounddevice input device name (``hw:CARD=...``, ``pulse``); None: no audio."""


@dataclass(frozen=True)
class CaptureConfig:
    backend: str
    url: str
    read_timeout_s: float = 1.0
    card: CardSection | None = None
    audio_device: str | None = None
    """``stream`` backend: take the sound from this sound device instead of the stream."""
    av_offset_ms: float = 0.0
    """The capture chain's own AV offset in ms (positive = audio early), measured by
    ``onglass calibrate --av``; ``av_sync`` subtracts it."""


@dataclass(frozen=True)
class SimulatorSection:
    """How the session starts the virtual device (virtual rigs only)."""

    size: str = "640x360"
    fps: int = 25
    faults: str = ""
    pulse_sink: str = ""
    """Also play the device's sound into this PulseAudio sink (server: ``PULSE_SERVER``)."""


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
    transport = _parse_transport(section.section("transport"))
    if transport.kind not in PROFILE_TRANSPORTS[profile]:
        allowed = ", ".join(PROFILE_TRANSPORTS[profile])
        raise section.error("transport", f"profile {profile} takes {allowed}, not {transport.kind}")
    status_section = section.section("status", required=False)
    status = _parse_transport(status_section) if status_section else None
    console = None
    c = section.section("console", required=False)
    if c is not None:
        console = ConsoleConfig(c.get("port", str), c.get("baud", int, 115200))
        c.finish()
    lease = section.get("lease", str, "")
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
    return DeviceConfig(profile, transport, model, app, status, console, lease)


def _parse_transport(t: _Section) -> TransportConfig:
    kind = t.choice("kind", TRANSPORTS)
    address = t.get("address", str)
    timeout_s = float(t.get("timeout_s", (int, float), 5.0))
    if timeout_s <= 0:
        raise t.error("timeout_s", f"must be > 0 seconds, got {timeout_s}")
    if address != AUTO:
        try:
            check_address(kind, address)
        except ValueError as error:
            raise t.error("address", str(error)) from None
    options = {name: t.get(name, kind_, None) for name, (kind_, _) in OPTIONS[kind].items()}
    t.finish()
    return TransportConfig(
        kind, address, timeout_s, {k: v for k, v in options.items() if v is not None}
    )


def _parse_capture(section: _Section) -> CaptureConfig:
    backend = section.choice("backend", BACKENDS)
    card = _parse_card(section.section("card", required=backend == "card"))
    config = CaptureConfig(
        backend,
        section.get("url", str, "" if backend == "card" else _REQUIRED),
        float(section.get("read_timeout_s", (int, float), 1.0)),
        card,
        section.get("audio_device", str, None),
        float(section.get("av_offset_ms", (int, float), 0.0)),
    )
    if config.read_timeout_s <= 0:
        raise section.error("read_timeout_s", f"must be > 0 seconds, got {config.read_timeout_s}")
    section.finish()
    return config


def _parse_card(section: _Section | None) -> CardSection | None:
    if section is None:
        return None
    size = section.get("size", str, "1920x1080")
    try:
        width, height = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise section.error("size", f"expected WIDTHxHEIGHT in pixels, got {size!r}") from None
    card = CardSection(
        section.get("video", (str, int)),
        section.get("fourcc", str, "MJPG"),
        width,
        height,
        float(section.get("fps", (int, float), 60.0)),
        section.get("audio", str, None),
    )
    try:
        CardMode(card.fourcc, card.width, card.height, card.fps)
    except ValueError as error:  # CardMode says "field: problem"; name the field if it does
        field, _, problem = str(error).partition(": ")
        if field in ("fourcc", "size", "fps") and problem:
            raise section.error(field, problem) from None
        raise RigError(f"{section.file}: {section.where}: {error}") from None
    section.finish()
    return card


def _parse_detectors(section: _Section | None, source: str) -> dict[str, dict[str, Any]]:
    if section is None:
        return {name: {} for name in DEFAULT_DETECTORS}
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
        section.get("pulse_sink", str, ""),
    )
    section.finish()
    return sim

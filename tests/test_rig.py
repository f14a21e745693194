"""Rig files: the built-in virtual rig loads; every bad field is named with its file."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from detectors.registry import DEFAULT_DETECTORS
from harness.monitor import MonitorSettings
from harness.rig import RigError, default_rig_path, load_rig, parse_rig


def test_builtin_virtual_rig_loads():
    rig = load_rig()
    assert rig.name == "virtual"
    assert rig.source == str(default_rig_path())
    assert rig.simulator is not None
    assert rig.simulator.size == "640x360"
    assert rig.simulator.fps == 25
    assert rig.simulator.faults == ""
    assert rig.device.profile == "android_tv"
    assert rig.device.transport.kind == "adb"
    assert rig.device.transport.address == "auto"
    assert rig.device.transport.timeout_s == 5.0
    assert rig.device.app is not None
    assert rig.device.app.package == "com.onglass.player"
    assert rig.device.app.catalogue == ("Big Buck Bunny", "Photo Tour", "Sync Test", "AV Sync")
    assert rig.capture.backend == "stream"
    assert rig.capture.url == "auto"
    assert {"freeze", "black", "stutter", "av_sync"} <= set(rig.detectors)  # and others'
    assert rig.detectors["freeze"] == rig.detectors["av_sync"] == {}
    assert rig.monitor.expect_margin_s == 1.0
    assert rig.monitor.no_signal_timeout_s == 15.0
    assert isinstance(rig.monitor, MonitorSettings)


def builtin() -> dict[str, Any]:
    return yaml.safe_load(default_rig_path().read_text())


def lab_rig() -> dict[str, Any]:
    """A valid real-device rig: no simulator, concrete addresses."""
    return {
        "name": "lab-42",
        "device": {
            "profile": "android_tv",
            "transport": {"kind": "adb", "address": "192.168.1.42:5555"},
        },
        "capture": {"backend": "stream", "url": "udp://0.0.0.0:5000"},
    }


def write(tmp_path: Path, data: Any, name: str = "rig.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def rig_error(path: Path) -> str:
    with pytest.raises(RigError) as info:
        load_rig(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    return message


def test_copy_of_builtin_rig_loads_from_a_file(tmp_path):
    path = write(tmp_path, builtin())
    rig = load_rig(path)
    assert rig.name == "virtual"
    assert rig.source == str(path)


def test_minimal_lab_rig_gets_defaults(tmp_path):
    rig = load_rig(write(tmp_path, lab_rig()))
    assert rig.name == "lab-42"
    assert rig.simulator is None
    assert rig.device.app is None
    assert rig.device.model == ""
    assert rig.device.transport.timeout_s == 5.0
    assert rig.capture.read_timeout_s == 1.0
    assert rig.monitor == MonitorSettings()
    assert set(rig.detectors) == set(DEFAULT_DETECTORS)  # all but opt-in ones, default settings


def test_string_path_is_accepted(tmp_path):
    assert load_rig(str(write(tmp_path, lab_rig()))).name == "lab-42"


def test_detector_settings_are_kept(tmp_path):
    data = lab_rig()
    data["detectors"] = {"freeze": {"noise": 0.005, "min_duration_s": 1}}
    rig = load_rig(write(tmp_path, data))
    assert rig.detectors == {"freeze": {"noise": 0.005, "min_duration_s": 1}}


def test_monitor_settings_are_read(tmp_path):
    data = lab_rig()
    data["monitor"] = {"expect_margin_s": 0.5, "max_missing_frames": 3}
    rig = load_rig(write(tmp_path, data))
    assert rig.monitor.expect_margin_s == 0.5
    assert rig.monitor.max_missing_frames == 3
    assert rig.monitor.no_signal_timeout_s == MonitorSettings().no_signal_timeout_s


def modified(change) -> dict[str, Any]:
    data = copy.deepcopy(builtin())
    change(data)
    return data


def _set(path: str, value: Any):
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for key in parents:
            data = data[key]
        data[last] = value

    return change


def _delete(path: str):
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for key in parents:
            data = data[key]
        del data[last]

    return change


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (_set("capture.url", 5), "capture.url", "expected a string, got 5"),
        (_set("capture.backend", "hdmi"), "capture.backend", "'hdmi' is not one of"),
        (_set("capture.read_timeout_s", 0), "capture.read_timeout_s", "must be > 0"),
        (_set("capture.read_timeout_s", "1s"), "capture.read_timeout_s", "expected"),
        (_set("capture.extra", 1), "capture.extra", "unknown field"),
        (_set("bogus", 1), "bogus", "unknown field"),
        (_delete("name"), "name", "missing"),
        (_set("name", ["a"]), "name", "expected a string"),
        (_delete("device"), "device", "missing section"),
        (_set("device", "tv"), "device", "expected a mapping"),
        (_delete("capture"), "capture", "missing section"),
        (_set("device.profile", "tivo"), "device.profile", "'tivo' is not one of android_tv"),
        (_set("device.transport.kind", "ssh"), "device.transport.kind", "'ssh' is not one of adb"),
        (_delete("device.transport.address"), "device.transport.address", "missing"),
        (_set("device.transport.timeout_s", -1), "device.transport.timeout_s", "must be > 0"),
        (_set("device.transport.timeout_s", True), "device.transport.timeout_s", "expected"),
        (_set("device.transport.port", 5555), "device.transport.port", "unknown field"),
        (_set("device.app.catalogue", [1, 2]), "device.app.catalogue", "list of title names"),
        (_delete("device.app.package"), "device.app.package", "missing"),
        (_set("device.colour", "black"), "device.colour", "unknown field"),
        (_set("detectors.nope", {}), "detectors.nope", "unknown detector"),
        (_set("detectors.freeze", {"noise": 2}), "detectors.freeze.noise", "[0, 1)"),
        (_set("detectors.black", {"min_duration_s": 0}), "detectors.black.min_duration_s", "> 0"),
        (_set("detectors.freeze", {"bogus": 1}), "detectors.freeze.bogus", "unknown setting"),
        (_set("detectors.freeze", 5), "detectors.freeze", "expected a mapping"),
        (_set("monitor.expect_margin_s", "one"), "monitor.expect_margin_s", "expected a number"),
        (_set("monitor.expect_margin_s", [1]), "monitor.expect_margin_s", "expected a number"),
        (_set("monitor.bogus", 1), "monitor.bogus", "unknown setting"),
        (_set("simulator.fps", "25"), "simulator.fps", "expected int"),
        (_set("simulator.fps", 25.0), "simulator.fps", "expected int"),
        (_set("simulator.faults", 3), "simulator.faults", "expected a string"),
        (_set("simulator.extra", 3), "simulator.extra", "unknown field"),
    ],
)
def test_bad_field_is_named_with_the_file(tmp_path, change, field, problem):
    path = write(tmp_path, modified(change))
    message = rig_error(path)
    assert f": {field}: " in message, message
    assert problem in message, message


def test_unknown_detector_lists_known_ones(tmp_path):
    message = rig_error(write(tmp_path, modified(_set("detectors.nope", {}))))
    assert "black" in message and "freeze" in message


def test_unknown_field_lists_the_known_ones_there(tmp_path):
    message = rig_error(write(tmp_path, modified(_set("capture.extra", 1))))
    assert "backend" in message and "url" in message


@pytest.mark.parametrize("field", ["device.transport.address", "capture.url"])
def test_auto_address_needs_a_simulator_section(tmp_path, field):
    data = lab_rig()
    section = data
    *parents, last = field.split(".")
    for key in parents:
        section = section[key]
    section[last] = "auto"
    message = rig_error(write(tmp_path, data))
    assert f": {field}: " in message
    assert "simulator" in message


def test_builtin_rig_without_simulator_section_is_refused(tmp_path):
    message = rig_error(write(tmp_path, modified(_delete("simulator"))))
    assert "'auto' needs a simulator section" in message


def test_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\ndevice:\n  profile: android_tv\n   transport: [adb\n")
    message = rig_error(path)
    assert "not valid YAML" in message
    assert "line 4" in message


def test_unclosed_bracket_is_invalid_yaml(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\ncapture: {url: [\n")
    message = rig_error(path)
    assert "not valid YAML at line" in message


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.yaml"
    message = rig_error(path)
    assert "rig file not found" in message


def test_directory_is_not_a_rig_file(tmp_path):
    assert "rig file not found" in rig_error(tmp_path)


@pytest.mark.parametrize(("text", "got"), [("", "NoneType"), ("- a\n- b\n", "list")])
def test_top_level_must_be_a_mapping(tmp_path, text, got):
    path = tmp_path / "rig.yaml"
    path.write_text(text)
    message = rig_error(path)
    assert "top level: expected a mapping" in message
    assert got in message


def test_parse_rig_names_its_source():
    data = lab_rig()
    data["capture"]["url"] = 5
    with pytest.raises(RigError, match=r"^inline: capture\.url: expected a string, got 5$"):
        parse_rig(data, "inline")


def test_rig_error_is_a_value_error(tmp_path):
    with pytest.raises(ValueError):
        load_rig(tmp_path / "nowhere.yaml")


@pytest.mark.parametrize(
    "field", ["expect_margin_s", "no_signal_timeout_s", "max_missing_frames", "queue_seconds"]
)
def test_negative_monitor_value_is_refused(tmp_path, field):
    message = rig_error(write(tmp_path, modified(_set(f"monitor.{field}", -1))))
    assert f"monitor.{field}" in message

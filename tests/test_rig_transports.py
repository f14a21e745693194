"""Rig files for every transport kind and profile: valid ones load, bad ones name the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from devices.keys import Key
from devices.profiles.catalog import PROFILE_TRANSPORTS, keymap
from devices.transports.base import TransportError
from devices.transports.factory import build_transport
from harness.control import connect_device, for_transport
from harness.rig import RigError, load_rig
from harness.session import RigSession
from harness.virtual_device import SimulatorEndpoints

ADDRESSES = {
    "adb": "192.168.1.42:5555",
    "lirc": "/var/run/lirc/lircd",
    "itach": "192.168.1.70",
    "serial_lg": "/dev/ttyUSB0",
    "serial_samsung": "socket://192.168.1.80:4001",
    "roku_ecp": "192.168.1.90:8060",
    "cec": "/dev/ttyACM0",
}


def rig(profile: str, transport: dict[str, Any], **device: Any) -> dict[str, Any]:
    return {
        "name": f"lab-{profile}",
        "device": {"profile": profile, "transport": transport, **device},
        "capture": {"backend": "stream", "url": "udp://0.0.0.0:5000"},
    }


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "rig.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("profile", "kind"),
    [(p, k) for p, kinds in PROFILE_TRANSPORTS.items() for k in kinds],
)
def test_every_profile_and_transport_pair_loads_and_builds(tmp_path, profile, kind):
    loaded = load_rig(write(tmp_path, rig(profile, {"kind": kind, "address": ADDRESSES[kind]})))
    config = loaded.device.transport
    transport = build_transport(
        config.kind, config.address, timeout_s=1, profile=profile, options=config.options
    )
    assert transport.kind == kind


@pytest.mark.parametrize("kind", ["lirc", "itach", "serial_lg"])
def test_a_key_the_profiles_remote_lacks_is_a_value_error_on_every_transport(kind):
    codes = keymap("lg_tv", kind)
    assert codes(Key.OK)
    with pytest.raises(ValueError, match="PLAY_PAUSE"):
        codes(Key.PLAY_PAUSE)


def test_lirc_key_names_are_checked_only_for_the_built_in_remote():
    with pytest.raises(ValueError, match=r"^profile lg_tv: remote 'lg-tv' has no PLAY_PAUSE key"):
        keymap("lg_tv", "lirc", "lg-tv")(Key.PLAY_PAUSE)
    assert keymap("lg_tv", "lirc", "lab-lg-remote")(Key.PLAY_PAUSE) == "KEY_PLAYPAUSE"


def test_status_link_console_lease_and_options(tmp_path):
    data = rig(
        "set_top_box",
        {"kind": "lirc", "address": "/run/lirc/lircd", "remote": "humax-rm-i08"},
        status={"kind": "adb", "address": "10.0.0.5:5555"},
        console={"port": "/dev/ttyUSB1", "baud": 115200},
        lease="stb-07",
    )
    device = load_rig(write(tmp_path, data)).device
    assert device.transport.options == {"remote": "humax-rm-i08"}
    assert device.status is not None and device.status.address == "10.0.0.5:5555"
    assert device.console is not None and device.console.port == "/dev/ttyUSB1"
    assert device.lease == "stb-07"


@pytest.mark.parametrize(
    ("data", "field", "problem"),
    [
        (rig("roku", {"kind": "lirc", "address": "/x"}), "device.transport", "takes roku_ecp"),
        (rig("lg_tv", {"kind": "serial_lg", "address": "/d", "set_id": "one"}), "set_id", "int"),
        (rig("lg_tv", {"kind": "serial_lg", "address": "/d", "remote": "x"}), "remote", "unknown"),
        (rig("roku", {"kind": "roku_ecp", "address": "host:port"}), "address", "host:port"),
        (rig("lg_tv", {"kind": "telnet", "address": "x"}), "kind", "not one of adb, lirc"),
    ],
)
def test_bad_transport_fields_are_named(tmp_path, data, field, problem):
    path = write(tmp_path, data)
    with pytest.raises(RigError) as caught:
        load_rig(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and field in message and problem in message, message


def test_transport_override_needs_the_virtual_device(tmp_path):
    loaded = load_rig(write(tmp_path, rig("lg_tv", {"kind": "serial_lg", "address": "/dev/x"})))
    with pytest.raises(ValueError, match="--transport only applies to a virtual rig"):
        RigSession(loaded, transport="lirc")


def test_a_missing_virtual_endpoint_quotes_why(tmp_path):
    loaded = load_rig(write(tmp_path, rig("lg_tv", {"kind": "serial_lg", "address": "/dev/x"})))
    endpoints = SimulatorEndpoints(
        "127.0.0.1:1", "udp://127.0.0.1:2", "", {}, {"lirc": "lircd not found (Debian: ...)"}
    )
    with pytest.raises(TransportError, match=r"^lirc: not available .*: lircd not found"):
        connect_device(for_transport(loaded.device, "lirc"), endpoints)

"""Build a transport from its kind, address and options (what a rig file's ``transport`` says)."""

from __future__ import annotations

from typing import Any

from devices.profiles.catalog import TRANSPORT_KINDS, default_remote
from devices.transports.adb import AdbTransport, parse_address
from devices.transports.address import parse_host_port
from devices.transports.base import Transport
from devices.transports.cec import CecTransport
from devices.transports.itach import ItachTransport
from devices.transports.lirc import LircTransport
from devices.transports.roku_ecp import RokuEcpTransport
from devices.transports.serial_tv import LgSerialTransport, SamsungSerialTransport
from devices.transports.socket_link import parse_endpoint

OPTIONS: dict[str, dict[str, tuple[type, Any]]] = {
    "adb": {"rsa_key_path": (str, None)},
    "lirc": {"remote": (str, None)},
    "itach": {"connector": (str, "1:1")},
    "serial_lg": {"set_id": (int, 1), "baud": (int, 9600)},
    "serial_samsung": {"baud": (int, 9600)},
    "roku_ecp": {"app_id": (str, None)},
    "cec": {"client": (str, "cec-client"), "initiator": (int, 1), "destination": (int, 4)},
}
"""Transport kind -> its extra rig options: name -> (type, default). ``remote`` defaults to
the profile's built-in IR remote."""
assert set(OPTIONS) == set(TRANSPORT_KINDS)


def check_address(kind: str, address: str) -> None:
    """ValueError with a one-line reason if ``address`` cannot be an address for ``kind``."""
    if not address.strip():
        raise ValueError(f"{kind} address is empty")
    if kind == "adb":
        parse_address(address)
    elif kind == "lirc":
        parse_endpoint(address, 1, kind)
    elif kind in ("itach", "roku_ecp"):
        parse_host_port(address, 1, kind)


def build_transport(
    kind: str, address: str, *, timeout_s: float, profile: str, options: dict[str, Any]
) -> Transport:
    """The transport for ``kind``; options not given take their defaults."""
    opts = {name: options.get(name, default) for name, (_, default) in OPTIONS[kind].items()}
    if kind == "adb":
        return AdbTransport(address, timeout_s=timeout_s, rsa_key_path=opts["rsa_key_path"])
    if kind == "lirc":
        remote = opts["remote"] or default_remote(profile)
        if not remote:
            raise ValueError(
                f"lirc: profile {profile} has no built-in remote: set transport.remote"
            )
        return LircTransport(address, remote, timeout_s=timeout_s)
    if kind == "itach":
        return ItachTransport(address, opts["connector"], timeout_s=timeout_s)
    if kind == "serial_lg":
        return LgSerialTransport(
            address, set_id=opts["set_id"], baud=opts["baud"], timeout_s=timeout_s
        )
    if kind == "serial_samsung":
        return SamsungSerialTransport(address, baud=opts["baud"], timeout_s=timeout_s)
    if kind == "roku_ecp":
        return RokuEcpTransport(address, app_id=opts["app_id"], timeout_s=timeout_s)
    if kind == "cec":
        return CecTransport(
            address,
            client=opts["client"],
            initiator=opts["initiator"],
            destination=opts["destination"],
            timeout_s=timeout_s,
        )
    raise ValueError(f"unknown transport kind {kind!r} (known: {', '.join(TRANSPORT_KINDS)})")

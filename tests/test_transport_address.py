"""``host[:port]`` addresses: one parser for ADB, LIRC/iTach sockets, Roku ECP and the CEC bus."""

from __future__ import annotations

import socket

import pytest

from devices.simulator.cec_sim import client_main
from devices.transports.adb import AdbTransport
from devices.transports.address import format_host_port, parse_host_port
from devices.transports.itach import ItachTransport
from devices.transports.lirc import LircTransport
from devices.transports.roku_ecp import RokuEcpTransport
from devices.transports.socket_link import parse_endpoint


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("10.0.0.2:5556", ("10.0.0.2", 5556)),
        ("tv", ("tv", 99)),
        ("[::1]:8765", ("::1", 8765)),
        ("[fe80::1]", ("fe80::1", 99)),
        (" host:1 ", ("host", 1)),
    ],
)
def test_host_port_forms(address, expected):
    assert parse_host_port(address, 99, "x") == expected


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("", "is empty"),
        (":80", "host is missing"),
        ("host:", "port must be a number 1-65535"),
        ("host:http", "port must be a number 1-65535"),
        ("host:0", "port must be a number 1-65535"),
        ("host:65536", "port must be a number 1-65535"),
        ("::1", "put IPv6 addresses in brackets"),
        ("[::1", "bad IPv6 form"),
        ("[::1]8060", "bad IPv6 form"),
    ],
)
def test_bad_addresses_name_the_transport_and_the_problem(address, problem):
    with pytest.raises(ValueError, match=rf"^roku_ecp address .*{problem}"):
        parse_host_port(address, 8060, "roku_ecp")


def test_every_network_transport_uses_the_same_parser():
    assert parse_endpoint("[::1]:8765", 1) == (socket.AF_INET6, ("::1", 8765))
    assert parse_endpoint("127.0.0.1", 8765) == (socket.AF_INET, ("127.0.0.1", 8765))
    assert parse_endpoint("unix:/run/lirc/lircd", 1) == (socket.AF_UNIX, "/run/lirc/lircd")
    roku = RokuEcpTransport("[::1]")
    assert (roku.host, roku.port, roku.address) == ("::1", 8060, "[::1]:8060")
    assert AdbTransport("[::1]:5037").port == 5037
    for make, kind in (
        (lambda a: ItachTransport(a), "itach"),
        (lambda a: LircTransport(a, "lg-tv"), "lirc"),
        (lambda a: RokuEcpTransport(a), "roku_ecp"),
        (lambda a: AdbTransport(a), "adb"),
    ):
        with pytest.raises(ValueError, match=rf"^{kind} address 'box:99999': port must be"):
            make("box:99999")
    assert format_host_port("::1", 1) == "[::1]:1" and format_host_port("tv", 2) == "tv:2"


def test_cec_stand_in_reports_a_bad_bus_address_like_cec_client(capsys):
    assert client_main(["-t", "r", "bus:port"]) == 1
    out = capsys.readouterr().out
    assert "cec bus address 'bus:port': port must be a number" in out
    assert "unable to open the device on port bus:port" in out

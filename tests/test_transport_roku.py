"""Roku ECP: RokuEcpTransport against the ECP simulator backed by a stand-in app."""

from __future__ import annotations

import urllib.request

import pytest

from devices.device import AppProfile, Device
from devices.profiles.roku import ecp_key
from devices.simulator.roku_sim import RokuSimulator
from devices.transports.base import TransportError
from devices.transports.roku_ecp import RokuEcpTransport


class App:
    """Records key actions; plays when PLAY_PAUSE is pressed in the player."""

    def __init__(self) -> None:
        self.actions: list[str] = []
        self.screen = "home"
        self.state = 0

    def press(self, action: str) -> None:
        self.actions.append(action)
        if action == "HOME":
            self.screen = "home"
        elif action == "OK" and self.screen == "catalogue":
            self.screen, self.state = "player", 2
        elif action == "PLAY_PAUSE" and self.screen == "player":
            self.state = 2 if self.state == 3 else 3

    def launch(self) -> None:
        self.screen = "catalogue"

    def media_session(self):
        return self.state, 12.5, "Big Buck Bunny"

    def focused_activity(self) -> str:
        return "com.onglass.launcher/.Home" if self.screen == "home" else "com.onglass.player/.Main"


@pytest.fixture
def roku():
    sim = RokuSimulator(App())
    sim.start()
    yield sim
    sim.stop()


def test_launch_keys_and_queries(roku):
    transport = RokuEcpTransport(roku.address, app_id="dev", timeout_s=3)
    device = Device(transport, ecp_key, AppProfile("dev", "", ("Big Buck Bunny",)))
    transport.connect()
    assert transport.active_app() == "Roku"
    device.launch_app()
    assert transport.active_app() == "onglass player"
    device.press("OK")
    device.press("PLAY")
    status = device.player_state()
    assert (status.state, status.position_s) == ("playing", 12.5)
    device.press("PAUSE")  # Roku's Play toggles
    assert device.player_state().state == "paused"
    keys = [r for r in roku.requests if "/keypress/" in r]
    assert keys == ["POST /keypress/Select", "POST /keypress/Play", "POST /keypress/Play"]
    assert roku.app.actions == ["OK", "PLAY_PAUSE", "PLAY_PAUSE"]


def test_hold_is_keydown_then_keyup(roku):
    transport = RokuEcpTransport(roku.address, timeout_s=3)
    transport.hold_key("Right", 0.1)
    assert roku.requests == ["POST /keydown/Right", "POST /keyup/Right"]
    assert roku.app.actions == ["RIGHT"]


def test_refusals_name_the_request(roku):
    transport = RokuEcpTransport(roku.address, app_id="12", timeout_s=3)
    with pytest.raises(TransportError, match=r"^roku_ecp 127.0.0.1:\d+: /keypress/Nope: HTTP 400"):
        transport.send_key("Nope")
    with pytest.raises(TransportError, match="/launch/12: HTTP 404"):
        transport.launch_app(AppProfile("x", ""))


def test_xml_has_the_real_content_type(roku):
    with urllib.request.urlopen(f"http://{roku.address}/query/media-player", timeout=3) as r:
        assert r.headers["Content-Type"].startswith("text/xml")
        assert b'<player error="false" state="close">' in r.read()

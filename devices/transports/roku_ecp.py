"""Roku External Control Protocol: HTTP on port 8060.

``POST /keypress/<Key>`` (and ``keydown``/``keyup`` for holds), ``POST /launch/<appId>``,
``GET /query/active-app`` and ``GET /query/media-player`` (XML). A refused connection is
retried with backoff until the timeout; a non-200 status or unreadable XML is a
``TransportError`` naming the request and what was expected.
"""

from __future__ import annotations

import http.client
import time
import urllib.parse
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from devices.transports.address import format_host_port, parse_host_port
from devices.transports.base import TransportError
from devices.transports.socket_link import retry_refused

if TYPE_CHECKING:
    from devices.device import AppProfile

DEFAULT_PORT = 8060
PLAYER_STATES = {
    "play": "playing",
    "pause": "paused",
    "buffer": "buffering",
    "startup": "connecting",
    "open": "connecting",
    "stop": "stopped",
    "close": "stopped",
    "finished": "stopped",
    "none": "none",
    "error": "error",
}
"""ECP ``<player state=...>`` -> onglass player state names."""


class RokuEcpTransport:
    """A Roku player (or Roku TV) reached over ECP.

    Args:
        address: ``host[:port]`` (port 8060).
        app_id: the channel ``launch_app`` starts (default: the rig's ``device.app.package``).
        timeout_s: longest wait for one HTTP request, in seconds.
    """

    kind = "roku_ecp"

    def __init__(self, address: str, *, app_id: str | None = None, timeout_s: float = 5.0) -> None:
        if timeout_s <= 0:
            raise ValueError(f"roku_ecp timeout_s must be positive, got {timeout_s}")
        self.host, self.port = parse_host_port(address, DEFAULT_PORT, self.kind)
        self.address = format_host_port(self.host, self.port)
        self.timeout_s = float(timeout_s)
        self.app_id = app_id

    def connect(self) -> None:
        """Check the device answers ECP (``GET /query/device-info``)."""
        self._xml("GET", "/query/device-info", "device-info")

    def send_key(self, code: str) -> None:
        """``POST /keypress/<code>``."""
        self._request("POST", f"/keypress/{urllib.parse.quote(code, safe='_')}")

    def hold_key(self, code: str, seconds: float) -> None:
        """``keydown``, wait ``seconds``, ``keyup``."""
        quoted = urllib.parse.quote(code, safe="_")
        self._request("POST", f"/keydown/{quoted}")
        try:
            time.sleep(seconds)
        finally:
            self._request("POST", f"/keyup/{quoted}")

    def launch_app(self, app: AppProfile) -> None:
        """``POST /launch/<appId>`` (``app_id``, else the app's package name)."""
        self._request("POST", f"/launch/{urllib.parse.quote(self.app_id or app.package)}")

    def active_app(self) -> str:
        """Name of the app in the foreground (``Roku`` on the home screen)."""
        root = self._xml("GET", "/query/active-app", "active-app")
        app = root.find("app")
        return (app.text or "").strip() if app is not None else ""

    def player_status(self) -> tuple[str, float, str]:
        """(state, position in seconds, plugin name) from ``/query/media-player``."""
        root = self._xml("GET", "/query/media-player", "player")
        raw_state = root.get("state", "")
        if raw_state not in PLAYER_STATES:
            raise self._fail("/query/media-player", f"unknown player state {raw_state!r}")
        position_ms = 0.0
        text = (root.findtext("position") or "").strip()
        if text:
            try:
                position_ms = float(text.split()[0])
            except ValueError:
                raise self._fail("/query/media-player", f"unreadable position {text!r}") from None
        plugin = root.find("plugin")
        name = plugin.get("name", "") if plugin is not None else ""
        return PLAYER_STATES[raw_state], position_ms / 1000.0, name

    def close(self) -> None:
        """Nothing to close: each request has its own connection."""

    def _fail(self, path: str, text: str) -> TransportError:
        return TransportError(f"{self.kind} {self.address}: {path}: {text}")

    def _xml(self, method: str, path: str, root_tag: str) -> ET.Element:
        body = self._request(method, path)
        try:
            root = ET.fromstring(body)
        except ET.ParseError as error:
            raise self._fail(
                path, f"expected <{root_tag}> XML, got {body[:60]!r} ({error})"
            ) from None
        if root.tag != root_tag:
            raise self._fail(path, f"expected <{root_tag}> XML, got <{root.tag}>")
        return root

    def _request(self, method: str, path: str) -> bytes:
        def attempt() -> tuple[http.client.HTTPResponse, bytes]:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
            try:
                conn.request(method, path, headers={"Content-Length": "0"})
                response = conn.getresponse()
                return response, response.read()
            finally:
                conn.close()

        def give_up(_: OSError) -> TransportError:
            return self._fail(path, f"connection refused for {self.timeout_s:g} s")

        try:
            response, body = retry_refused(attempt, time.monotonic() + self.timeout_s, give_up)
        except TimeoutError:
            raise self._fail(path, f"no reply within {self.timeout_s:g} s") from None
        except (http.client.HTTPException, OSError) as error:
            reason = " ".join(str(error).split()) or type(error).__name__
            raise self._fail(path, f"expected an HTTP reply, got {reason}") from None
        if response.status != 200:
            raise self._fail(path, f"HTTP {response.status} {response.reason}".strip())
        return body

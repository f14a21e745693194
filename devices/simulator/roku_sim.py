"""Roku ECP on loopback: an HTTP server backed by the virtual app.

``/keypress/<Key>`` moves the UI (``Play`` toggles play/pause), ``/keydown`` + ``/keyup``
press once on release, ``/launch/dev`` opens the app (the sideloaded developer channel's id),
and ``/query/active-app``, ``/query/media-player``, ``/query/device-info``, ``/query/apps``
answer XML with ``Content-Type: text/xml; charset="utf-8"``. Unknown keys and apps get 400
and 404.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote
from xml.sax.saxutils import escape

APP_ID = "dev"
APP_NAME = "onglass player"
ECP_TO_ACTION = {
    "Play": "PLAY_PAUSE",
    "Select": "OK",
    "Up": "UP",
    "Down": "DOWN",
    "Left": "LEFT",
    "Right": "RIGHT",
    "Back": "BACK",
    "Home": "HOME",
    "Info": "MENU",
    "Fwd": "FF",
    "Rev": "RW",
    "ChannelUp": "CH_UP",
    "ChannelDown": "CH_DOWN",
    "VolumeUp": "VOL_UP",
    "VolumeDown": "VOL_DOWN",
    "VolumeMute": "MUTE",
    "Power": "POWER",
    **{f"Lit_{d}": str(d) for d in range(10)},
}
"""ECP key name -> the virtual app's key action."""
ROKU_STATES = {0: "close", 1: "stop", 2: "pause", 3: "play"}
"""Virtual app player state code -> ECP ``<player state>``."""


class RokuSimulator:
    """The ECP endpoint. ``app`` needs ``press``, ``launch``, ``media_session``, ``focused_activity``."""

    def __init__(
        self, app: Any, port: int = 0, on_request: Callable[[str], None] | None = None
    ) -> None:
        """Bind the HTTP server on 127.0.0.1:``port`` (0: any free port); ``start`` serves.

        ``on_request`` is called with ``"POST /keypress/Select"``-style text for each request.
        """
        self.app = app
        self.requests: list[str] = []
        self.on_request = on_request
        sim = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep the simulator's output clean
                pass

            def do_POST(self) -> None:
                sim._post(self)

            def do_GET(self) -> None:
                sim._get(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="roku-sim", daemon=True
        )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> None:
        """Serve requests on a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving (if started) and close the listening socket; safe before ``start``."""
        if self._thread.is_alive():
            self.server.shutdown()  # waits for serve_forever: only when it runs
        self.server.server_close()

    def _reply(self, handler: BaseHTTPRequestHandler, status: int, body: str = "") -> None:
        data = body.encode()
        handler.send_response(status)
        if body:
            handler.send_header("Content-Type", 'text/xml; charset="utf-8"')
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _post(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            handler.rfile.read(length)
        path = unquote(handler.path.split("?", 1)[0])
        self.requests.append(f"POST {path}")
        verb, _, arg = path.strip("/").partition("/")
        if verb in ("keypress", "keyup", "keydown"):
            action = ECP_TO_ACTION.get(arg)
            if action is None:
                return self._reply(handler, 400)
            if verb != "keydown":
                self.app.press(action)
            return self._reply(handler, 200)
        if verb == "launch":
            if arg != APP_ID:
                return self._reply(handler, 404)
            self.app.launch()
            return self._reply(handler, 200)
        return self._reply(handler, 404)

    def _get(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?", 1)[0]
        self.requests.append(f"GET {path}")
        head = '<?xml version="1.0" encoding="UTF-8" ?>\n'
        app = f'<app id="{APP_ID}" type="appl" version="1.4.2">{escape(APP_NAME)}</app>'
        if path == "/query/device-info":
            body = (
                "<device-info><udn>onglass-sim</udn><serial-number>SIM0001</serial-number>"
                "<vendor-name>onglass</vendor-name><model-name>onglass virtual device</model-name>"
                "<software-version>14.1.0</software-version><power-mode>PowerOn</power-mode>"
                "</device-info>"
            )
        elif path == "/query/apps":
            body = f"<apps>{app}</apps>"
        elif path == "/query/active-app":
            home = self.app.focused_activity().startswith("com.onglass.launcher")
            body = f"<active-app>{'<app>Roku</app>' if home else app}</active-app>"
        elif path == "/query/media-player":
            state, position_s, title = self.app.media_session()
            body = (
                f'<player error="false" state="{ROKU_STATES.get(int(state), "none")}">'
                f'<plugin bandwidth="10000000 bps" id="{APP_ID}" name="{escape(APP_NAME)}"/>'
                f"<position>{int(position_s * 1000)} ms</position><is_live>false</is_live>"
                "</player>"
            )
        else:
            return self._reply(handler, 404)
        self._reply(handler, 200, head + body)

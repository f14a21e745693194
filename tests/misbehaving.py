"""Device endpoints that go wrong on purpose, for the transports' fault tests.

``MisbehavingServer`` answers the first ``good`` requests the way the real device would
(``reply(request)``), then, depending on ``mode``: ``drop`` closes the connection without a
reply, ``garbage`` sends bytes no device of that kind would, ``stall`` reads and never answers.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable

TERMINATORS = {"lirc": b"\n", "itach": b"\r", "roku_ecp": b"\r\n\r\n"}
GARBAGE = {
    "lirc": b"\x00\xffHELLO?\n",
    "itach": b"\x00zz#garbage\r",
    "roku_ecp": b"SPAM/9 what\r\n\r\n",
}


def good_reply(kind: str, request: bytes) -> bytes:
    """What a healthy device answers to ``request``."""
    if kind == "lirc":
        return b"BEGIN\n" + request + b"\nSUCCESS\nEND\n"
    if kind == "itach":
        fields = request.decode().split(",")
        return f"completeir,{fields[1]},{fields[2]}\r".encode()
    return b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


class MisbehavingServer:
    def __init__(self, kind: str, mode: str, good: int = 0) -> None:
        self.kind, self.mode, self.good = kind, mode, good
        self.requests: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._release = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        terminator = TERMINATORS[self.kind]
        buffer = b""
        with sock:
            while terminator not in buffer:
                data = sock.recv(4096)
                if not data:
                    return
                buffer += data
            request = buffer.split(terminator)[0]
            self.requests.append(request)
            if len(self.requests) <= self.good:
                sock.sendall(good_reply(self.kind, request))
            elif self.mode == "garbage":
                sock.sendall(GARBAGE[self.kind])
                self._release.wait(10)
            elif self.mode == "stall":
                self._release.wait(30)
            # drop: close without a word

    def close(self) -> None:
        self._release.set()
        with contextlib.suppress(OSError):
            self._listener.close()


def make_transport(kind: str, address: str, timeout_s: float) -> tuple[object, Callable[[], None]]:
    """A transport of ``kind`` at ``address`` and a function pressing one key with it."""
    from devices.keys import Key
    from devices.profiles.ir_codes import STB_REMOTE
    from devices.transports.itach import ItachTransport
    from devices.transports.lirc import LircTransport
    from devices.transports.roku_ecp import RokuEcpTransport

    if kind == "lirc":
        t = LircTransport(address, "onglass-stb", timeout_s=timeout_s)
        return t, lambda: t.send_key("KEY_OK")
    if kind == "itach":
        t = ItachTransport(address, timeout_s=timeout_s)
        return t, lambda: t.send_key(STB_REMOTE.pronto(Key.OK))
    t = RokuEcpTransport(address, timeout_s=timeout_s)
    return t, lambda: t.send_key("Select")

"""A small threaded TCP server on 127.0.0.1 for the virtual device's control endpoints."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable


class LoopbackServer:
    """Accepts connections on 127.0.0.1 and runs ``handle(sock)`` for each on its own thread."""

    def __init__(self, name: str, handle: Callable[[socket.socket], None], port: int = 0) -> None:
        self.name, self.handle = name, handle
        self._listener = socket.create_server(("127.0.0.1", port))
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._clients: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name=name, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        """Accept connections on a background thread."""
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._clients.add(sock)
            threading.Thread(target=self._serve, args=(sock,), name=self.name, daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            with sock:
                self.handle(sock)
        except OSError:
            pass
        finally:
            with self._lock:
                self._clients.discard(sock)

    def stop(self) -> None:
        """Close the listener and every open client connection; safe before ``start``."""
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            for sock in list(self._clients):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        if self._thread.ident is not None:
            self._thread.join(timeout=2)


def read_lines(sock: socket.socket, terminator: bytes) -> Callable[[], bytes | None]:
    """A function returning the next ``terminator``-ended line from ``sock`` (None at EOF)."""
    buffer = bytearray()

    def next_line() -> bytes | None:
        while terminator not in buffer:
            data = sock.recv(4096)
            if not data:
                return None
            buffer.extend(data)
        line, _, rest = bytes(buffer).partition(terminator)
        buffer[:] = rest
        return line

    return next_line

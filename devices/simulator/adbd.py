"""A device-side ADB endpoint over TCP: what adbd serves after ``adb tcpip 5555``.

It speaks enough of the ADB wire protocol (no AUTH, i.e. adbd's noauth mode) for Debian's
``adb`` client and the adb-shell package: CNXN handshake, streams with one WRTE in flight per
stream, and the ``shell:``, ``shell,v2,...:`` and ``exec:`` services. Every command is handed
to a ``shell`` callable that returns a :class:`ShellResult`.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["AdbDaemon", "ShellResult"]

_HEADER = struct.Struct("<6I")
_VERSION = 0x01000001
_MAXDATA = 256 * 1024
_MAX_RECEIVE = 1024 * 1024  # adb's MAX_PAYLOAD: the most a host packet may carry


def _cmd(name: bytes) -> int:
    return int.from_bytes(name, "little")


CNXN, OPEN, OKAY, WRTE, CLSE = (_cmd(n) for n in (b"CNXN", b"OPEN", b"OKAY", b"WRTE", b"CLSE"))


@dataclass(frozen=True)
class ShellResult:
    """What a shell command printed and how it exited."""

    stdout: bytes = b""
    stderr: bytes = b""
    exit_code: int = 0


@dataclass
class _Stream:
    """One open service stream: its ids and the WRTE payloads still to send."""

    local: int
    remote: int
    chunks: deque[bytes] = field(default_factory=deque)
    ready: bool = False  # the handler has finished and ``chunks`` holds all output
    awaiting_okay: bool = False


class _Connection:
    """One host connection: a reader loop plus per-stream handler threads."""

    def __init__(self, daemon: AdbDaemon, sock: socket.socket) -> None:
        self.daemon = daemon
        self.sock = sock
        self.lock = threading.Lock()  # guards socket writes and ``streams``
        self.streams: dict[int, _Stream] = {}
        self.next_id = 1
        self.maxdata = 4096
        self.alive = True

    def send(self, command: int, arg0: int, arg1: int, data: bytes = b"") -> None:
        """Write one message (caller holds ``lock``); checksum always filled in."""
        check = sum(data) & 0xFFFFFFFF
        header = _HEADER.pack(command, arg0, arg1, len(data), check, command ^ 0xFFFFFFFF)
        try:
            self.sock.sendall(header + data)
        except OSError:
            self.alive = False

    def recv_exact(self, n: int) -> bytes | None:
        buf = bytearray()
        while len(buf) < n:
            try:
                part = self.sock.recv(n - len(buf))
            except OSError:
                return None
            if not part:
                return None
            buf += part
        return bytes(buf)

    def serve(self) -> None:
        """Read packets until the host goes away or sends garbage."""
        try:
            while self.alive:
                header = self.recv_exact(_HEADER.size)
                if header is None:
                    return
                command, arg0, arg1, length, _check, magic = _HEADER.unpack(header)
                if magic != command ^ 0xFFFFFFFF or length > _MAX_RECEIVE:
                    return  # garbage: drop the connection
                data = self.recv_exact(length) if length else b""
                if data is None:
                    return
                with self.lock:
                    self.dispatch(command, arg0, arg1, data)
        finally:
            self.alive = False
            with contextlib.suppress(OSError):
                self.sock.close()

    def dispatch(self, command: int, arg0: int, arg1: int, data: bytes) -> None:
        """Handle one host packet (caller holds ``lock``)."""
        if command == CNXN:
            self.maxdata = max(16, min(arg1, _MAXDATA))  # WRTE size: min(peer's, ours)
            self.send(CNXN, _VERSION, _MAXDATA, self.daemon.banner.encode())
        elif command == OPEN:
            self.open(arg0, data.rstrip(b"\0").decode("utf-8", "replace"))
        elif command == OKAY and (stream := self.streams.get(arg1)) is not None:
            stream.awaiting_okay = False
            self.pump(stream)
        elif command == WRTE and (stream := self.streams.get(arg1)) is not None:
            self.send(OKAY, stream.local, stream.remote)  # stdin / shell-v2 0,4,5: ignored
        elif command == CLSE:
            self.streams.pop(arg1, None)

    def open(self, remote: int, service: str) -> None:
        name, _, command = service.partition(":")  # split on the first ':' only
        base, *options = name.split(",")
        kind = "v2" if base == "shell" and "v2" in options else base
        if remote == 0 or kind not in ("shell", "exec", "v2") or not command.strip():
            self.send(CLSE, 0, remote)
            return
        stream = _Stream(self.next_id, remote)
        self.next_id += 1
        self.streams[stream.local] = stream
        self.send(OKAY, stream.local, remote)
        self.daemon._spawn(self.run_command, stream, kind, command)

    def run_command(self, stream: _Stream, kind: str, command: str) -> None:
        """Run the handler outside the lock, then queue its output as WRTE payloads."""
        result = self.daemon._run_shell(command)
        size = self.maxdata
        if kind == "v2":
            chunks = [
                bytes([ident]) + struct.pack("<I", len(part)) + part
                for ident, out in ((1, result.stdout), (2, result.stderr))
                for part in _split(out, size - 5)
            ]
            chunks.append(b"\x03\x01\x00\x00\x00" + bytes([result.exit_code & 0xFF]))
        else:
            chunks = _split(result.stdout + result.stderr, size)
        with self.lock:
            stream.chunks.extend(chunks)
            stream.ready = True
            self.pump(stream)

    def pump(self, stream: _Stream) -> None:
        """Send the next WRTE once the last was OKAYed; CLSE when all is sent (holds lock)."""
        if stream.awaiting_okay or self.streams.get(stream.local) is not stream:
            return
        if stream.chunks:
            stream.awaiting_okay = True
            self.send(WRTE, stream.local, stream.remote, stream.chunks.popleft())
        elif stream.ready:
            del self.streams[stream.local]
            self.send(CLSE, stream.local, stream.remote)

    def shutdown(self) -> None:
        self.alive = False
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)


def _split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


class AdbDaemon:
    """A fake adbd listening on TCP; ``shell`` answers every shell/exec command."""

    def __init__(
        self,
        shell: Callable[[str], ShellResult],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        product: str = "onglass_sim",
        model: str = "onglass virtual device",
        device: str = "onglass",
    ) -> None:
        self._shell = shell
        self._host = host
        self._port = port
        self.banner = (
            f"device::ro.product.name={product};ro.product.model={model};"
            f"ro.product.device={device};features=shell_v2,cmd"
        )
        self._listener: socket.socket | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._connections: list[_Connection] = []

    @property
    def address(self) -> str:
        """``host:port``; the real port once started."""
        return f"{self._host}:{self._port}"

    def start(self) -> None:
        """Bind, listen and serve each connection on its own daemon thread."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self._host, self._port))
        listener.listen(16)
        listener.settimeout(0.1)
        self._port = listener.getsockname()[1]
        self._listener = listener
        self._stopping.clear()
        self._spawn(self._accept_loop)

    def stop(self, timeout_s: float = 2.0) -> None:
        """Close the listener and every connection, then join threads (bounded by timeout_s)."""
        self._stopping.set()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            conn.shutdown()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:  # again, in case a thread started meanwhile
            with self._lock:
                me = threading.current_thread()
                threads = [t for t in self._threads if t.is_alive() and t is not me]
            if not threads:
                break
            for thread in threads:
                thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        """Start a daemon thread that ``stop`` will join (and forget finished ones)."""
        thread = threading.Thread(target=target, args=args, name="adbd", daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _run_shell(self, command: str) -> ShellResult:
        """Call the handler; an exception becomes stderr text and exit code 1."""
        try:
            result = self._shell(command)
            if not isinstance(result, ShellResult):
                raise TypeError(f"shell handler returned {type(result).__name__}")
        except Exception as exc:  # the daemon must survive any handler bug
            return ShellResult(stderr=f"{type(exc).__name__}: {exc}\n".encode(), exit_code=1)
        return result

    def _accept_loop(self) -> None:
        listener = self._listener
        while listener is not None and not self._stopping.is_set():
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Connection(self, sock)
            with self._lock:
                if self._stopping.is_set():  # stop() already took its snapshot
                    sock.close()
                    return
                self._connections = [c for c in self._connections if c.alive] + [conn]
            self._spawn(conn.serve)

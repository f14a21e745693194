"""The ADB simulator against real clients: adb-shell (via AdbTransport) and Debian's ``adb``."""

from __future__ import annotations

import os
import random
import shutil
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devices.simulator.adbd import AdbDaemon, ShellResult
from devices.transports.adb import AdbTransport, parse_address
from devices.transports.base import TransportError

BIG = b"".join(b"line %07d\n" % i for i in range(50_000))  # 650 KB: three 256 KiB WRTEs
HEADER = struct.Struct("<6I")


def cmd_id(name: bytes) -> int:
    return int.from_bytes(name, "little")


class FakeShell:
    """A small command table; records every command it was given."""

    def __init__(self) -> None:
        self.commands: list[str] = []
        self.release = threading.Event()

    def __call__(self, command: str) -> ShellResult:
        self.commands.append(command)
        if command.startswith("echo "):
            return ShellResult(stdout=command[5:].encode() + b"\n")
        if command.startswith("input keyevent "):
            return ShellResult()
        if command == "big":
            return ShellResult(stdout=BIG)
        if command == "false":
            return ShellResult(exit_code=1)
        if command == "warn":
            return ShellResult(stdout=b"out\n", stderr=b"err\n", exit_code=3)
        if command == "boom":
            raise RuntimeError("handler exploded")
        if command == "hang":
            self.release.wait(10)
            return ShellResult()
        return ShellResult(stderr=f"/system/bin/sh: {command}: not found\n".encode(), exit_code=127)


@pytest.fixture
def fake() -> Iterator[FakeShell]:
    shell = FakeShell()
    yield shell
    shell.release.set()


@pytest.fixture
def daemon(fake: FakeShell) -> Iterator[AdbDaemon]:
    d = AdbDaemon(fake)
    d.start()
    yield d
    d.stop()
    assert not [t for t in threading.enumerate() if t.name == "adbd"], "stop() joins its threads"


@pytest.fixture
def transport(daemon: AdbDaemon) -> Iterator[AdbTransport]:
    t = AdbTransport(daemon.address, timeout_s=3.0)
    yield t
    t.close()


# --- raw wire helpers -------------------------------------------------------------------


def raw_send(sock: socket.socket, command: bytes, arg0: int, arg1: int, data: bytes = b"") -> None:
    c = cmd_id(command)
    sock.sendall(HEADER.pack(c, arg0, arg1, len(data), sum(data), c ^ 0xFFFFFFFF) + data)


def recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        part = sock.recv(n - len(buf))
        if not part:
            raise ConnectionError("closed")
        buf += part
    return buf


def raw_recv(sock: socket.socket) -> tuple[bytes, int, int, bytes]:
    c, a0, a1, length, check, magic = HEADER.unpack(recv_exact(sock, HEADER.size))
    data = recv_exact(sock, length)
    assert magic == c ^ 0xFFFFFFFF
    assert check == sum(data) & 0xFFFFFFFF, "data_check must always be the byte sum"
    return c.to_bytes(4, "little"), a0, a1, data


def raw_connect(daemon: AdbDaemon, maxdata: int = 1024 * 1024) -> socket.socket:
    sock = socket.create_connection(parse_address(daemon.address), timeout=3)
    raw_send(sock, b"CNXN", 0x01000000, maxdata, b"host::raw\0")
    cmd, version, _, banner = raw_recv(sock)
    assert (cmd, version) == (b"CNXN", 0x01000001)
    assert banner.startswith(b"device::ro.product.name=onglass_sim;")
    return sock


def closed_by_peer(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


# --- adb-shell through AdbTransport -----------------------------------------------------


def test_shell_round_trip(transport: AdbTransport, fake: FakeShell) -> None:
    transport.connect()
    assert transport.shell("echo hello world") == "hello world\n"
    assert transport.shell("echo a:b") == "a:b\n"  # service split on the first ':' only
    assert fake.commands == ["echo hello world", "echo a:b"]


def test_send_key_reaches_handler(transport: AdbTransport, fake: FakeShell) -> None:
    transport.send_key("KEYCODE_MEDIA_PLAY")
    transport.send_key("3")
    assert fake.commands == ["input keyevent KEYCODE_MEDIA_PLAY", "input keyevent 3"]
    with pytest.raises(ValueError, match="KEYCODE"):
        transport.send_key("HOME; reboot")


def test_large_output_arrives_intact(transport: AdbTransport) -> None:
    assert transport.shell("big") == BIG.decode()


def test_handler_exception_does_not_crash(transport: AdbTransport) -> None:
    assert "RuntimeError: handler exploded" in transport.shell("boom")
    assert transport.shell("echo still alive") == "still alive\n"


def test_daemon_stopped_raises_transport_error(daemon: AdbDaemon) -> None:
    t = AdbTransport(daemon.address, timeout_s=2.0)
    t.connect()
    daemon.stop()
    start = time.monotonic()
    with pytest.raises(TransportError, match=rf"^adb {daemon.address}: .*refused"):
        t.send_key("KEYCODE_HOME")
    assert time.monotonic() - start < 2.0
    t.close()


def test_no_reply_times_out(transport: AdbTransport, fake: FakeShell) -> None:
    transport.timeout_s = 0.5
    start = time.monotonic()
    with pytest.raises(TransportError) as err:
        transport.shell("hang")
    assert time.monotonic() - start < 2.0
    fake.release.set()  # let the handler finish so the daemon stops promptly
    assert str(err.value) == f"adb {transport.address}: no reply within 0.5 s to 'hang'"


def test_connect_refused_is_transport_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but not listening: refused
        t = AdbTransport(f"127.0.0.1:{port}", timeout_s=1.0)
        with pytest.raises(TransportError, match=rf"^adb 127.0.0.1:{port}: connection refused"):
            t.connect()


def test_dropped_connection_is_retried_once(daemon: AdbDaemon, fake: FakeShell) -> None:
    t = AdbTransport(daemon.address, timeout_s=2.0)
    t.connect()
    daemon.stop()  # adbd restarts: the link drops, then the port listens again
    restarted = AdbDaemon(fake, port=parse_address(daemon.address)[1])
    restarted.start()
    try:
        assert t.shell("echo again") == "again\n"
    finally:
        t.close()
        restarted.stop()


def test_garbage_reply_is_transport_error() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)

        def reply_garbage() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                time.sleep(1)

        threading.Thread(target=reply_garbage, daemon=True).start()
        t = AdbTransport(f"127.0.0.1:{server.getsockname()[1]}", timeout_s=1.0)
        with pytest.raises(TransportError, match="ADB handshake"):
            t.connect()


def test_unreadable_rsa_key_is_transport_error(daemon: AdbDaemon, tmp_path: Path) -> None:
    missing = AdbTransport(daemon.address, rsa_key_path=str(tmp_path / "nokey"))
    with pytest.raises(TransportError, match="cannot read RSA key"):
        missing.connect()
    (tmp_path / "bad").write_text("not a key")
    (tmp_path / "bad.pub").write_text("not a key")
    bad = AdbTransport(daemon.address, rsa_key_path=str(tmp_path / "bad"))
    with pytest.raises(TransportError, match="cannot read RSA key"):
        bad.connect()


@pytest.mark.parametrize(
    ("address", "expected"),
    [("10.0.0.2:5556", ("10.0.0.2", 5556)), ("tv", ("tv", 5555)), ("[::1]:7", ("::1", 7))],
)
def test_parse_address(address: str, expected: tuple[str, int]) -> None:
    assert parse_address(address) == expected


@pytest.mark.parametrize("address", ["", ":5555", "host:", "host:abc", "host:70000", "::1"])
def test_bad_address_is_value_error(address: str) -> None:
    with pytest.raises(ValueError, match="adb address"):
        AdbTransport(address)


# --- raw protocol behaviour -------------------------------------------------------------


def test_unknown_service_refused_and_flow_control(daemon: AdbDaemon) -> None:
    with raw_connect(daemon, maxdata=4096) as sock:
        raw_send(sock, b"OPEN", 5, 0, b"sync:\0")
        assert raw_recv(sock)[:3] == (b"CLSE", 0, 5)
        raw_send(sock, b"OPEN", 6, 0, b"exec:big\0")
        cmd, local, remote, _ = raw_recv(sock)
        assert (cmd, remote) == (b"OKAY", 6)
        received = b""
        while True:
            cmd, a0, a1, data = raw_recv(sock)
            if cmd == b"CLSE":
                break
            assert (cmd, a0, a1) == (b"WRTE", local, 6)
            assert len(data) <= 4096  # min(host maxdata, device maxdata)
            received += data
            if len(received) == 4096:  # no second WRTE until the first is OKAYed
                sock.settimeout(0.2)
                with pytest.raises(TimeoutError):
                    sock.recv(1)
                sock.settimeout(3)
            raw_send(sock, b"OKAY", 6, local)
        assert received == BIG


def test_garbage_client_does_not_kill_daemon(daemon: AdbDaemon, transport: AdbTransport) -> None:
    noise = random.Random(1234).randbytes(256)
    with socket.create_connection(parse_address(daemon.address), timeout=3) as sock:
        sock.sendall(noise)
        assert closed_by_peer(sock)
    assert transport.shell("echo ok") == "ok\n"


def test_mid_message_disconnect_does_not_kill_daemon(
    daemon: AdbDaemon, transport: AdbTransport
) -> None:
    with socket.create_connection(parse_address(daemon.address), timeout=3) as sock:
        c = cmd_id(b"CNXN")
        sock.sendall(HEADER.pack(c, 0x01000000, 4096, 100, 0, c ^ 0xFFFFFFFF) + b"host:")
    with raw_connect(daemon) as sock:  # leaves mid-stream, WRTE never OKAYed
        raw_send(sock, b"OPEN", 1, 0, b"shell:big\0")
        assert raw_recv(sock)[0] == b"OKAY"
        assert raw_recv(sock)[0] == b"WRTE"
    assert transport.shell("echo ok") == "ok\n"


# --- Debian's adb client ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


Adb = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def adb(daemon: AdbDaemon, tmp_path: Path) -> Iterator[Adb]:
    if shutil.which("adb") is None:
        pytest.skip("Debian's adb client is not installed (apt install adb)")
    env = {
        **os.environ,
        "ANDROID_ADB_SERVER_PORT": str(free_port()),  # a private server, never the user's
        "HOME": str(tmp_path),  # its ~/.android/adbkey stays in tmp
    }
    env.pop("ADB_VENDOR_KEYS", None)
    env.pop("ANDROID_SERIAL", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["adb", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    try:
        yield run
    finally:
        subprocess.run(["adb", "kill-server"], env=env, capture_output=True, timeout=30)


def test_debian_adb_client(adb: Adb, daemon: AdbDaemon, fake: FakeShell, tmp_path: Path) -> None:
    serial = daemon.address
    connected = adb("connect", serial)
    assert f"connected to {serial}" in connected.stdout, connected

    devices = adb("devices", "-l")
    assert serial in devices.stdout and "model:onglass_virtual_device" in devices.stdout, devices

    hi = adb("-s", serial, "shell", "echo", "hi")
    assert (hi.returncode, hi.stdout) == (0, "hi\n"), hi

    key = adb("-s", serial, "shell", "input", "keyevent", "KEYCODE_HOME")
    assert key.returncode == 0, key
    assert "input keyevent KEYCODE_HOME" in fake.commands

    assert adb("-s", serial, "shell", "false").returncode == 1
    warn = adb("-s", serial, "shell", "warn")  # shell v2 keeps stdout and stderr apart
    assert (warn.returncode, warn.stdout, warn.stderr) == (3, "out\n", "err\n"), warn

    big = adb("-s", serial, "exec-out", "big")
    assert (big.returncode, big.stdout) == (0, BIG.decode()), big.stderr

    boom = adb("-s", serial, "shell", "boom")
    assert boom.returncode == 1 and "handler exploded" in boom.stderr, boom
    assert adb("-s", serial, "reboot").returncode != 0  # unknown service: refused, not served

    # The server made a user key pair in HOME; AdbTransport loads it (noauth: never asked).
    key_path = tmp_path / ".android" / "adbkey"
    with_key = AdbTransport(serial, timeout_s=3.0, rsa_key_path=str(key_path))
    assert with_key.shell("echo keyed") == "keyed\n"
    with_key.close()

"""The production ADB transport: shell commands and key presses over ADB-over-TCP.

Built on the adb-shell package rather than the ``adb`` binary because:

* it is pure Python: no ``adb`` server process that parallel test workers would share, fight
  over or kill (``adb kill-server`` in one worker drops every other worker's devices);
* every call takes its own timeouts, so a hung device costs one bounded wait, not a hung run;
* it does RSA auth for real devices with the user's keys
  (``adb_shell.auth.sign_pythonrsa.PythonRSASigner``; pass ``rsa_key_path``, e.g.
  ``~/.android/adbkey`` with ``adbkey.pub`` beside it, the pair the ``adb`` tool made).

adb-shell's stock TCP transport treats a closed socket as "no data yet" and spins until its read
timeout; the small subclass below reports it as a dropped connection instead, so a drop can be
retried at once, and it writes whole buffers (the stock one ignores partial ``send``).
"""

from __future__ import annotations

import contextlib
import re
import threading
import time

from adb_shell import exceptions as adb_errors
from adb_shell.adb_device import AdbDevice
from adb_shell.transport.tcp_transport import TcpTransport

from devices.transports.address import parse_host_port
from devices.transports.base import TransportError

__all__ = ["AdbTransport", "parse_address"]

DEFAULT_PORT = 5555
_RETRY_BACKOFF_S = 0.2
_KEYCODE = re.compile(r"[A-Za-z0-9_]+")
_TIMEOUTS = (TimeoutError, adb_errors.TcpTimeoutException, adb_errors.AdbTimeoutError)


class _Dropped(Exception):
    """The device closed the TCP connection."""


class _TcpLink(TcpTransport):
    """adb-shell's TCP transport, but EOF is an error and writes are complete."""

    def bulk_read(self, numbytes: int, transport_timeout_s: float | None) -> bytes:
        data = super().bulk_read(numbytes, transport_timeout_s)
        if not data:
            raise _Dropped("connection closed by the device")
        return data

    def bulk_write(self, data: bytes, transport_timeout_s: float | None) -> int:
        view = memoryview(data)
        while view:
            sent = super().bulk_write(view, transport_timeout_s)
            view = view[sent:]
        return len(data)


def parse_address(address: str) -> tuple[str, int]:
    """``"host:port"``, ``"host"`` (port 5555) or ``"[v6]:port"`` -> (host, port); ValueError."""
    return parse_host_port(address, DEFAULT_PORT, "adb")


class AdbTransport:
    """ADB over TCP to one device; each failure is a one-line ``TransportError``."""

    kind = "adb"

    def __init__(
        self, address: str, *, timeout_s: float = 5.0, rsa_key_path: str | None = None
    ) -> None:
        if timeout_s <= 0:
            raise ValueError(f"adb timeout_s must be positive, got {timeout_s}")
        self.host, self.port = parse_address(address)
        self.address = f"{self.host}:{self.port}"
        self.timeout_s = float(timeout_s)
        self.rsa_key_path = rsa_key_path
        self._device: AdbDevice | None = None
        self._lock = threading.Lock()

    def connect(self) -> None:
        """Open the TCP connection and do the CNXN (and, with a key, AUTH) handshake."""
        with self._lock:
            self._connect()

    def shell(self, command: str) -> str:
        """Run ``command`` on the device and return its decoded stdout (and stderr)."""
        with self._lock:
            return self._run(command)

    def send_key(self, code: str) -> None:
        """Press a key: ``input keyevent CODE`` (a ``KEYCODE_*`` name or a number)."""
        if not _KEYCODE.fullmatch(code):
            raise ValueError(f"adb key code {code!r} is not a KEYCODE_* name or number")
        self.shell(f"input keyevent {code}")

    def close(self) -> None:
        """Drop the connection; a later call reconnects."""
        with self._lock:
            self._drop()

    def _fail(self, expected: str, why: object) -> TransportError:
        reason = " ".join(str(why).split()) or type(why).__name__
        return TransportError(f"{self.kind} {self.address}: {expected}: {reason}")

    def _drop(self) -> None:
        if self._device is not None:
            device, self._device = self._device, None
            with contextlib.suppress(OSError):
                device.close()

    def _connect(self) -> None:
        self._drop()
        t = self.timeout_s
        keys = [self._load_key()] if self.rsa_key_path else None
        device = AdbDevice(_TcpLink(self.host, self.port), default_transport_timeout_s=t)
        try:
            device.connect(rsa_keys=keys, transport_timeout_s=t, auth_timeout_s=t, read_timeout_s=t)
        except Exception as exc:
            device.close()
            raise self._explain(exc, "the ADB handshake (CNXN)") from None
        self._device = device

    def _load_key(self) -> object:
        from adb_shell.auth.sign_pythonrsa import PythonRSASigner

        try:
            return PythonRSASigner.FromRSAKeyPath(self.rsa_key_path)
        except Exception as exc:  # OSError, or ValueError/pyasn1 errors for a bad PEM
            raise self._fail(f"cannot read RSA key {self.rsa_key_path!r}", exc) from None

    def _run(self, command: str) -> str:
        """Run once; if the connection was dropped, reconnect after a backoff and retry once."""
        t = self.timeout_s
        for attempt in (1, 2):
            if self._device is None:
                self._connect()
            device = self._device
            assert device is not None
            try:
                out = device.shell(command, transport_timeout_s=t, read_timeout_s=t, timeout_s=t)
                return str(out)
            except Exception as exc:
                self._drop()  # the stream state is unknown: start clean next time
                if not _is_drop(exc) or attempt == 2:
                    raise self._explain(exc, repr(command)) from None
                time.sleep(_RETRY_BACKOFF_S)
        raise AssertionError("unreachable")

    def _explain(self, exc: BaseException, what: str) -> TransportError:
        """A one-line TransportError for an adb-shell or socket failure while awaiting ``what``."""
        if isinstance(exc, TransportError):
            return exc
        if isinstance(exc, _TIMEOUTS):
            return TransportError(
                f"{self.kind} {self.address}: no reply within {self.timeout_s} s to {what}"
            )
        if isinstance(exc, ConnectionRefusedError):
            return self._fail(f"connection refused while attempting {what}", "is adbd listening?")
        if _is_drop(exc):
            return self._fail(f"connection dropped while awaiting a reply to {what}", exc)
        if isinstance(exc, adb_errors.DeviceAuthError):
            return self._fail("device wants RSA auth (pass rsa_key_path)", exc)
        if isinstance(exc, OSError):
            return self._fail(f"cannot reach the device for {what}", exc)
        return self._fail(f"expected a valid ADB reply to {what}", exc)


def _is_drop(exc: BaseException) -> bool:
    """Whether ``exc`` means the TCP connection went away (worth one reconnect)."""
    if isinstance(exc, ConnectionRefusedError):
        return False
    return isinstance(exc, (_Dropped, ConnectionError, adb_errors.AdbConnectionError))

"""Device leasing on one host: one lock file per device, so no two test workers share one.

Each ``pytest -n N`` worker (pytest-xdist) is its own process; its session leases one rig from
the inventory (``--rigs a.yaml,b.yaml``) by taking an exclusive ``flock`` on
``<lease dir>/<device>.lock`` and holds it until the session ends. The kernel drops the lock
when the process dies, so a crashed worker never leaves a device locked. The lock file holds
the owner (host, pid, worker id) for ``cat``-style diagnostics.

Between hosts, use the lab's existing engine (labgrid's coordinator places, CI runner labels):
see the README's "Sharing devices between hosts".
"""

from __future__ import annotations

import fcntl
import os
import re
import socket
import time
from pathlib import Path

from harness.errors import InfrastructureError

DEFAULT_LEASE_DIR = "/tmp/onglass-leases"
"""Where lock files live unless ``--lease-dir`` or ``ONGLASS_LEASE_DIR`` says otherwise."""
POLL_S = 0.5
"""How often a waiting worker retries the locks, in seconds."""


class LeaseUnavailable(InfrastructureError):
    """No device of the inventory became free in time (lab capacity, not a product defect)."""


class DeviceLease:
    """An exclusive lock on one device, held until ``release`` (or the process ends)."""

    def __init__(self, name: str, path: Path, fd: int) -> None:
        self.name, self.path, self._fd = name, path, fd

    def release(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> DeviceLease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_path(lease_dir: Path, name: str) -> Path:
    """The lock file of device ``name``."""
    return lease_dir / (re.sub(r"[^A-Za-z0-9_.-]+", "_", name) + ".lock")


def try_lease(name: str, lease_dir: Path, owner: str) -> DeviceLease | None:
    """Lock device ``name`` now, or None if another process holds it."""
    lease_dir.mkdir(parents=True, exist_ok=True)
    path = lock_path(lease_dir, name)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, f"{owner}\n".encode())
    return DeviceLease(name, path, fd)


def holder(lease_dir: Path, name: str) -> str:
    """Who holds (or last held) device ``name``, from its lock file ('' if unknown)."""
    try:
        return lock_path(lease_dir, name).read_text().strip()
    except OSError:
        return ""


def lease_one(
    names: list[str], lease_dir: Path, timeout_s: float, worker: str = "", start: int = 0
) -> DeviceLease:
    """Lease the first free device of ``names`` (trying from index ``start``), waiting up to
    ``timeout_s`` seconds; ``LeaseUnavailable`` naming each device's holder otherwise."""
    if not names:
        raise ValueError("the device inventory is empty")
    owner = f"{socket.gethostname()} pid {os.getpid()} {worker}".strip()
    order = names[start % len(names) :] + names[: start % len(names)]
    deadline = time.monotonic() + timeout_s
    while True:
        for name in order:
            lease = try_lease(name, lease_dir, owner)
            if lease is not None:
                return lease
        if time.monotonic() >= deadline:
            held = "; ".join(f"{n} held by {holder(lease_dir, n) or '?'}" for n in names)
            raise LeaseUnavailable(f"no free device within {timeout_s:g} s in {lease_dir}: {held}")
        time.sleep(POLL_S)


def worker_index(worker: str) -> int:
    """0 for ``gw0`` or no xdist, 1 for ``gw1``...: where a worker starts in the inventory."""
    match = re.fullmatch(r"gw(\d+)", worker)
    return int(match.group(1)) if match else 0

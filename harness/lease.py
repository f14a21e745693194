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

import contextlib
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
LEASE_DIR_MODE = 0o1777
"""Mode of a lease directory onglass creates: every user of the host may lock devices in it,
and (sticky bit) none can delete another's lock files, like /tmp itself."""
LOCK_FILE_MODE = 0o666
"""Mode of a lock file onglass creates, so another user's worker can lock it later."""


class LeaseUnavailable(InfrastructureError):
    """No device of the inventory became free in time (lab capacity, not a product defect)."""


class DeviceLease:
    """An exclusive lock on one device, held until ``release`` (or the process ends)."""

    def __init__(self, name: str, path: Path, fd: int) -> None:
        self.name, self.path, self._fd = name, path, fd

    def release(self) -> None:
        """Unlock the device and close the lock file (the file stays); safe to call twice."""
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


def _make_lease_dir(lease_dir: Path) -> None:
    """Create ``lease_dir`` shared by all users (``LEASE_DIR_MODE``) if it does not exist."""
    if lease_dir.is_dir():
        return
    lease_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        lease_dir.mkdir()
    except FileExistsError:
        return  # another worker made it first
    os.chmod(lease_dir, LEASE_DIR_MODE)  # mkdir's mode is cut by the umask


def try_lease(name: str, lease_dir: Path, owner: str) -> DeviceLease | None:
    """Lock device ``name`` now, or None if another process holds it.

    ``LeaseUnavailable`` naming the directory when the lock file cannot be made or opened
    (e.g. another user created the directory without write access for others).
    """
    path = lock_path(lease_dir, name)
    try:
        _make_lease_dir(lease_dir)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, LOCK_FILE_MODE)
    except OSError as error:
        raise LeaseUnavailable(
            f"lease directory {lease_dir}: cannot open {path.name} ({error.strerror or error}); "
            "fix its permissions (chmod 1777) or choose another with --lease-dir"
        ) from None
    with contextlib.suppress(OSError):  # only the file's owner may; others keep its mode
        os.fchmod(fd, LOCK_FILE_MODE)
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

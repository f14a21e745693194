"""Start helper processes (lircd, cec-client, pacat, the simulator) that die with their parent.

``start_tied`` prefixes the command with ``setpriv --pdeathsig TERM`` (util-linux) when it is
installed, so Linux sends the child SIGTERM when its parent goes away and a crashed test run
leaves no orphaned daemon. Unlike ``preexec_fn`` no Python runs between fork and exec, which is
safe while threads run. Linux counts the *thread* that forked as the parent: start children
from a thread that lives as long as they should (the main thread or the owning server thread).
``stop_process`` is the one way to end such a child on a clean exit.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from typing import Any

STOP_TIMEOUT_S = 5.0
"""Default wait after SIGTERM before SIGKILL, in seconds."""


def start_tied(args: Sequence[str], **popen_kwargs: Any) -> subprocess.Popen[Any]:
    """Start ``args`` like ``subprocess.Popen(args, **popen_kwargs)``, tied to this process.

    With ``setpriv`` on PATH the child gets SIGTERM when its parent dies; without it the
    child starts untied (the caller's ``stop_process`` still ends it on a clean exit).
    """
    setpriv = shutil.which("setpriv")
    command = [setpriv, "--pdeathsig", "TERM", "--", *args] if setpriv else list(args)
    return subprocess.Popen(command, **popen_kwargs)


def stop_process(proc: subprocess.Popen[Any] | None, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """End ``proc``: SIGTERM, wait up to ``timeout_s`` seconds, then SIGKILL and reap it.

    ``None`` or an already finished process is reaped without a signal.
    """
    if proc is None:
        return
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout_s)
            return
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait()

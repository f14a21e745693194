"""Debian packages as offline data: fetched with ``apt-get download`` (no root needed) and
unpacked with ``dpkg -x`` under ``benchmarks/.cache/debs``, once.

Game music (``benchmarks/audio_data.py``) and desktop wallpaper photos
(``benchmarks/block_data.py``) come from such packages; nothing is installed on the system.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

DEB_CACHE = Path(__file__).resolve().parent / ".cache" / "debs"
"""Folder holding one unpacked tree per package."""


def unpacked_deb(package: str) -> Path:
    """The folder into which Debian's ``package`` is unpacked under ``DEB_CACHE``: fetched once
    with ``apt-get download`` (no root needed) and unpacked with ``dpkg -x``, then reused."""
    root = DEB_CACHE / package
    done = root / ".unpacked"
    if done.is_file():
        return root
    DEB_CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=DEB_CACHE) as tmp:
        fetched = subprocess.run(
            ["apt-get", "download", package], cwd=tmp, capture_output=True, text=True
        )
        debs = sorted(Path(tmp).glob("*.deb"))
        if fetched.returncode != 0 or not debs:
            why = (fetched.stderr.strip().splitlines() or ["no .deb written"])[-1]
            raise RuntimeError(f"apt-get download {package} failed: {why}")
        subprocess.run(["dpkg", "-x", str(debs[0]), str(root)], check=True, capture_output=True)
    done.touch()
    return root

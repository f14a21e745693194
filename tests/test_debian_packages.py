"""``benchmarks.debian_packages``: a package that cannot be fetched is named in one line."""

import pytest

from benchmarks import debian_packages


def test_a_package_apt_cannot_find_is_named_and_nothing_is_left_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(debian_packages, "DEB_CACHE", tmp_path)
    with pytest.raises(RuntimeError, match="apt-get download no-such-package-onglass failed: "):
        debian_packages.unpacked_deb("no-such-package-onglass")
    assert not (tmp_path / "no-such-package-onglass").exists()
    assert list(tmp_path.iterdir()) == []

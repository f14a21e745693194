"""The pytest plugin's outcome classes, options and usage errors, through real pytest runs."""

from __future__ import annotations

import subprocess
import sys


def run_pytest(folder, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_lab_problems_are_broken_and_product_problems_failed(tmp_path):
    (tmp_path / "test_outcomes.py").write_text(
        "from harness.errors import NoSignal\n"
        "from devices.transports import TransportError\n"
        "def test_no_signal():\n    raise NoSignal('no video from the capture within 10 s')\n"
        "def test_unreachable():\n    raise TransportError('adb 127.0.0.1:1: connection refused')\n"
        "def test_defect():\n    assert False, 'freeze at 8 s'\n"
        "def test_fine():\n    pass\n"
    )
    done = run_pytest(tmp_path, "-q")
    assert done.returncode == 1
    summary = done.stdout.strip().splitlines()[-1]
    assert "1 failed" in summary and "2 broken" in summary and "1 passed" in summary, done.stdout


def test_bad_sim_faults_is_a_usage_error(tmp_path):
    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n")
    done = run_pytest(tmp_path, "--sim-faults", "freez@8s+2s")
    assert done.returncode == 4
    assert "--sim-faults: fault 'freez@8s+2s': unknown kind 'freez'" in done.stderr


def test_bad_rig_file_is_a_usage_error(tmp_path):
    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n")
    (tmp_path / "rig.yaml").write_text("name: r\ndevice: 5\n")
    done = run_pytest(tmp_path, "--rig", "rig.yaml")
    assert done.returncode == 4
    assert "rig.yaml: device: expected a mapping" in done.stderr

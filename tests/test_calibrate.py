"""``onglass calibrate`` against the virtual device: measures, tunes, writes the rig file."""

from __future__ import annotations

import subprocess
import sys

import yaml

from harness.rig import default_rig_path, load_rig


def onglass(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=180
    )


def test_calibrate_writes_tuned_thresholds_into_the_rig(tmp_path):
    rig = tmp_path / "rig.yaml"
    rig.write_text(default_rig_path().read_text())
    done = onglass("calibrate", "--rig", str(rig), "--seconds", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "drift from the first frame" in done.stdout
    detectors = yaml.safe_load(rig.read_text())["detectors"]
    assert 0.001 <= detectors["freeze"]["noise"] <= 0.01
    assert 0.0005 <= detectors["stutter"]["repeat_noise"] <= 0.01
    assert rig.with_name("rig.yaml.bak").read_text() == default_rig_path().read_text()
    assert load_rig(rig).detectors["freeze"]["noise"] == detectors["freeze"]["noise"]


def test_calibrate_rejects_bad_input(tmp_path):
    done = onglass("calibrate", "--seconds", "0")
    assert done.returncode == 2 and "--seconds: must be > 0" in done.stderr
    (tmp_path / "rig.yaml").write_text("name: x\n")
    done = onglass("calibrate", "--rig", str(tmp_path / "rig.yaml"))
    assert done.returncode == 2 and "device: missing" in done.stderr


def test_thresholds_keep_every_detector_of_a_rig_without_a_detectors_section(tmp_path):
    from detectors.registry import DETECTORS
    from harness.calibrate import write_thresholds

    data = yaml.safe_load(default_rig_path().read_text())
    del data["detectors"]  # no section: the rig runs every detector
    rig = tmp_path / "rig.yaml"
    rig.write_text(yaml.safe_dump(data))
    write_thresholds(rig, {"freeze": {"noise": 0.004}})
    assert set(load_rig(rig).detectors) == set(DETECTORS)
    assert load_rig(rig).detectors["freeze"] == {"noise": 0.004}

"""Device leasing: lock files per device, and an xdist run over an inventory of two rigs.

The xdist run also holds tests whose lircd misbehaves: lab faults are *broken*, not failed.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from harness.lease import LeaseUnavailable, holder, lease_one, try_lease, worker_index
from harness.rig import default_rig_path


def test_a_leased_device_is_not_leased_twice(tmp_path):
    first = try_lease("stb-1", tmp_path, "worker A")
    assert first is not None
    assert try_lease("stb-1", tmp_path, "worker B") is None
    assert holder(tmp_path, "stb-1") == "worker A"
    second = lease_one(["stb-1", "stb-2"], tmp_path, timeout_s=1)
    assert second.name == "stb-2"
    start = time.monotonic()
    with pytest.raises(
        LeaseUnavailable, match=r"no free device within 0.6 s .*stb-1 held by worker A"
    ):
        lease_one(["stb-1", "stb-2"], tmp_path, timeout_s=0.6)
    assert time.monotonic() - start < 2
    first.release()
    assert lease_one(["stb-1", "stb-2"], tmp_path, timeout_s=1).name == "stb-1"
    assert worker_index("gw3") == 3 and worker_index("") == 0


def test_a_new_lease_dir_is_shared_by_every_user(tmp_path):
    old = os.umask(0o077)
    try:
        lease = try_lease("stb-1", tmp_path / "leases", "me")
    finally:
        os.umask(old)
    assert lease is not None
    assert stat.S_IMODE((tmp_path / "leases").stat().st_mode) == 0o1777
    assert stat.S_IMODE(lease.path.stat().st_mode) == 0o666
    lease.release()


def test_an_unusable_lease_dir_is_lease_unavailable_naming_it(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    bad = tmp_path / "file" / "leases"
    with pytest.raises(LeaseUnavailable, match=rf"^lease directory {bad}: cannot open stb-1.lock"):
        lease_one(["stb-1"], bad, timeout_s=0.1)


def test_a_crashed_holder_frees_its_device(tmp_path):
    holder_code = (
        "import sys, time; from pathlib import Path; from harness.lease import try_lease;"
        f"lease = try_lease('tv-9', Path({str(tmp_path)!r}), 'doomed'); print('held', flush=True);"
        "time.sleep(60)"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", holder_code], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout.readline().strip() == "held"
        assert try_lease("tv-9", tmp_path, "me") is None
    finally:
        process.kill()
        process.wait()
    assert try_lease("tv-9", tmp_path, "me") is not None


def test_two_rigs_naming_the_same_device_are_a_usage_error(tmp_path):
    base = yaml.safe_load(default_rig_path().read_text())
    rigs = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump({**base, "name": "same-box"}))
        rigs.append(str(path))
    (tmp_path / "test_lab.py").write_text("def test_needs_a_rig(rig):\n    pass\n")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--rigs", ",".join(rigs)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert f"--rigs: {rigs[0]} and {rigs[1]} both name device 'same-box'" in done.stdout


def test_xdist_workers_each_lease_their_own_virtual_rig(tmp_path):
    base = yaml.safe_load(default_rig_path().read_text())
    rigs = []
    for name in ("virtual-a", "virtual-b"):
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump({**base, "name": name}))
        rigs.append(str(path))
    log = tmp_path / "used.jsonl"
    (tmp_path / "test_lab.py").write_text(
        "import json, os, time\n"
        "import pytest\n"
        "@pytest.mark.parametrize('n', range(4))\n"
        "def test_uses_one_device(n, rig, dut):\n"
        "    state = dut.player_state()\n"
        "    time.sleep(0.5)\n"
        f"    with open({str(log)!r}, 'a') as f:\n"
        "        f.write(json.dumps({'worker': os.environ['PYTEST_XDIST_WORKER'],\n"
        "            'rig': rig.rig.name, 'adb': rig.endpoints.adb, 'lease': rig.lease.name,\n"
        "            'state': state.state}) + '\\n')\n"
    )
    (tmp_path / "test_faulty_lab.py").write_text(
        "import pytest\n"
        "from misbehaving import MisbehavingServer, make_transport\n"
        "@pytest.mark.parametrize('mode', ['drop', 'garbage', 'stall'])\n"
        "def test_lircd_goes_wrong_mid_sequence(mode):\n"
        "    server = MisbehavingServer('lirc', mode, good=1)\n"
        "    transport, press = make_transport('lirc', server.address, 0.5)\n"
        "    try:\n"
        "        press()\n"
        "        press()\n"
        "    finally:\n"
        "        server.close()\n"
    )
    here = Path(__file__).resolve()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(here.parent), str(here.parents[1])])}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "-n",
            "2",
            "--rigs",
            ",".join(rigs),
            "--lease-dir",
            str(tmp_path / "leases"),
            "--onglass-output",
            str(tmp_path / "out"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    # lab faults (a lircd that drops, garbles or stalls) are broken, never failed
    assert "4 passed" in summary and "3 broken" in summary, done.stdout[-3000:] + done.stderr
    assert "failed" not in summary and "error" not in summary, summary
    used = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(used) == 4
    by_worker = {}
    for entry in used:
        assert entry["rig"] == entry["lease"]
        by_worker.setdefault(entry["worker"], set()).add((entry["rig"], entry["adb"]))
    assert len(by_worker) == 2, by_worker
    devices = [next(iter(d)) for d in by_worker.values()]
    assert all(len(d) == 1 for d in by_worker.values()), "a worker keeps its one device"
    assert len({rig for rig, _ in devices}) == 2 and len({adb for _, adb in devices}) == 2
    assert {Path(p).stem for p in rigs} == {rig for rig, _ in devices}

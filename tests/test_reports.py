"""The Allure report and the release gate, on real pytest runs of the playback suite."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from reports.allure_report import ReportError, categories, load_known_issues
from reports.gate import GateError, load_policy

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "onglass-results" / "report-check"
POLICY = "blocking_tiers: [1]\nmax_product_defects: 0\nmax_broken: 1\n"


def run(*args: str, cwd: Path = REPO, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def onglass(*args: str) -> subprocess.CompletedProcess:
    return run(sys.executable, "-m", "harness.cli", *args)


def chromium(*args: str) -> subprocess.CompletedProcess:
    browser = shutil.which("chromium")
    assert browser, "Debian's chromium is not installed (scripts/bootstrap installs it)"
    with tempfile.TemporaryDirectory() as profile:
        return run(
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-quic", f"--user-data-dir={profile}", "--virtual-time-budget=20000",
            *args, timeout=120,
        )  # fmt: skip


def gate_on(
    tmp_path: Path, source: str, *pytest_args: str
) -> tuple[subprocess.CompletedProcess, dict]:
    """Run the test file ``source`` with Allure results, then the gate with POLICY on them."""
    (tmp_path / "test_scenario.py").write_text(source)
    results = tmp_path / "results"
    run(
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *pytest_args,
        "--alluredir", str(results), "test_scenario.py", cwd=tmp_path,
    )  # fmt: skip
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    summary = tmp_path / "gate.json"
    done = onglass(
        "gate", str(results), "--policy", str(policy), "--summary", str(summary),
        "--junit", str(tmp_path / "gate.xml"),
    )  # fmt: skip
    return done, json.loads(summary.read_text()) if summary.exists() else {}


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory):
    """Two playback scenarios; the fault is late enough that only the one that plays the
    title to its end meets it."""
    base = tmp_path_factory.mktemp("run")
    results = base / "allure-results"
    done = run(
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
        "test_suites/playback/test_vod.py::test_play_title_to_end",
        "test_suites/playback/test_vod.py::test_pause_and_resume",
        "--sim-faults", "black@25s+1s", "--alluredir", str(results),
        "--onglass-output", str(base / "out"),
    )  # fmt: skip
    assert done.returncode == 1, done.stdout[-3000:]
    assert "1 failed, 1 passed" in done.stdout.splitlines()[-1], done.stdout[-3000:]
    # one progress line per test: capture rate, detector lag, events so far
    assert re.search(
        r"onglass test_pause_and_resume: t=[\d.]+ s, capture [\d.]+ fps, "
        r"detector lag [\d.]+ s, events \d+",
        done.stdout,
    ), done.stdout[-3000:]
    return base, results


def test_report_shows_the_failing_test_with_its_evidence(faulty_run):
    base, results = faulty_run
    history = base / "history.jsonl"
    for attempt in (1, 2):  # history and trends carry over from one report to the next
        done = onglass(
            "report", str(results), "-o", str(base / "report"), "--history", str(history)
        )
        assert done.returncode == 0, done.stderr
        assert len(history.read_text().splitlines()) == attempt
    index = base / "report" / "index.html"
    assert index.exists() and not (base / "report" / "data").exists()  # a single file

    by_id = json.loads((base / "report" / "test-results.json").read_text())["byId"]
    failing = [t for t in by_id.values() if t["status"] == "failed"]
    assert [t["name"] for t in failing] == ["test_play_title_to_end"]
    url = f"{index.as_uri()}#/{failing[0]['id']}"

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "failing-test.png"
    for _ in range(2):  # on a loaded machine the page's first load once said "Failed to fetch"
        done = chromium("--window-size=1400,2400", f"--screenshot={shot}", url)
        if shot.exists() and shot.stat().st_size > 50_000:
            break
    assert shot.exists() and shot.stat().st_size > 50_000, done.stderr[-2000:]

    for _ in range(2):
        dom = chromium("--dump-dom", url).stdout
        if "Failed to fetch" not in dom:
            break
    for text in (
        "Product defect: black",  # the category of its detector
        "open title 'Big Buck Bunny'",  # scripted steps
        "press PLAY (adb KEYCODE_MEDIA_PLAY)",
        "wait for playback",
        "frames before / at / after",  # evidence
        ": clip",
        "timeline",
        "device log",
        "onglass virtual device",  # device label / environment
    ):
        assert text in dom, f"{text!r} not in the rendered report"


def test_gate_blocks_the_faulty_run(faulty_run, tmp_path):
    _, results = faulty_run
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    summary, junit = tmp_path / "gate.json", tmp_path / "gate.xml"
    done = onglass(
        "gate",
        str(results),
        "--policy",
        str(policy),
        "--summary",
        str(summary),
        "--junit",
        str(junit),
    )
    assert done.returncode == 1, done.stdout + done.stderr
    data = json.loads(summary.read_text())
    assert data["verdict"] == "block"
    assert any("test_play_title_to_end" in r and "black" in r for r in data["reasons"]), data
    assert "<failure" in junit.read_text()


def test_gate_passes_a_run_whose_lab_problems_pass_on_rerun(tmp_path):
    done, data = gate_on(
        tmp_path,
        "from pathlib import Path\n"
        "import pytest\n"
        "from harness.errors import NoSignal\n"
        "pytestmark = pytest.mark.tier(1)\n"
        "def test_capture_card_hiccup():\n"
        "    marker = Path(__file__).with_name('attempted')\n"
        "    if not marker.exists():\n"
        "        marker.write_text('1')\n"
        "        raise NoSignal('no video from the capture within 10 s')\n"
        "def test_fine():\n"
        "    pass\n",
        "--rerun-broken",
        "1",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert data["verdict"] == "pass"
    hiccup = "test_scenario#test_capture_card_hiccup"
    assert data["reruns"] == [{"test": hiccup, "attempts": ["broken", "passed"], "final": "passed"}]
    assert f"rerun: {hiccup}: broken -> passed" in done.stdout


def test_gate_blocks_when_too_many_tests_stay_broken(tmp_path):
    done, data = gate_on(
        tmp_path,
        "from harness.errors import NoSignal\n"
        "def test_a():\n    raise NoSignal('no video')\n"
        "def test_b():\n    raise NoSignal('no video')\n",
    )
    assert done.returncode == 1
    assert data["totals"] == {"broken": 2}
    assert data["reruns"][0]["attempts"] == ["broken", "broken"]
    assert any("still broken" in r for r in data["reasons"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("max_broken: -1\n", "max_broken: expected a whole number >= 0"),
        ("blocking_tiers: 1\n", "blocking_tiers: expected a list"),
        ("max_brokn: 1\n", "max_brokn: unknown setting"),
        ("[1, 2\n", "cannot read policy"),
    ],
)
def test_bad_policy_is_named(tmp_path, text, message):
    policy = tmp_path / "policy.yaml"
    policy.write_text(text)
    with pytest.raises(GateError, match=message):
        load_policy(policy)


def test_gate_on_an_empty_folder_exits_2(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY)
    done = onglass("gate", str(tmp_path), "--policy", str(policy))
    assert done.returncode == 2 and "no Allure results" in done.stderr


def test_known_issues_come_first_in_the_categories(tmp_path):
    known = tmp_path / "known.yaml"
    known.write_text(
        "- name: APP-123 black flash after seek\n  detector: black\n  scenario: seek\n"
    )
    rules = categories(load_known_issues(known))
    assert rules[0]["name"] == "Known issue: APP-123 black flash after seek"
    assert rules[0]["matchers"][0]["labels"] == {"defect": "^black$", "scenario": "seek"}
    names = [r["name"] for r in rules]
    assert names.index("Product defect: freeze") < names.index("Infrastructure: no signal")
    known.write_text("- name: no matcher\n")
    with pytest.raises(ReportError, match="needs at least one of"):
        load_known_issues(known)
    known.write_text("- name: bad\n  message: '('\n")
    with pytest.raises(ReportError, match="not a regular expression"):
        load_known_issues(known)


def test_gate_blocks_tests_broken_by_their_own_code(tmp_path):
    done, data = gate_on(tmp_path, "def test_typo():\n    raise TypeError('bad call')\n")
    assert done.returncode == 1
    assert data["tests"][0]["lab"] is False
    assert any("broken by their own code" in r for r in data["reasons"])

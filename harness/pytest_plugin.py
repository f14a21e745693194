"""The onglass pytest plugin (registered by the ``pytest11`` entry point).

Options: ``--rig PATH`` (default: the built-in virtual rig), ``--sim-faults SPEC`` (fault
schedule for the virtual device), ``--onglass-output DIR`` (recordings and per-test summaries),
``--keep-recordings`` (keep recordings of passing tests too), ``--rerun-broken N`` (rerun a
test broken by the lab up to N times, default 1).

Fixtures: ``rig`` (session: the running rig), ``dut`` (the device under test, sent HOME
before each test), ``monitor`` (a live monitor over a fresh capture for each test).

After a test body that used ``monitor`` returns, the monitor is finished and judged: an
infrastructure problem raises ``InfrastructureError`` (broken), unexpected detector events
raise ``DefectFound`` (an AssertionError: failed), one line per event. With allure-pytest
(``--alluredir``), every scripted action is a step, the test carries device labels, and
failures carry evidence (``harness.allure_evidence``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import allure
import pytest

from devices.device import Device, KeyPress
from devices.profiles.catalog import TRANSPORT_KINDS
from devices.simulator.faults import FaultSchedule, FaultSpecError
from devices.transports.base import TransportError
from harness.allure_evidence import attach_evidence
from harness.errors import DefectFound, InfrastructureError
from harness.lease import DEFAULT_LEASE_DIR, lease_one, worker_index
from harness.monitor import Monitor, MonitorReport
from harness.progress import ProgressLine
from harness.rig import RigError, load_rig
from harness.session import RigSession

BROKEN = ("onglass_outcome", "broken")
LAB_LABEL = ("onglass_outcome", "lab")
"""Allure label on tests broken by the lab, so the gate tells them from broken test code."""
LAB_PROBLEMS = (InfrastructureError, TransportError)


@dataclass
class _TestRun:
    """What the plugin keeps about one test that uses the monitor."""

    rig: RigSession
    monitor: Monitor
    folder: Path
    progress: ProgressLine
    presses: list[tuple[KeyPress, float]] = field(default_factory=list)
    report: MonitorReport | None = None


RUN_KEY = pytest.StashKey[_TestRun]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("onglass", "onglass eyes-on-glass testing")
    group.addoption("--rig", default=None, help="rig file (default: the built-in virtual device)")
    group.addoption(
        "--sim-faults",
        default=None,
        help="virtual device faults, kind@start+duration[:value],... e.g. 'freeze@8s+2s,black@15s+1s'",
    )
    group.addoption("--onglass-output", default=None, help="folder for recordings and summaries")
    group.addoption(
        "--keep-recordings", action="store_true", help="keep recordings of passing tests too"
    )
    group.addoption(
        "--rerun-broken",
        type=int,
        default=None,
        help="rerun a test broken by the lab (no signal, transport error) up to N times (default 1)",
    )
    group.addoption(
        "--transport",
        default=None,
        choices=TRANSPORT_KINDS,
        help="drive the virtual device over this transport instead of the rig's (keys only)",
    )
    group.addoption(
        "--rigs",
        default=None,
        help="device inventory: comma-separated rig files; each session (xdist worker) "
        "leases one with a lock file",
    )
    group.addoption(
        "--lease-dir",
        default=None,
        help=f"folder of device lock files (default: $ONGLASS_LEASE_DIR or {DEFAULT_LEASE_DIR})",
    )
    group.addoption(
        "--lease-timeout",
        type=float,
        default=600.0,
        help="seconds to wait for a free device of the inventory (default 600)",
    )
    parser.addini("onglass_rig", "default rig file", default=None)
    parser.addini("onglass_output", "default output folder", default="onglass-results")
    parser.addini("onglass_rerun_broken", "default for --rerun-broken", default="1")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "tier(n): release tier of a scenario (1 = must pass)")
    faults = config.getoption("--sim-faults")
    if faults:
        try:
            FaultSchedule.parse(faults)
        except FaultSpecError as error:
            raise pytest.UsageError(f"--sim-faults: {error}") from None
    rig_path = config.getoption("--rig") or config.getini("onglass_rig")
    if rig_path:
        try:
            load_rig(rig_path)
        except RigError as error:
            raise pytest.UsageError(f"--rig: {error}") from None


def _reruns(config: pytest.Config) -> int:
    value = config.getoption("--rerun-broken")
    return int(config.getini("onglass_rerun_broken")) if value is None else value


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Rerun lab-broken tests (pytest-rerunfailures' flaky marker, lab errors only)."""
    reruns = _reruns(config)
    if reruns <= 0 or not config.pluginmanager.hasplugin("rerunfailures"):
        return
    for item in items:
        if item.get_closest_marker("flaky") is None:
            item.add_marker(pytest.mark.flaky(reruns=reruns, only_rerun=list(LAB_PROBLEMS)))


def _output_dir(config: pytest.Config) -> Path:
    return Path(config.getoption("--onglass-output") or config.getini("onglass_output"))


@pytest.fixture(scope="session")
def rig(pytestconfig: pytest.Config) -> Iterator[RigSession]:
    """The rig for this session, started (virtual device) and connected."""
    inventory = pytestconfig.getoption("--rigs")
    paths = [p.strip() for p in inventory.split(",") if p.strip()] if inventory else []
    if not paths:
        paths = [pytestconfig.getoption("--rig") or pytestconfig.getini("onglass_rig") or None]
    option = "--rigs" if inventory else "--rig"
    rigs, files = {}, {}
    for path in paths:
        try:
            config = load_rig(path)
        except RigError as error:
            raise pytest.UsageError(f"{option}: {error}") from None
        device = config.device.lease or config.name
        if device in rigs:
            raise pytest.UsageError(
                f"--rigs: {files[device]} and {path} both name device {device!r} "
                "(give each rig its own device.lease or name)"
            )
        rigs[device], files[device] = config, path
    lease = None
    if inventory or any(config.simulator is None for config in rigs.values()):
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        lease_dir = Path(
            pytestconfig.getoption("--lease-dir")
            or os.environ.get("ONGLASS_LEASE_DIR", DEFAULT_LEASE_DIR)
        )
        timeout = pytestconfig.getoption("--lease-timeout")
        lease = lease_one(list(rigs), lease_dir, timeout, worker, worker_index(worker))
    rig_config = rigs[lease.name] if lease else next(iter(rigs.values()))
    faults = pytestconfig.getoption("--sim-faults")
    transport = pytestconfig.getoption("--transport")
    if (faults or transport) and rig_config.simulator is None:
        option = "--sim-faults" if faults else "--transport"
        raise pytest.UsageError(f"{option} only applies to a virtual rig")
    try:
        session = RigSession(rig_config, faults, transport)
        session.lease = lease
        try:
            yield session
        finally:
            session.close()
    finally:
        if lease is not None:
            lease.release()


@pytest.fixture
def dut(request: pytest.FixtureRequest, rig: RigSession) -> Device:
    """The device under test, on its home screen, its facts as Allure labels."""
    device = rig.device
    facts = rig.facts
    allure.dynamic.parent_suite(f"rig {rig.rig.name}")
    for name, value in (
        ("rig", rig.rig.name),
        ("device_model", facts.get("model") or rig.rig.device.model or "unknown"),
        ("firmware", facts.get("firmware", "")),
        ("app_version", facts.get("app_version", "")),
        ("scenario", request.node.name),
    ):
        if value:
            allure.dynamic.label(name, value)
    tier = request.node.get_closest_marker("tier")
    if tier is not None and tier.args:
        allure.dynamic.label("tier", str(tier.args[0]))
    device.step = allure.step
    device.press("HOME")
    time.sleep(device.interpress_delay_s)
    return device


def _test_dir(request: pytest.FixtureRequest) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid).strip("_")
    attempt = getattr(request.node, "execution_count", 1)  # pytest-rerunfailures' reruns
    return _output_dir(request.config) / (name if attempt <= 1 else f"{name}.attempt{attempt}")


@pytest.fixture
def monitor(request: pytest.FixtureRequest, rig: RigSession) -> Iterator[Monitor]:
    """A live monitor over a fresh capture of the rig, recording to the output folder."""
    folder = _test_dir(request)
    folder.mkdir(parents=True, exist_ok=True)
    capture = rig.new_capture(folder / "capture.ts")
    mon = Monitor(capture, rig.new_detectors(), rig.rig.monitor, step=allure.step)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture_manager = request.config.pluginmanager.get_plugin("capturemanager")

    def write(text: str) -> None:
        if reporter is None:
            return
        suspended = capture_manager.global_and_fixture_disabled() if capture_manager else None
        with suspended or contextlib.nullcontext():
            reporter.write(text, flush=True)

    progress = ProgressLine(
        mon, request.node.name, write=write, live=bool(reporter is not None and reporter.isatty)
    )
    run = _TestRun(rig, mon, folder, progress)
    request.node.stash[RUN_KEY] = run

    def log_press(press: KeyPress) -> None:
        t = mon.capture.clock.capture_time(press.sent_at)
        run.presses.append((press, t))
        with allure.step(f"press {press.key.value} ({press.transport} {press.code}) at {t:.2f} s"):
            pass

    rig.device.key_listeners.append(log_press)
    console_from = time.monotonic()
    mon.start()
    progress.start()
    try:
        mon.wait_for_signal()
        yield mon
    finally:
        rig.device.key_listeners.remove(log_press)
        if rig.console is not None:  # the debug console's lines for this test, as evidence
            lines = rig.console.lines_between(console_from)
            text = "".join(line.format() + "\n" for line in lines)
            (folder / "console.log").write_text(text)
            allure.attach(text, name="serial console", attachment_type=allure.attachment_type.TEXT)
        report = _finish(run)
        _write_summary(folder / "summary.json", report, run.presses)
        failed = getattr(request.node, "onglass_failed", True)
        if not failed and not request.config.getoption("--keep-recordings"):
            for path in (capture.recording, getattr(capture, "audio_recording", None)):
                if path is not None:
                    path.unlink(missing_ok=True)


def _finish(run: _TestRun) -> MonitorReport:
    if run.report is None:
        run.progress.stop()
        run.report = run.monitor.finish()
    return run.report


def _write_summary(
    path: Path, report: MonitorReport, presses: list[tuple[KeyPress, float]]
) -> None:
    summary = {
        "schema": "onglass.test-summary/1",
        "playback_start_s": report.playback_start,
        "events": [{**j.event.to_json(), "verdict": j.verdict.value} for j in report.events],
        "infrastructure": report.infrastructure,
        "capture_health": report.health,
        "key_presses": [
            {"key": p.key.value, "code": p.code, "transport": p.transport, "t_s": round(t, 3)}
            for p, t in presses
        ],
        "recording": report.recording,
    }
    path.write_text(json.dumps(summary, indent=2))


def _device_log(run: _TestRun) -> str | None:
    try:
        return run.rig.device.shell("logcat -d")
    except (TransportError, OSError):
        return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Judge the monitor once the test body has run, and attach the evidence."""
    __tracebackhide__ = True
    body_error: BaseException | None = None
    result = None
    try:
        result = yield
    except BaseException as error:  # the body failed: still finish and keep the evidence
        body_error = error
    if isinstance(body_error, LAB_PROBLEMS):
        allure.dynamic.label(*LAB_LABEL)
    run = item.stash.get(RUN_KEY, None)
    if run is not None:
        report = _finish(run)
        for detector in sorted({e.detector for e in report.defects}):
            allure.dynamic.label("defect", detector)
        failing = body_error is not None or report.defects or report.infrastructure
        log = _device_log(run) if failing else None
        attach_evidence(report, run.presses, run.monitor.detector_names, log)
        lab_error = isinstance(body_error, LAB_PROBLEMS)
        if report.infrastructure and not lab_error:
            # the lab failed meanwhile: whatever the body saw (no playback...) is not the product's
            allure.dynamic.label(*LAB_LABEL)
            raise InfrastructureError(report.infrastructure_message()) from body_error
        if body_error is None and report.defects:
            raise DefectFound(report.defect_message())
    if body_error is not None:
        raise body_error
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo
) -> Iterator[pytest.TestReport]:
    """Mark failures caused by the lab (InfrastructureError, TransportError) as broken."""
    report = yield
    if report.when == "call":
        item.onglass_failed = report.failed  # type: ignore[attr-defined]
    if report.failed and call.excinfo is not None and call.excinfo.errisinstance(LAB_PROBLEMS):
        report.user_properties.append(BROKEN)
    return report


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config):
    """Broken tests show as ``B`` / ``BROKEN`` and are counted apart from product failures."""
    if report.failed and BROKEN in report.user_properties:
        return "broken", "B", "BROKEN"
    return None

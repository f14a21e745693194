"""The onglass pytest plugin (registered by the ``pytest11`` entry point ``onglass``).

Options: ``--rig PATH`` (default: the built-in virtual rig), ``--sim-faults SPEC`` (fault
schedule for the virtual device), ``--onglass-output DIR`` (recordings and per-test summaries),
``--keep-recordings`` (keep recordings of passing tests too).

Fixtures: ``rig`` (session: the running rig), ``dut`` (the device under test, sent HOME
before each test), ``monitor`` (a live monitor over a fresh capture for each test).

After a test body that used ``monitor`` returns, the monitor is finished and judged: an
infrastructure problem raises ``InfrastructureError`` (Allure: broken), unexpected detector
events raise ``DefectFound`` (an AssertionError: failed), one line per event.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.device import Device, KeyPress
from devices.simulator.faults import FaultSchedule, FaultSpecError
from devices.transports.base import TransportError
from harness.errors import DefectFound, InfrastructureError
from harness.monitor import Monitor, MonitorReport
from harness.rig import RigError, load_rig
from harness.session import RigSession

MONITOR_KEY = pytest.StashKey[Monitor]()


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
    parser.addini("onglass_rig", "default rig file", default=None)
    parser.addini("onglass_output", "default output folder", default="onglass-results")


def pytest_configure(config: pytest.Config) -> None:
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


def _output_dir(config: pytest.Config) -> Path:
    return Path(config.getoption("--onglass-output") or config.getini("onglass_output"))


@pytest.fixture(scope="session")
def rig(pytestconfig: pytest.Config) -> Iterator[RigSession]:
    """The rig for this session, started (virtual device) and connected."""
    rig_config = load_rig(
        pytestconfig.getoption("--rig") or pytestconfig.getini("onglass_rig") or None
    )
    faults = pytestconfig.getoption("--sim-faults")
    if faults and rig_config.simulator is None:
        raise pytest.UsageError("--sim-faults only applies to a virtual rig")
    session = RigSession(rig_config, faults)
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def dut(rig: RigSession) -> Iterator[Device]:
    """The device under test, on its home screen."""
    device = rig.device
    device.presses.clear()
    device.press("HOME")
    time.sleep(device.interpress_delay_s)
    yield device
    device.key_listeners.clear()


def _test_dir(request: pytest.FixtureRequest) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid).strip("_")
    return _output_dir(request.config) / name


@pytest.fixture
def monitor(request: pytest.FixtureRequest, rig: RigSession) -> Iterator[Monitor]:
    """A live monitor over a fresh capture of the rig, recording to the output folder."""
    folder = _test_dir(request)
    folder.mkdir(parents=True, exist_ok=True)
    capture = rig.new_capture(folder / "capture.ts")
    mon = Monitor(capture, rig.new_detectors(), rig.rig.monitor)
    mon.start()
    request.node.stash[MONITOR_KEY] = mon
    presses: list[tuple[KeyPress, float]] = []
    rig.device.key_listeners.append(
        lambda p: presses.append((p, mon.capture.clock.capture_time(p.sent_at)))
    )
    try:
        mon.wait_for_signal()
        yield mon
    finally:
        report = mon.finish()
        _write_summary(folder / "summary.json", report, presses)
        failed = getattr(request.node, "onglass_failed", True)
        if not failed and not request.config.getoption("--keep-recordings") and capture.recording:
            capture.recording.unlink(missing_ok=True)


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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Judge the monitor once the test body has run."""
    try:
        result = yield
    finally:
        mon = item.stash.get(MONITOR_KEY, None)
    if mon is not None:
        report = mon.finish()
        if report.infrastructure:
            raise InfrastructureError(report.infrastructure_message())
        if report.defects:
            raise DefectFound(report.defect_message())
    return result


BROKEN = ("onglass_outcome", "broken")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo
) -> Iterator[pytest.TestReport]:
    """Mark failures caused by the lab (InfrastructureError, TransportError) as broken."""
    report = yield
    if report.when == "call":
        item.onglass_failed = report.failed  # type: ignore[attr-defined]
    infrastructure = (InfrastructureError, TransportError)
    if report.failed and call.excinfo is not None and call.excinfo.errisinstance(infrastructure):
        report.user_properties.append(BROKEN)
    return report


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config):
    """Broken tests show as ``B`` / ``BROKEN`` and are counted apart from product failures."""
    if report.failed and BROKEN in report.user_properties:
        return "broken", "B", "BROKEN"
    return None

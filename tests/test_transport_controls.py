"""The virtual device's control simulators as a set: start, stop, and cleanup after a failure."""

from __future__ import annotations

import socket
import threading

import pytest

from devices.simulator.cec_sim import CecBus
from devices.simulator.controls import ControlEndpoints
from devices.simulator.itach_sim import ItachSimulator
from devices.simulator.roku_sim import RokuSimulator
from devices.simulator.serial_sim import LgSerialSim


class NoLogApp:
    """An app the console simulator cannot serve (no ``log_lines``): its build fails."""

    def press(self, action: str) -> None:
        pass


def refused(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_a_simulator_that_fails_to_start_stops_the_ones_already_running():
    controls = ControlEndpoints(NoLogApp())
    with pytest.raises(AttributeError, match="log_lines"):
        controls.start()
    assert controls.endpoints["itach"] and controls.endpoints["cec"]  # these had started
    assert refused(controls.endpoints["itach"]) and refused(controls.endpoints["roku_ecp"])
    assert refused(controls.endpoints["cec"])


@pytest.mark.parametrize(
    "make",
    [
        lambda: RokuSimulator(NoLogApp()),
        lambda: ItachSimulator(lambda key: None),
        lambda: CecBus(lambda key: None),
        lambda: LgSerialSim(lambda key: None),
    ],
)
def test_stop_before_start_returns_at_once(make):
    sim = make()
    stopper = threading.Thread(target=sim.stop, daemon=True)
    stopper.start()
    stopper.join(timeout=5)
    assert not stopper.is_alive(), "stop() before start() hung"

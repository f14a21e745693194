"""The virtual device's control endpoints besides ADB: IR, serial, Roku ECP and CEC.

Each simulator speaks its real wire protocol and hands the keys it decodes to the same app,
so a key on any transport moves the UI. ``endpoints`` maps transport kinds to addresses:
``lirc`` (lircd's socket), ``itach`` and ``roku_ecp`` and ``cec`` (``host:port``),
``serial_lg``, ``serial_samsung`` and ``console`` (``/dev/pts/N``). A simulator that cannot
start here (no ``lircd`` installed) is left out and named in ``unavailable``.
"""

from __future__ import annotations

import contextlib

from devices.keys import Key
from devices.simulator.cec_sim import CecBus
from devices.simulator.itach_sim import ItachSimulator
from devices.simulator.lirc_sim import LircdNotAvailable, LircSimulator
from devices.simulator.roku_sim import RokuSimulator
from devices.simulator.serial_sim import ConsoleSim, LgSerialSim, SamsungSerialSim


class ControlEndpoints:
    """Starts and stops every control simulator for one ``VirtualApp``."""

    def __init__(self, app) -> None:
        self.app = app
        self.endpoints: dict[str, str] = {}
        self.unavailable: dict[str, str] = {}
        self._running: list = []

    def _press(self, key: Key) -> None:
        self.app.press(key.value)

    def start(self) -> None:
        sims = {
            "itach": ItachSimulator(self._press),
            "roku_ecp": RokuSimulator(self.app),
            "cec": CecBus(self._press),
            "serial_lg": LgSerialSim(self._press),
            "serial_samsung": SamsungSerialSim(self._press),
            "console": ConsoleSim(self.app),
        }
        lirc = LircSimulator(self._press)
        try:
            lirc.start()
            self._running.append(lirc)
            self.endpoints["lirc"] = lirc.address
        except LircdNotAvailable as error:
            self.unavailable["lirc"] = str(error)
        for kind, sim in sims.items():
            sim.start()
            self._running.append(sim)
            self.endpoints[kind] = sim.path if hasattr(sim, "path") else sim.address

    def stop(self) -> None:
        for sim in reversed(self._running):
            with contextlib.suppress(Exception):
                sim.stop()
        self._running.clear()

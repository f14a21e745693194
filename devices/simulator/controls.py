"""The virtual device's control endpoints besides ADB: IR, serial, Roku ECP and CEC.

Each simulator speaks its real wire protocol and hands the keys it decodes to the same app,
so a key on any transport moves the UI. ``endpoints`` maps transport kinds to addresses:
``lirc`` (lircd's socket), ``itach`` and ``roku_ecp`` and ``cec`` (``host:port``),
``serial_lg``, ``serial_samsung`` and ``console`` (``/dev/pts/N``). A simulator that cannot
start here (no ``lircd`` installed) is left out and named in ``unavailable``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, Protocol

from devices.keys import Key
from devices.simulator.cec_sim import CecBus
from devices.simulator.itach_sim import ItachSimulator
from devices.simulator.lirc_sim import LircdNotAvailable, LircSimulator
from devices.simulator.roku_sim import RokuSimulator
from devices.simulator.serial_sim import ConsoleSim, LgSerialSim, SamsungSerialSim


class _Simulator(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


class ControlEndpoints:
    """Starts and stops every control simulator for one ``VirtualApp``.

    ``app`` is the virtual device's ``VirtualApp`` (``press``, ``launch``, ``media_session``,
    ``log_lines``). Simulators are built and started one at a time; if one fails, the ones
    already running are stopped before the error propagates (no leaked sockets or ptys).
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.endpoints: dict[str, str] = {}
        self.unavailable: dict[str, str] = {}
        """Transport kind -> why its simulator could not start here (e.g. no lircd)."""
        self._running: list[_Simulator] = []

    def _press(self, key: Key) -> None:
        self.app.press(key.value)

    def start(self) -> None:
        """Start every simulator; on any failure stop those started and re-raise."""
        builders: dict[str, Callable[[], Any]] = {
            "itach": lambda: ItachSimulator(self._press),
            "roku_ecp": lambda: RokuSimulator(self.app),
            "cec": lambda: CecBus(self._press),
            "serial_lg": lambda: LgSerialSim(self._press),
            "serial_samsung": lambda: SamsungSerialSim(self._press),
            "console": lambda: ConsoleSim(self.app),
        }
        try:
            lirc = LircSimulator(self._press)
            try:
                lirc.start()
                self._running.append(lirc)
                self.endpoints["lirc"] = lirc.address
            except LircdNotAvailable as error:
                self.unavailable["lirc"] = str(error)
            for kind, build in builders.items():
                sim = build()
                try:
                    sim.start()
                except BaseException:
                    with contextlib.suppress(Exception):
                        sim.stop()
                    raise
                self._running.append(sim)
                self.endpoints[kind] = sim.path if hasattr(sim, "path") else sim.address
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every running simulator, last started first."""
        for sim in reversed(self._running):
            with contextlib.suppress(Exception):
                sim.stop()
        self._running.clear()

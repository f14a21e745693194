"""What every control transport provides."""

from __future__ import annotations

from typing import Protocol


class TransportError(Exception):
    """The device could not be reached or answered badly: an infrastructure problem.

    The message names the transport, the address and what was expected.
    """


class Transport(Protocol):
    """A connection to one device that can send key codes.

    ``send_key`` takes the transport's own code for a key (for ADB a ``KEYCODE_*`` name);
    the device profile maps onglass's ``Key`` names to those codes. Every call has a timeout
    and raises ``TransportError`` on failure.
    """

    kind: str

    def connect(self) -> None: ...

    def send_key(self, code: str) -> None: ...

    def close(self) -> None: ...

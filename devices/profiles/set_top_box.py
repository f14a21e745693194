"""A generic set-top box: keys over IR (LIRC or iTach), logs from its debug UART console.

The IR codes are the ``onglass-stb`` remote (NEC); a lab's own box uses its own remote name
in ``lircd.conf`` (rig: ``device.transport.remote``) with LIRC's standard key names.
"""

from __future__ import annotations

from devices.profiles.ir_codes import STB_REMOTE

REMOTE = STB_REMOTE

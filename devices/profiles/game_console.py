"""A game console: HDMI-CEC user-control keys from the TV's side, or IR where it has a receiver.

Retail consoles have no LAN control API; CEC (``44`` User Control Pressed) moves their media
apps, and Xbox One also accepts IR (**inferred**). The IR codes are the ``onglass-stb`` remote.
"""

from __future__ import annotations

from devices.profiles.ir_codes import STB_REMOTE

REMOTE = STB_REMOTE

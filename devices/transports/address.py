"""``host[:port]`` addresses of network transports: the one parser every transport uses.

Accepted: ``host``, ``host:port``, ``1.2.3.4:port``, ``[v6addr]`` and ``[v6addr]:port``
(IPv6 in brackets, as in URLs; the brackets are removed from the host). A bare IPv6 address
without brackets is refused because its last group would read as a port.
"""

from __future__ import annotations


def parse_host_port(address: str, default_port: int, kind: str) -> tuple[str, int]:
    """``address`` -> (host, port), ``default_port`` when none is given.

    ValueError naming ``kind`` (the transport) and the address when it is malformed.
    """
    text = address.strip()
    if not text:
        raise ValueError(f"{kind} address is empty (expected 'host:port')")
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"{kind} address {address!r}: bad IPv6 form (expected '[addr]:port')")
        port_text = rest[1:] if rest else None
    elif text.count(":") > 1:
        raise ValueError(f"{kind} address {address!r}: put IPv6 addresses in brackets")
    else:
        host, sep, port_text = text.partition(":")
        port_text = port_text if sep else None
    if not host:
        raise ValueError(f"{kind} address {address!r}: host is missing")
    if port_text is None:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{kind} address {address!r}: port must be a number 1-65535")
    return host, int(port_text)


def format_host_port(host: str, port: int) -> str:
    """(host, port) -> ``host:port``, IPv6 hosts in brackets (what ``parse_host_port`` reads)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

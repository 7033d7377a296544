"""Is an OTLP endpoint open to the network without a token? One answer for the CLI's warning and the UI's notice.

Anyone who can reach such a port can send traces (and fill the spool); a loopback address reaches only this machine.
"""

from __future__ import annotations

import ipaddress


def exposure_warning(host: str, token: str | None) -> str | None:
    """The warning to show when listening on `host` without a token exposes the endpoint, else None."""
    if token or is_loopback(host):
        return None
    return f"listening on {host} without a token: anyone who can reach this port can send traces (set --token or ORCHTUI_TOKEN)"


def is_loopback(host: str) -> bool:
    """`localhost`, 127.0.0.0/8, ::1 (with or without brackets); a name that may resolve elsewhere is not."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False

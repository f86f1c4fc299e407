"""A taken port is said in one line that names KURA_PORT, before anything else starts.

uvicorn would find out only after the app has started, log `[Errno 98] error while attempting to bind
…` between its start-up lines and exit 3; a newcomer whose first `kura-api` still runs in another
terminal deserves to be told what to do instead.
"""

from __future__ import annotations

import errno
import socket


def busy_port_message(host: str, port: int) -> str | None:
    """The message when something already listens on host:port, else None.

    Binds as uvicorn will (SO_REUSEADDR, each address the host resolves to) and lets go at once. Any
    other bind problem is left to uvicorn, which reports it as before."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError:
        return None
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    other = port + 1 if port < 65535 else 8000
                    return (f"port {port} on {host} is already in use (is another kura-api running?): stop it, "
                            f"or pick another port with KURA_PORT, e.g. KURA_PORT={other} kura-api")
    return None

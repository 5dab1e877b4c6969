"""The one TCP connection a device driver keeps (the CAS and Massa-K scales): opened when first needed,
with no delay on small writes and ``timeout`` on every operation, and kept until :meth:`close`.
"""

from __future__ import annotations

import socket
from typing import Self


class TcpDriver:
    """A driver's host, port, timeout (seconds) and its connection to them."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._sock: socket.socket | None = None

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _connect(self) -> socket.socket:
        """The connection, opened now if there is none; fails as :func:`socket.create_connection` does
        (TimeoutError, OSError), for the driver to say so in its own words."""
        if self._sock is None:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sock = sock
        return self._sock

"""Talking to a network ESC/POS printer (raw TCP, port 9100): asking its status and sending it a job.

The status is read with the real-time request DLE EOT n, which a printer answers with one byte even while
it cannot print (Epson's ESC/POS reference; python-escpos's ``query_status`` sends the same bytes):
n = 1 printer (bit 3: off line), n = 2 off-line cause (bit 2: cover open; bit 5: stopped at paper end),
n = 4 roll paper sensor (bits 2-3: near end; bits 5-6: paper end). Every answer has bits 1 and 4 set
and bit 0 and 7 clear, which tells a status byte from noise.

A job ends with one more DLE EOT 1 whose answer is awaited: the printer handles its input in order, so
the answer proves it has taken in the whole job before the connection is closed.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

DEFAULT_PORT = 9100
DLE_EOT = b"\x10\x04"
STATUS_PRINTER = 1
STATUS_OFFLINE_CAUSE = 2
STATUS_ERROR_CAUSE = 3
STATUS_PAPER = 4

_FIXED_BITS = 0x12
_FIXED_MASK = 0x93

OFFLINE = 0x08
COVER_OPEN = 0x04
STOPPED_AT_PAPER_END = 0x20
PAPER_NEAR_END = 0x0C
PAPER_END = 0x60


class PrinterUnreachable(Exception):
    """No connection, or the printer did not answer as a printer does."""


@dataclass(frozen=True)
class PrinterStatus:
    online: bool
    paper_out: bool
    cover_open: bool
    paper_near_end: bool


def parse_address(address: str) -> tuple[str, int]:
    """``"10.0.0.5:9100"``, ``"printer.local"`` (port 9100) or ``"[::1]:9100"`` → (host, port)."""
    text = address.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not host:
        raise ValueError(f"{address!r} names no printer host")
    try:
        port = int(port_text) if port_text else DEFAULT_PORT
    except ValueError:
        raise ValueError(f"{address!r}: the port must be a number") from None
    if not 0 < port < 65536:
        raise ValueError(f"{address!r}: the port must be between 1 and 65535")
    return host, port


class NetworkPrinter:
    """A receipt printer at ``host:port``; each call opens its own connection."""

    def __init__(self, host: str, port: int = DEFAULT_PORT, *, timeout: float = 3.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout

    @classmethod
    def at(cls, address: str, *, timeout: float = 3.0) -> NetworkPrinter:
        host, port = parse_address(address)
        return cls(host, port, timeout=timeout)

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def status(self) -> PrinterStatus:
        with self._connect() as conn:
            conn.sendall(b"".join(DLE_EOT + bytes([n]) for n in (1, 2, 4)))
            printer, cause, paper = _read_status(conn, 3)
        return PrinterStatus(
            online=not printer & OFFLINE,
            paper_out=bool(paper & PAPER_END == PAPER_END or cause & STOPPED_AT_PAPER_END),
            cover_open=bool(cause & COVER_OPEN),
            paper_near_end=paper & PAPER_NEAR_END == PAPER_NEAR_END,
        )

    def send(self, job: bytes) -> None:
        with self._connect() as conn:
            conn.sendall(job + DLE_EOT + bytes([STATUS_PRINTER]))
            _read_status(conn, 1)

    def _connect(self) -> socket.socket:
        try:
            return socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise PrinterUnreachable(f"no connection to the printer at {self.address}: {exc}") from None


def _read_status(conn: socket.socket, count: int) -> bytes:
    answer = b""
    try:
        while len(answer) < count:
            chunk = conn.recv(count - len(answer))
            if not chunk:
                break
            answer += chunk
    except OSError as exc:
        raise PrinterUnreachable(f"the printer did not answer its status: {exc}") from None
    if len(answer) < count or any(byte & _FIXED_MASK != _FIXED_BITS for byte in answer):
        raise PrinterUnreachable(f"the printer answered {answer.hex(' ') or 'nothing'} to a status request")
    return answer

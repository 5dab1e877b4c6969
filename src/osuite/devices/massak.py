"""A Massa-K checkout scale over TCP ("Протокол 100"): the :class:`~osuite.devices.scale.WeightScale`
driver the POS weighs with.

Each :meth:`MassaKScale.weight` sends CMD_GET_MASSA and reads one answer frame. The connection is kept
between readings (a POS asks several times a second while goods settle) and opened again once when
the scale dropped it; asking for the weight twice is harmless, so that retry can never do harm.
"""

from __future__ import annotations

import socket
from decimal import ROUND_HALF_UP, Decimal

from osuite.devices import massak_codec as codec
from osuite.devices.scale import ScaleError, ScaleErrorCode
from osuite.devices.tcp_driver import TcpDriver

DEFAULT_PORT = 5001
_KG = Decimal("0.001")


class MassaKScale(TcpDriver):
    """``MassaKScale("192.168.1.50", 5001)``: the scale's address and TCP port (5001 out of the box)."""

    def __init__(self, host: str, port: int = DEFAULT_PORT, timeout: float = 1.0) -> None:
        super().__init__(host, port, timeout)

    def weight(self) -> Decimal:
        massa = self.read()
        if not massa.stable:
            raise ScaleError(ScaleErrorCode.UNSTABLE, "вес ещё не успокоился")
        kg = (massa.weight_grams / 1000).quantize(_KG, rounding=ROUND_HALF_UP)
        if kg <= 0:
            raise ScaleError(ScaleErrorCode.EMPTY, "на весах ничего нет")
        return kg

    def read(self) -> codec.Massa:
        """The scale's whole answer (weight, flags, tare), for diagnostics; raises :class:`ScaleError`
        when there is none, and OVERLOAD when the scale says so."""
        answer = self._exchange(codec.encode(codec.get_massa()))
        if answer.command == codec.Command.ACK_MASSA:
            try:
                return codec.parse_massa(answer)
            except codec.FrameError as exc:
                raise self._garbled(str(exc)) from None
        if answer.command == codec.Command.ERROR:
            try:
                code = codec.error_code(answer)
            except codec.FrameError as exc:
                raise self._garbled(str(exc)) from None
            if code == codec.ErrorCode.OVERLOAD:
                raise ScaleError(ScaleErrorCode.OVERLOAD, "перегрузка: снимите лишнее с весов")
            raise ScaleError(ScaleErrorCode.UNREACHABLE, f"весы: {codec.error_text(code)}")
        if answer.command == codec.Command.NACK:
            raise ScaleError(ScaleErrorCode.UNREACHABLE, "весы не поняли запрос веса (ответили NACK)")
        raise self._garbled(f"unexpected command {answer.command:#04x}")

    def _exchange(self, request: bytes) -> codec.Frame:
        for attempt in (1, 2):
            reused = self._sock is not None
            try:
                sock = self._connect()
                sock.sendall(request)
                return codec.decode(_read_frame(sock))
            except codec.FrameError as exc:
                self.close()
                raise self._garbled(str(exc)) from None
            except _Closed:
                self.close()
                if attempt == 1 and reused:
                    continue  # the scale dropped an idle connection: ask again on a new one
                raise self._unreachable("закрыли соединение, не ответив") from None
            except TimeoutError:
                self.close()
                raise self._unreachable(f"не ответили за {self.timeout:g} с") from None
            except OSError as exc:
                self.close()
                if attempt == 1 and reused:
                    continue
                raise self._unreachable(exc.strerror or str(exc)) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _unreachable(self, why: str) -> ScaleError:
        return ScaleError(ScaleErrorCode.UNREACHABLE, f"весы {self.host}:{self.port} {why}")

    def _garbled(self, why: str) -> ScaleError:
        return ScaleError(
            ScaleErrorCode.UNREACHABLE, f"весы {self.host}:{self.port} ответили невнятно: {why}"
        )


class _Closed(Exception):
    """The peer closed the connection in the middle of a frame."""


def _read_frame(sock: socket.socket) -> bytes:
    prefix = _read_exactly(sock, 5)
    length = codec.body_length(prefix)
    return prefix + _read_exactly(sock, codec.frame_size(length) - len(prefix))


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise _Closed
        chunks += chunk
    return bytes(chunks)

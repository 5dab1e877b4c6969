"""A CAS CL-series label scale over TCP (port 20304): the :class:`~osuite.devices.labelscale.LabelScale`
driver the scale server programs CL5000J / CL3000 / CL5200J scales (and CL5200/CL5500 with the CL5000J
protocol) with. Frames and records are :mod:`osuite.devices.cas_codec`'s.

One connection is kept per driver and opened again when the scale dropped it. The protocol has one PLU
per frame and an answer per frame, always in order, so the driver sends frames ahead of their answers —
up to ``window_bytes`` unanswered (0: one frame at a time) — and matches each answer to its frame by the
number it carries; TCP keeps the scale from being sent more than it can take in. Writing a PLU twice is
harmless, so a call that failed half way may simply be made again.

A PLU the scale cannot take as it is (a number, price, tare, shelf life or label format outside its field
table, an item code longer than the barcode's item digits) is refused here, in its :class:`PluResult`,
and not sent. A scale that accepts the connection but answers nothing in ``timeout`` seconds is taken as
busy (in its menu, or printing): the protocol has no "busy" answer. A driver is for one thread at a time.

Speed keys go to the scale's key set 1, whole (:meth:`CasScale.set_hotkeys`). The set is read first: the
scale takes a set only with its own keyboard type, which it gives in that answer, and a set that already
holds the keys is not written again, so an upload does not rewrite the scale's flash for nothing. A set
has 144 keys: a PLU on a key beyond them is written, and its result says the key was not set. A scale
whose firmware does not know speed keys (it answers 95) is left alone when no key is wanted.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Final

from osuite.core.barcodes import BarcodeTemplate
from osuite.devices import cas_codec as codec
from osuite.devices.labelscale import (
    Capability,
    LabelScaleError,
    Plu,
    PluResult,
    ScaleErrorCode,
    ScaleStatus,
)
from osuite.devices.tcp_driver import TcpDriver

DEFAULT_PORT: Final = codec.DEFAULT_PORT
BARCODE_NUMBER: Final = 1  # the barcode format set_barcode writes and every PLU prints with
KEY_SET: Final = 1  # the key set set_hotkeys writes
_KEYS: Final = range(1, codec.KEYS_PER_SET + 1)
_HEADER: Final = codec.HEADER.size
_REFUSED: Final = ord("N")
_RECEIVE: Final = int(codec.ErrorCode.RECEIVE)
_COMMA_BYTE: Final = ord(",")


class _Closed(Exception):
    """The scale closed the connection before answering everything."""


class _Broken(Exception):
    """The scale answered that a frame reached it broken (N 84)."""

    def __init__(self, index: int, answer: codec.Answer) -> None:
        super().__init__(index)
        self.index = index
        self.answer = answer


class CasScale(TcpDriver):
    """``CasScale("192.168.1.60")``: the scale's address, its TCP port (20304 out of the box) and its
    scale number (put in each frame's address; the scale itself does not check it)."""

    capabilities: frozenset[Capability] = frozenset(
        {
            Capability.PLU_WRITE,
            Capability.PLU_DELETE,
            Capability.CLEAR,
            Capability.MESSAGES,
            Capability.BARCODE_FORMAT,
            Capability.HOTKEYS,
            Capability.STATUS,
        }
    )

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        *,
        timeout: float = 3.0,
        scale_number: int = 1,
        department: int = 1,
        window_bytes: int = 16_384,
    ) -> None:
        super().__init__(host, port, timeout)
        self.scale_number = scale_number
        self.department = department
        self.window_bytes = window_bytes
        self.template: BarcodeTemplate | None = None  # the barcode format this driver last set

    # --- LabelScale -----------------------------------------------------------------------------

    def write(self, plus: Sequence[Plu]) -> list[PluResult]:
        results: list[PluResult | None] = [None] * len(plus)
        frames: list[bytes] = []
        sent: list[tuple[int, int, str]] = []  # index in plus, the answer's number, a note
        address, department = self.scale_number, self.department
        item_limit = 10**self.template.item_length if self.template is not None else None
        for index, plu in enumerate(plus):
            try:
                frame, note = codec.plu_frame(
                    plu, address=address, department=department, barcode=BARCODE_NUMBER
                )
                if item_limit is not None and plu.item_code >= item_limit:
                    raise codec.RecordError(self._item_too_long(plu.item_code))
            except codec.RecordError as exc:
                results[index] = PluResult(plu.number, False, f"не отправлен: {exc}")
                continue
            if plu.hotkey is not None and plu.hotkey not in _KEYS:
                unset = f"клавиша {plu.hotkey} не назначена: у весов CAS клавиши 1…{codec.KEYS_PER_SET}"
                note = f"{note}; {unset}" if note else unset
            frames.append(frame)
            sent.append((index, department * 1_000_000 + plu.number, note))
        for (index, key, note), answer in zip(sent, self._answers(frames, sent), strict=True):
            if answer.number != key or answer.data_type != codec.PLU:
                self._mismatch(answer, codec.PLU, key)
            if answer.ok:
                results[index] = PluResult(plus[index].number, True, note)
            else:
                results[index] = PluResult(plus[index].number, False, self._refusal(answer))
        return [result for result in results if result is not None]

    def delete(self, numbers: Sequence[int]) -> list[PluResult]:
        results: list[PluResult | None] = [None] * len(numbers)
        frames: list[bytes] = []
        sent: list[tuple[int, int, str]] = []
        for index, number in enumerate(numbers):
            if not 1 <= number <= codec.MAX_PLU_NUMBER:
                text = f"не отправлен: номер PLU {number} вне 1…{codec.MAX_PLU_NUMBER}"
                results[index] = PluResult(number, False, text)
                continue
            frames.append(codec.delete_plu(self.scale_number, self.department, number))
            sent.append((index, codec.plu_key(self.department, number), ""))
        for (index, key, _note), answer in zip(sent, self._answers(frames, sent), strict=True):
            number = numbers[index]
            self._check(answer, codec.PLU, key)
            if answer.ok:
                results[index] = PluResult(number, True)
            elif codec.error_code(answer.code) == codec.ErrorCode.DATA_NON:
                results[index] = PluResult(number, True, "его и так не было на весах")
            else:
                results[index] = PluResult(number, False, self._refusal(answer))
        return [result for result in results if result is not None]

    def clear(self) -> None:
        (answer,) = self._answers([codec.delete_all(self.scale_number)], [(0, 0, "")])
        self._check(answer, codec.PLU, 0)
        if not answer.ok:
            raise LabelScaleError(
                ScaleErrorCode.REFUSED, self._where(f"не стёрли PLU: {self._refusal(answer)}")
            )

    def set_barcode(self, template: BarcodeTemplate) -> None:
        try:
            text = codec.barcode_format(template)
            record = codec.BarcodeRecord(BARCODE_NUMBER, codec.BARCODE_EAN13, text)
            frame = codec.write_barcode(self.scale_number, record)
        except codec.RecordError as exc:
            raise LabelScaleError(
                ScaleErrorCode.UNSUPPORTED, f"весы CAS не напечатают этот штрихкод: {exc}"
            ) from None
        (answer,) = self._answers([frame], [(0, BARCODE_NUMBER, "")])
        self._check(answer, codec.BARCODE, BARCODE_NUMBER)
        if not answer.ok:
            raise LabelScaleError(
                ScaleErrorCode.REFUSED,
                self._where(f"не приняли формат штрихкода {text}: {self._refusal(answer)}"),
            )
        self.template = template

    def set_hotkeys(self, keys: Mapping[int, int]) -> None:
        try:
            wanted = codec.keys_of({key: number for key, number in keys.items() if key in _KEYS})
        except codec.RecordError as exc:
            raise self._error(ScaleErrorCode.UNSUPPORTED, f"не назначили быстрые клавиши: {exc}") from None
        held = self._key_set()
        if held is None:
            if any(wanted):
                raise self._error(
                    ScaleErrorCode.UNSUPPORTED, "не знают быстрых клавиш (тип данных K): клавиши не назначены"
                )
            return
        if held.plus == wanted:
            return
        number = codec.keys_number(KEY_SET, held.keyboard)
        frame = codec.write_keys(self.scale_number, codec.KeyTable(KEY_SET, held.keyboard, wanted))
        (answer,) = self._answers([frame], [(0, number, "")])
        self._check(answer, codec.SPEED_KEYS, number)
        if not answer.ok:
            raise self._error(ScaleErrorCode.REFUSED, f"не приняли быстрые клавиши: {self._refusal(answer)}")

    def status(self) -> ScaleStatus:
        """What the scale reports, or why it does not: unreachable and busy are answers here, not
        errors, since asking is how the scale server finds them out."""
        try:
            (raw,) = self._exchange([codec.read_status(self.scale_number)], stop_on_broken=False)
            frame = codec.decode(raw)
            if frame.command == codec.NOT_GOOD:
                answer = codec.parse_answer(frame)
                return ScaleStatus(online=True, message=f"весы не дали состояние: {self._refusal(answer)}")
            state = codec.parse_status(frame)
        except codec.FrameError as exc:
            self.close()
            return ScaleStatus(online=True, message=self._where(f"ответили невнятно: {exc}"))
        except LabelScaleError as exc:
            if exc.code == ScaleErrorCode.BUSY:
                return ScaleStatus(online=True, busy=True, message=exc.message)
            return ScaleStatus(online=False, message=exc.message)
        return ScaleStatus(online=True, message=_describe(state))

    # --- frames on the wire ---------------------------------------------------------------------

    def exchange(self, frames: Sequence[bytes]) -> list[codec.Frame]:
        """Send ``frames`` as they are and return the scale's answer to each, decoded (for diagnostics
        and tests: a hand-made frame, a broken one …)."""
        try:
            return [codec.decode(raw) for raw in self._exchange(frames, stop_on_broken=False)]
        except codec.FrameError as exc:
            self.close()
            raise LabelScaleError(
                ScaleErrorCode.BAD_FRAME, self._where(f"ответили невнятно: {exc}")
            ) from None

    def describe(self, answer: codec.Answer) -> str:
        """An answer in words."""
        return "выполнено" if answer.ok else self._refusal(answer)

    def _answers(self, frames: list[bytes], sent: Sequence[tuple[int, int, str]]) -> list[codec.Answer]:
        try:
            answer_of = codec.answer_of
            return [answer_of(raw) for raw in self._exchange(frames, stop_on_broken=True)]
        except codec.FrameError as exc:
            self.close()
            raise LabelScaleError(
                ScaleErrorCode.BAD_FRAME, self._where(f"ответили невнятно: {exc}")
            ) from None
        except _Broken as exc:
            key = sent[exc.index][1]
            what = f"PLU {key % 1_000_000}" if exc.answer.data_type == codec.PLU and key else "кадр"
            raise LabelScaleError(
                ScaleErrorCode.BAD_FRAME,
                self._where(f"получили {what} искажённым: {codec.error_text(exc.answer.code)}; повторите"),
            ) from None

    def _exchange(self, frames: Sequence[bytes], *, stop_on_broken: bool) -> list[bytes]:
        """The raw answer to each of ``frames``; with ``stop_on_broken``, an answer saying a frame
        arrived broken ends the exchange (and the connection, whose later frames may be misread)."""
        if not frames:
            return []
        for attempt in (1, 2):
            reused = self._sock is not None
            sock = self._connected()
            answers: list[bytes] = []
            try:
                self._pipeline(sock, frames, answers, stop_on_broken=stop_on_broken)
                return answers
            except _Broken:
                self.close()
                raise
            except _Closed:
                self.close()
                if attempt == 1 and reused and not answers:
                    continue  # the scale dropped an idle connection: send again on a new one
                raise self._error(ScaleErrorCode.UNREACHABLE, "закрыли соединение, не ответив") from None
            except TimeoutError:
                self.close()
                raise self._error(
                    ScaleErrorCode.BUSY,
                    f"на связи, но не ответили за {self.timeout:g} с: весы заняты (меню, печать)",
                ) from None
            except OSError as exc:
                self.close()
                if attempt == 1 and reused and not answers:
                    continue
                raise self._error(ScaleErrorCode.UNREACHABLE, exc.strerror or str(exc)) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _pipeline(
        self, sock: socket.socket, frames: Sequence[bytes], answers: list[bytes], *, stop_on_broken: bool
    ) -> None:
        """Send ``frames`` with at most ``window_bytes`` of them unanswered, collecting each answer."""
        count = len(frames)
        sizes = [len(frame) for frame in frames]
        sent = in_flight = 0
        buffer = bytearray()
        while len(answers) < count:
            end = sent
            budget = self.window_bytes - in_flight
            while end < count and (sizes[end] <= budget or (end == sent and in_flight == 0)):
                budget -= sizes[end]
                end += 1
            if end > sent:
                sock.sendall(b"".join(frames[sent:end]))
                in_flight += sum(sizes[sent:end])
                sent = end
            chunk = sock.recv(65536)
            if not chunk:
                raise _Closed
            buffer += chunk
            offset = 0
            while len(buffer) - offset >= _HEADER:
                if (
                    buffer[offset] not in codec.COMMANDS
                    or buffer[offset + 6] != _COMMA_BYTE
                    or buffer[offset + 9] != codec.COLON
                ):
                    codec.frame_size(buffer[offset : offset + _HEADER])  # raises, saying what is wrong
                size = _HEADER + (buffer[offset + 7] | buffer[offset + 8] << 8) + codec.TAIL_SIZE
                if len(buffer) - offset < size:
                    break
                raw = bytes(buffer[offset : offset + size])
                offset += size
                if len(answers) == count:
                    raise codec.FrameError(f"an answer nobody asked for: {raw[:16].hex(' ')}")
                if (
                    stop_on_broken
                    and raw[0] == _REFUSED
                    and size > _HEADER + 4
                    and raw[_HEADER + 4] == _RECEIVE
                ):
                    raise _Broken(len(answers), codec.parse_answer(codec.decode(raw)))
                in_flight -= sizes[len(answers)]
                answers.append(raw)
            del buffer[:offset]
        if buffer:
            raise codec.FrameError(f"bytes after the last answer: {bytes(buffer[:16]).hex(' ')}")

    def _connected(self) -> socket.socket:
        try:
            return self._connect()
        except TimeoutError:
            raise self._error(ScaleErrorCode.UNREACHABLE, f"не отвечают за {self.timeout:g} с") from None
        except OSError as exc:
            raise self._error(ScaleErrorCode.UNREACHABLE, exc.strerror or str(exc)) from None

    def _key_set(self) -> codec.KeyTable | None:
        """Key set :data:`KEY_SET` as the scale holds it, with its keyboard type; None when its
        firmware does not know speed keys."""
        (frame,) = self.exchange([codec.read_keys(self.scale_number, KEY_SET)])
        try:
            if frame.command == codec.NOT_GOOD:
                answer = codec.parse_answer(frame)
                code = codec.error_code(answer.code)
                if code == codec.ErrorCode.INTERPRETER:
                    return None
                kind = ScaleErrorCode.BAD_FRAME if code == codec.ErrorCode.RECEIVE else ScaleErrorCode.REFUSED
                raise self._error(kind, f"не дали быстрые клавиши: {self._refusal(answer)}")
            table = codec.parse_keys(frame)
            if table.set != KEY_SET:
                raise codec.FrameError(f"asked for key set {KEY_SET}, got {table.set}")
        except codec.FrameError as exc:
            self.close()
            raise self._error(ScaleErrorCode.BAD_FRAME, f"ответили невнятно: {exc}") from None
        return table

    # --- what the answers mean ------------------------------------------------------------------

    def _item_too_long(self, item_code: int) -> str:
        template = self.template
        assert template is not None
        return (
            f"код товара {item_code} не помещается в {template.item_length} цифр штрихкода «{template.name}»"
        )

    def _check(self, answer: codec.Answer, data_type: int, key: int) -> None:
        if answer.data_type != data_type or answer.number != key:
            self._mismatch(answer, data_type, key)

    def _mismatch(self, answer: codec.Answer, data_type: int, key: int) -> None:
        self.close()
        raise LabelScaleError(
            ScaleErrorCode.BAD_FRAME,
            self._where(
                f"ответили не на тот кадр: ждали {chr(data_type)} {key}, "
                f"пришёл {chr(answer.data_type)} {answer.number}"
            ),
        )

    def _refusal(self, answer: codec.Answer) -> str:
        code = codec.error_code(answer.code)
        text = f"весы отказали: {codec.error_text(code)}"
        if code == codec.ErrorCode.NUMBER_OVER and answer.data_type == codec.PLU:
            text += f"; PLU 1…{codec.MAX_PLU_NUMBER}, отдел 1…{codec.MAX_DEPARTMENT}"
        if code == codec.ErrorCode.NUMBER_OVER and answer.data_type == codec.SPEED_KEYS:
            text += f"; набор клавиш 1…{len(codec.KEY_SETS)}, тип клавиатуры — тот, что у весов"
        return text

    def _where(self, why: str) -> str:
        return f"весы CAS {self.host}:{self.port} {why}"

    def _error(self, code: ScaleErrorCode, why: str) -> LabelScaleError:
        return LabelScaleError(code, self._where(why))


def _describe(state: codec.Status) -> str:
    unit = {0: "кг", 1: "фунт", 2: "г"}.get(state.weight_unit, f"единица {state.weight_unit}")
    weight = Decimal(state.weight).scaleb(-state.weight_decimals)
    load = {0: "пусто", 1: "груз", 2: "перегрузка"}.get(state.load, f"нагрузка {state.load}")
    stable = "стабильно" if state.stable else "нестабильно"
    # The scale's status names the PLU called up on it (the one being weighed), not how many it holds.
    called = f"вызван PLU {state.plu}" if state.plu else "PLU не вызван"
    return (
        f"{weight} {unit}, {load}, {stable}; знаков веса {state.weight_decimals}, "
        f"цены {state.price_decimals}; {called}"
    )

"""A Shtrih-Print label scale over Ethernet: the :class:`~osuite.devices.labelscale.LabelScale` driver that
loads its PLU table by «Протокол обмена весов ШТРИХ-ПРИНТ» (frames in :mod:`osuite.devices.shtrih_codec`).

The scale speaks UDP (port 1111 out of the box), one request datagram and one answer datagram, and
leaves reliability to the host. So each command is sent again when its answer does not come within
the retransmission time, which starts at a quarter of ``timeout`` and then follows the answers' round
trip (twice the smoothed time plus four times its spread, never under 30 ms), doubling at each resend;
after ``timeout`` seconds without an answer the call fails as UNREACHABLE. Every command sent here
leaves the scale as the first copy left it, so a resend is harmless: writing a record again, clearing a
cell again, reading.

A resend can bring two answers, and an answer carries no more than the command's code, so the second
one may arrive while the driver waits for the next command of the same code. After an exchange that
took more than one copy, the driver keeps in mind (for ``timeout`` seconds) that a late answer of that
code may come. The next command of the code then takes the first answer of its code for that late
one and waits a little longer: the scale answers in order, so the command's own answer follows within
a round trip. If it does, all is well; if nothing follows, the answer taken for a late one was the
command's own (the earlier copy had been lost), and the command is sent once more rather than taken as
done on a guess. So the late answer a resend brings does not pass for the answer to a command the
scale never got; a wrong guess costs a round trip. Answers of other codes, and answers still queued
when a command starts, are dropped.

PLUs go six to a datagram (55h). When the scale refuses a block for one of its records (a PLU number
beyond its table, a price it cannot take), the block's records are written one by one (57h) so that
each gets its own answer; a scale that does not know 55h gets every PLU by 57h. Deleting is 54h per
PLU, clearing 18h and then polling 12h until the scale has finished. The barcode template becomes the
scale's barcode structure (75h), prefix type "weight/piece prefix" (73h) and weight-goods prefix (77h).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Final

from osuite.core.barcodes import BarcodeTemplate
from osuite.devices import shtrih_codec as codec
from osuite.devices.labelscale import (
    Capability,
    LabelScaleError,
    Plu,
    PluResult,
    ScaleErrorCode,
    ScaleStatus,
)

DEFAULT_PORT: Final = 1111
MIN_RTO: Final = 0.03
CLEAR_TIMEOUT: Final = 120.0  # a full table takes the scale a while to wipe

# A refusal that names one record: the block is written again record by record to find it.
_PER_PLU: Final = frozenset(
    {
        codec.Error.BAD_LABEL_FORMAT,
        codec.Error.BAD_STRUCTURE,
        codec.Error.BAD_VALUE,
        codec.Error.BAD_PLU_NUMBER,
        codec.Error.BAD_ITEM_CODE,
        codec.Error.BAD_PRICE,
        codec.Error.BAD_SHELF_LIFE,
        codec.Error.BAD_TARE,
        codec.Error.BAD_GROUP,
        codec.Error.BAD_MESSAGE,
        codec.Error.BAD_PICTURE,
        codec.Error.BAD_SALE_DATE,
        codec.Error.BAD_PREFERRED_PREFIX,
        codec.Error.BAD_PREFERRED_STRUCTURE,
    }
)
_ALREADY_EMPTY: Final = frozenset({codec.Error.EMPTY_PLU, codec.Error.PLU_NOT_FOUND})


class ShtrihScale:
    """``ShtrihScale("192.168.1.60")``: the scale's address, its UDP port (1111 out of the box) and its
    administrator password (four digits, "0030" out of the box)."""

    capabilities: frozenset[Capability] = frozenset(
        {
            Capability.PLU_WRITE,
            Capability.PLU_DELETE,
            Capability.CLEAR,
            Capability.BARCODE_FORMAT,
            Capability.STATUS,
        }
    )

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        *,
        password: str = codec.DEFAULT_PASSWORD,
        timeout: float = 3.0,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._password = codec.password_bytes(password)
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._late: dict[int, float] = {}  # command → until when an earlier answer may still come
        self._srtt: float | None = None
        self._rttvar = 0.0
        self._blocks = True  # False once the scale answered 55h "unknown command"

    # --- LabelScale -------------------------------------------------------------------------------

    def write(self, plus: Sequence[Plu]) -> list[PluResult]:
        results: list[PluResult | None] = [None] * len(plus)
        ready: list[tuple[int, bytes]] = []
        notes: dict[int, str] = {}
        for index, plu in enumerate(plus):
            problem = codec.plu_problem(plu)
            if problem is not None:
                results[index] = PluResult(plu.number, False, problem[1])
                continue
            ready.append((index, codec.pack_record(codec.record_of(plu))))
            notes[index] = _notes(plu)
        with self._lock:
            at = 0
            while at < len(ready):
                chunk = ready[at : at + codec.BLOCK_MAX] if self._blocks else ready[at : at + 1]
                at += len(chunk)
                if self._blocks:
                    answer = self._exchange(
                        codec.Command.WRITE_BLOCK,
                        codec.write_block(self._password, [record for _, record in chunk]),
                    )
                    if answer.error == codec.Error.UNKNOWN_COMMAND:
                        self._blocks = False
                    elif answer.ok:
                        for index, _ in chunk:
                            results[index] = PluResult(plus[index].number, True, notes[index])
                        continue
                    elif answer.error not in _PER_PLU:
                        raise self._refused(answer, "запись блока ПЛУ")
                for index, record in chunk:
                    results[index] = self._write_one(plus[index], record, notes[index])
        return [
            r if r is not None else PluResult(p.number, False, "не отправлено")
            for r, p in zip(results, plus, strict=True)
        ]

    def delete(self, numbers: Sequence[int]) -> list[PluResult]:
        results: list[PluResult] = []
        with self._lock:
            for number in numbers:
                if not 1 <= number <= 0xFFFF:
                    results.append(PluResult(number, False, f"номер ПЛУ {number} вне 1…65535"))
                    continue
                answer = self._exchange(
                    codec.Command.CLEAR_PLU,
                    codec.request(codec.Command.CLEAR_PLU, self._password, codec.plu_number(number)),
                )
                if answer.ok:
                    results.append(PluResult(number, True))
                elif answer.error in _ALREADY_EMPTY:
                    results.append(PluResult(number, True, "ПЛУ уже было пусто"))
                elif answer.error in _PER_PLU:
                    results.append(PluResult(number, False, _said(answer.error)))
                else:
                    raise self._refused(answer, f"удаление ПЛУ {number}")
        return results

    def clear(self) -> None:
        """Wipe every PLU and message (18h), then wait until the scale says it has finished (12h)."""
        with self._lock:
            answer = self._exchange(
                codec.Command.CLEAR_ALL, codec.request(codec.Command.CLEAR_ALL, self._password)
            )
            if not answer.ok and not (
                answer.error == codec.Error.WRONG_MODE and self._submode() & codec.SUBMODE_CLEARING_PLUS
            ):
                raise self._refused(answer, "очистка таблицы ПЛУ")
            deadline = time.monotonic() + max(CLEAR_TIMEOUT, self.timeout)
            pause = 0.005
            while True:
                submode = self._submode()
                if submode & codec.SUBMODE_CLEAR_PLUS_FAILED:
                    raise LabelScaleError(
                        ScaleErrorCode.REFUSED, f"весы {self._where}: очистка таблицы ПЛУ не удалась"
                    )
                if not submode & (codec.SUBMODE_CLEARING_PLUS | codec.SUBMODE_CLEARING_TOTALS):
                    return
                if time.monotonic() > deadline:
                    raise self._unreachable(f"не закончили очистку за {CLEAR_TIMEOUT:g} с")
                time.sleep(pause)
                pause = min(pause * 2, 0.5)

    def set_barcode(self, template: BarcodeTemplate) -> None:
        structure = codec.structure_for(template)
        if structure is None:
            raise LabelScaleError(
                ScaleErrorCode.UNSUPPORTED,
                f"весы Штрих-Принт не печатают штрихкод шаблона {template.name!r}: их структуры — префикс из "
                "двух цифр, код товара и сразу за ним вес в граммах или стоимость в копейках",
            )
        weight = int(template.prefixes[0])
        with self._lock:
            current = self._checked(codec.Command.GET_PREFIXES, b"", "чтение префиксов")
            piece = current.data[1] if len(current.data) >= 2 else weight
            if piece == weight:  # the scale refuses equal prefixes: keep the piece-goods one apart
                piece = next(p for p in range(20, 30) if p != weight)
            self._checked(codec.Command.SET_PREFIXES, bytes((weight, piece)), "запись префиксов")
            self._checked(codec.Command.SET_PREFIX_TYPE, bytes((codec.PREFIX_TYPE_GOODS,)), "тип префикса")
            self._checked(codec.Command.SET_STRUCTURE, bytes((structure.number,)), "структура штрихкода")

    def set_hotkeys(self, keys: Mapping[int, int]) -> None:
        """Not declared (no :attr:`Capability.HOTKEYS`): each PLU with a key says in its result that the
        key was not set."""
        raise LabelScaleError(ScaleErrorCode.UNSUPPORTED, "этот драйвер Штрих-Принт не пишет быстрые клавиши")

    def status(self) -> ScaleStatus:
        with self._lock:
            answer = self._exchange(codec.Command.STATUS, codec.request(codec.Command.STATUS, b""))
        if answer.error not in (0, codec.Error.CLOCK_FAILURE, codec.Error.DATABASE_BROKEN):
            if answer.error == codec.Error.WRONG_MODE:
                return ScaleStatus(online=True, busy=True, message=_said(answer.error))
            raise self._refused(answer, "запрос состояния")
        try:
            state = codec.unpack_status(answer.data)
        except codec.FrameError as exc:
            raise self._garbled(str(exc)) from None
        words = [
            f"{codec.MODELS.get(state.model, f'исполнение {state.model}')}, ПО {state.version}, "
            f"таблица на {state.table_size} ПЛУ"
        ]
        if state.busy:
            words.append(_busy_reason(state.mode, state.submode))
        if answer.error:
            words.append(_said(answer.error))
        if state.decimals != 2:
            words.append(f"цены без копеек (знаков после запятой: {state.decimals})")
        if not state.printer & codec.PRINTER_PAPER:
            words.append("нет бумаги")
        return ScaleStatus(online=True, busy=state.busy, plu_count=None, message="; ".join(words))

    def close(self) -> None:
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None

    def __enter__(self) -> ShtrihScale:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- beyond the interface ------------------------------------------------------------------------

    def read(self, number: int) -> Plu | None:
        """PLU ``number`` as the scale holds it (58h), None for an empty cell."""
        with self._lock:
            answer = self._exchange(
                codec.Command.READ_PLU,
                codec.request(codec.Command.READ_PLU, self._password, codec.plu_number(number)),
            )
        if answer.error in _ALREADY_EMPTY:
            return None
        if not answer.ok:
            raise self._refused(answer, f"чтение ПЛУ {number}")
        if len(answer.data) != codec.RECORD_SIZE - 2:
            raise self._garbled(f"a PLU record of {len(answer.data)} bytes")
        return codec.plu_of(codec.unpack_record(codec.plu_number(number) + answer.data))

    # --- the exchange --------------------------------------------------------------------------------

    @property
    def _where(self) -> str:
        return f"{self.host}:{self.port}"

    def _write_one(self, plu: Plu, record: bytes, note: str) -> PluResult:
        answer = self._exchange(codec.Command.WRITE_PLU, codec.write_plu(self._password, record))
        if answer.ok:
            return PluResult(plu.number, True, note)
        if answer.error in _PER_PLU:
            return PluResult(plu.number, False, _said(answer.error))
        raise self._refused(answer, f"запись ПЛУ {plu.number}")

    def _checked(self, command: codec.Command, data: bytes, what: str) -> codec.Answer:
        answer = self._exchange(command, codec.request(command, self._password, data))
        if not answer.ok:
            raise self._refused(answer, what)
        return answer

    def _submode(self) -> int:
        answer = self._exchange(codec.Command.MODE, codec.request(codec.Command.MODE, b""))
        if not answer.ok:
            raise self._refused(answer, "запрос режима")
        try:
            return codec.unpack_mode(answer.data)[1]
        except codec.FrameError as exc:
            raise self._garbled(str(exc)) from None

    def _socket(self) -> socket.socket:
        if self._sock is None:
            try:
                family, kind, proto, _, address = socket.getaddrinfo(
                    self.host, self.port, type=socket.SOCK_DGRAM
                )[0]
                sock = socket.socket(family, kind, proto)
            except OSError as exc:
                raise self._unreachable(exc.strerror or str(exc)) from None
            try:
                sock.connect(address)  # answers from anyone else are not delivered
            except OSError as exc:
                sock.close()
                raise self._unreachable(exc.strerror or str(exc)) from None
            self._sock = sock
        return self._sock

    def _rto(self) -> float:
        if self._srtt is None:
            return max(MIN_RTO, self.timeout / 4)
        return max(MIN_RTO, min(self.timeout / 2, 2 * self._srtt + 4 * self._rttvar))

    def _window(self) -> float:
        """How long the answer to a command may trail the answer to the command before it."""
        if self._srtt is None:
            return self._rto()
        return min(self._rto(), max(0.002, 2 * self._srtt + 4 * self._rttvar))

    def _measured(self, rtt: float) -> None:
        if self._srtt is None:
            self._srtt, self._rttvar = rtt, rtt / 2
        else:
            self._rttvar = 0.75 * self._rttvar + 0.25 * abs(self._srtt - rtt)
            self._srtt = 0.875 * self._srtt + 0.125 * rtt

    def _exchange(self, command: int, request: bytes) -> codec.Answer:
        """Send ``request`` until the answer to ``command`` comes, at most ``timeout`` seconds."""
        sock = self._socket()
        try:
            self._drain(sock)
            started = time.monotonic()
            stale = self._late.pop(command, 0.0) > started  # an earlier answer of this code may come
            deadline = started + self.timeout
            rto = self._rto()
            sends = ours = naks = 0
            discarded = False
            garbled = ""
            while True:
                now = time.monotonic()
                if now >= deadline:
                    self._late[command] = now + self.timeout  # its answer may come yet
                    if garbled:
                        raise self._garbled(garbled)
                    raise self._unreachable(f"не ответили за {self.timeout:g} с")
                sock.send(request)
                sends += 1
                sent_at = now
                wait_until = min(now + rto, deadline)
                while (remaining := wait_until - time.monotonic()) > 0:
                    sock.settimeout(remaining)
                    try:
                        raw = sock.recv(65535)
                    except TimeoutError:
                        break
                    if len(raw) == 1:
                        if raw[0] == codec.BUSY:
                            raise LabelScaleError(
                                ScaleErrorCode.BUSY,
                                f"весы {self._where} заняты: с ними работает другой компьютер",
                            )
                        if raw[0] == codec.NAK:
                            naks += 1
                            if naks >= 3:
                                raise self._garbled("весы не принимают кадр (NAK)")
                            break  # the scale could not read it: send again now
                        continue
                    try:
                        answer = codec.parse_answer(raw)
                    except codec.FrameError as exc:
                        garbled = f"{exc}: {raw[:16].hex(' ')}"
                        continue
                    if answer.command != command:
                        self._late.pop(answer.command, None)  # the late answer to an earlier command
                        continue
                    if stale:
                        stale, discarded = False, True  # taken for the late answer to an earlier copy
                        # The scale answers in order: this command's own answer follows closely.
                        wait_until = min(wait_until, time.monotonic() + self._window())
                        continue
                    if sends == 1 and not discarded:
                        self._measured(time.monotonic() - sent_at)
                    if sends - 1 - ours > 0:  # a copy may still bring its answer
                        self._late[command] = time.monotonic() + self.timeout
                    return answer
                if discarded:
                    # Silence after an answer taken for a late one: it answered this command (the
                    # earlier copy had been lost). Send again rather than trust that guess.
                    ours, discarded = ours + 1, False
                else:
                    rto = min(rto * 2, self.timeout)
        except ConnectionRefusedError:
            raise self._unreachable("не слушают этот порт (ICMP: порт недоступен)") from None
        except OSError as exc:
            raise self._unreachable(exc.strerror or str(exc)) from None

    def _drain(self, sock: socket.socket) -> None:
        """Read the answers already queued: each is the late answer to a command already answered."""
        sock.settimeout(0.0)
        while True:
            try:
                raw = sock.recv(65535)
            except (BlockingIOError, ConnectionRefusedError):
                return
            if len(raw) > 2:
                self._late.pop(raw[2], None)

    def _refused(self, answer: codec.Answer, what: str) -> LabelScaleError:
        code = answer.error
        text = f"весы {self._where}, {what}: {_said(code)}"
        if code == codec.Error.WRONG_MODE:
            return LabelScaleError(ScaleErrorCode.BUSY, text + " (весы заняты: меню, печать или очистка)")
        if code in (codec.Error.BAD_PASSWORD, codec.Error.PASSWORD_LOCKED):
            return LabelScaleError(ScaleErrorCode.REFUSED, text + " (проверьте пароль администратора весов)")
        if code in (codec.Error.UNKNOWN_COMMAND, codec.Error.BAD_LENGTH):
            return LabelScaleError(
                ScaleErrorCode.UNSUPPORTED, text + " (прошивка весов не знает этой команды)"
            )
        return LabelScaleError(ScaleErrorCode.REFUSED, text)

    def _unreachable(self, why: str) -> LabelScaleError:
        return LabelScaleError(ScaleErrorCode.UNREACHABLE, f"весы {self._where} {why}")

    def _garbled(self, why: str) -> LabelScaleError:
        return LabelScaleError(
            ScaleErrorCode.BAD_FRAME, f"весы {self._where} ответили не по протоколу: {why}"
        )


def _said(code: int) -> str:
    return f"{codec.error_text(code)} (код {code})"


def _notes(plu: Plu) -> str:
    fitted = codec.fit_name(plu.name)
    words = []
    if fitted != plu.name:
        words.append(f"название записано как «{fitted}»")
    if plu.ingredients:
        words.append("состав не записан: этот драйвер не пишет сообщения (52h)")
    if plu.hotkey is not None:
        words.append("клавиша не назначена: этот драйвер не пишет быстрые клавиши")
    return "; ".join(words)


def _busy_reason(mode: int, submode: int) -> str:
    reasons = [
        text
        for flag, text in (
            (codec.MODE_MENU, "открыто системное меню"),
            (codec.MODE_PASSWORD_ENTRY, "вводится пароль"),
            (codec.MODE_PRICE_ENTRY, "вводится цена"),
            (codec.MODE_FAST_LOAD, "режим быстрой загрузки"),
        )
        if mode & flag
    ]
    if submode & codec.SUBMODE_CLEARING_PLUS:
        reasons.append("идёт очистка таблицы ПЛУ")
    if submode & codec.SUBMODE_CLEARING_TOTALS:
        reasons.append("идёт очистка итогов")
    return "весы заняты: " + (", ".join(reasons) or f"режим {mode:#06x}, подрежим {submode:#04x}")

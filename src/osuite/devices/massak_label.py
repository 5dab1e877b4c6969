"""A Massa-K label scale over TCP ("Протокол 100", port 5001): the
:class:`~osuite.devices.labelscale.LabelScale` driver the scale server programs it with.

Everything goes through the scale's file exchange (:mod:`osuite.devices.massak_label_codec`): PLUs are
loaded as records of its PLU file, one CMD_TCP_DFILE each, and each is answered, so a PLU the scale
refuses is reported on its own while the rest are written. The records travel pipelined (up to
:data:`WINDOW` unanswered) over the one connection a driver keeps, so an upload costs little more than
sending its bytes. The protocol cannot delete one PLU: :meth:`MassaKLabelScale.delete` reads the PLU file
back, erases it and loads again what is to stay. The barcode template goes to the scale as barcode
format 1, which every PLU names.

A whole call fails with :class:`~osuite.devices.labelscale.LabelScaleError`: UNREACHABLE (no connection,
no answer in time), BUSY (CMD_ERROR 0x0F, or 0x09 / 0x0E: the scale is in its menu, printing, starting),
BAD_FRAME (an answer with a wrong CRC or cut short, CMD_NACK, CMD_TCP_BAD_DFILE, an answer out of turn),
REFUSED (any other CMD_ERROR). After such a failure the connection is closed, so the next call starts
clean; a connection the scale dropped while idle is opened again once, when nothing was answered yet.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TypeVar

from osuite.core.barcodes import BarcodeTemplate
from osuite.devices import massak_codec as frames
from osuite.devices import massak_label_codec as codec
from osuite.devices.labelscale import Capability, LabelScaleError, Plu, PluResult, ScaleErrorCode, ScaleStatus
from osuite.devices.massak_codec import Command, ErrorCode, Frame
from osuite.devices.massak_label_codec import FileType, RecordError
from osuite.devices.tcp_driver import TcpDriver

DEFAULT_PORT = 5001
WINDOW = 512  # records sent ahead of their answers
_BATCH = 128  # records sent in one write
_BARCODE_FORMAT = 1
_BUSY_CODES = frozenset({ErrorCode.BUSY, ErrorCode.NOT_WEIGHING, ErrorCode.MODULE_STARTING})
_RECORD_CODES = frozenset({ErrorCode.BAD_INPUT, ErrorCode.SAVE_FAILED})  # a refusal of one record
_PLU_MASK = codec.file_mask(FileType.PLU)
_BARCODE_MASK = codec.file_mask(FileType.BARCODES)
_HEAD = 5

T = TypeVar("T")


class _Dropped(Exception):
    """The connection failed or the scale closed it."""


class MassaKLabelScale(TcpDriver):
    """``MassaKLabelScale("192.168.1.60", 5001)``: one scale, one TCP connection, opened when first
    needed and kept until :meth:`close`."""

    capabilities = frozenset(
        {
            Capability.PLU_WRITE,
            Capability.PLU_DELETE,
            Capability.CLEAR,
            Capability.MESSAGES,
            Capability.BARCODE_FORMAT,
            Capability.STATUS,
        }
    )

    def __init__(self, host: str, port: int = DEFAULT_PORT, *, timeout: float = 3.0) -> None:
        super().__init__(host, port, timeout)
        self._inbox = b""
        self._at = 0
        self._heard = False
        self._prefix = 0  # 0: the barcode format's own

    # --- the LabelScale protocol ---------------------------------------------------------------------

    def write(self, plus: Sequence[Plu]) -> list[PluResult]:
        results: list[PluResult | None] = [None] * len(plus)
        records: list[bytes] = []
        sent: list[tuple[int, str]] = []  # where in ``plus``, what was cut
        prefix = self._prefix
        for index, plu in enumerate(plus):
            raw = codec.quick_record(plu, prefix=prefix, barcode_format=_BARCODE_FORMAT)
            note = ""
            if raw is None:
                record = self._record(plu)
                try:
                    raw = codec.encode_plu(record)
                except RecordError as exc:
                    results[index] = PluResult(plu.number, False, f"не помещается в запись Масса-К: {exc}")
                    continue
                note = codec.cuts(plu, record)
            records.append(raw)
            sent.append((index, note))
        if records:
            codes = self._call(lambda: self._load(FileType.PLU, records))
            for (index, note), code in zip(sent, codes, strict=True):
                plu = plus[index]
                if code is None:
                    results[index] = PluResult(plu.number, True, note)
                else:
                    results[index] = PluResult(plu.number, False, _refused_record(self._record(plu), code))
        return [result for result in results if result is not None]

    def _record(self, plu: Plu) -> codec.PluRecord:
        return codec.record_of(plu, prefix=self._prefix, barcode_format=_BARCODE_FORMAT)

    def delete(self, numbers: Sequence[int]) -> list[PluResult]:
        if not numbers:
            return []
        present = self._call(lambda: self._delete(set(numbers)))
        return [
            PluResult(number, True, "" if number in present else "такого PLU на весах не было")
            for number in numbers
        ]

    def clear(self) -> None:
        self._call(self._reset_plus)

    def set_barcode(self, template: BarcodeTemplate) -> None:
        fmt = codec.barcode_format_of(template, _BARCODE_FORMAT)
        record = codec.encode_barcode(fmt)
        (code,) = self._call(lambda: self._load(FileType.BARCODES, [record]))
        if code is not None:
            raise self._error(
                ScaleErrorCode.REFUSED, f"не приняли формат штрихкода {fmt.mask}: {frames.error_text(code)}"
            )
        self._prefix = fmt.prefix

    def set_hotkeys(self, keys: Mapping[int, int]) -> None:
        """Not declared (no :attr:`Capability.HOTKEYS`): the scale's key file is not written."""
        raise LabelScaleError(ScaleErrorCode.UNSUPPORTED, "этот драйвер Масса-К не пишет быстрые клавиши")

    def status(self) -> ScaleStatus:
        try:
            missing, count = self._call(self._status)
        except LabelScaleError as exc:
            if exc.code is ScaleErrorCode.BUSY:
                return ScaleStatus(online=True, busy=True, message=exc.message)
            raise
        said = [f"товаров: {count}"]
        if missing & _BARCODE_MASK:
            said.append("формат штрихкода не загружен")
        return ScaleStatus(online=True, busy=False, plu_count=count, message="; ".join(said))

    def close(self) -> None:
        super().close()
        self._inbox = b""
        self._at = 0

    # --- the conversations ---------------------------------------------------------------------------

    def _load(self, file_type: int, records: Sequence[bytes]) -> list[int | None]:
        """Load ``records`` as transfers of up to 65535 records; for each, None when the scale took it,
        else the CMD_ERROR code it refused it with."""
        codes: list[int | None] = []
        for start in range(0, len(records), codec.MAX_NUMS):
            chunk = records[start : start + codec.MAX_NUMS]
            nums = len(chunk)
            outgoing = codec.dfiles(file_type, chunk, nums)
            acks = [codec.ack_dfile_frame(file_type, nums, num) for num in range(1, nums + 1)]
            for num, (raw, ack) in enumerate(zip(self._pipeline(outgoing, acks), acks, strict=True), 1):
                if raw == ack:  # what the scale says nearly always
                    codes.append(None)
                else:
                    codes.append(self._loaded(self._decoded(raw), file_type, nums, num))
        return codes

    def _loaded(self, answer: Frame, file_type: int, nums: int, num: int) -> int | None:
        if answer.command == Command.TCP_ACK_DFILE:
            acknowledged = codec.parse_dfile_answer(answer)
            if acknowledged != (file_type, nums, num):
                raise self._error(
                    ScaleErrorCode.BAD_FRAME,
                    f"подтвердили не ту запись: {acknowledged} вместо {(file_type, nums, num)}",
                )
            return None
        if answer.command == Command.TCP_BAD_DFILE:
            raise self._error(
                ScaleErrorCode.BAD_FRAME,
                f"не ждали запись {num} из {nums} файла {file_type} (CMD_TCP_BAD_DFILE): передача сбилась",
            )
        code = self._error_code(answer, f"запись {num} из {nums}")
        if code in _RECORD_CODES:
            return code
        raise self._refusal(code)

    def _delete(self, numbers: set[int]) -> set[int]:
        records = self._read_file(FileType.PLU)
        present = {codec.number_of(raw) for raw in records} & numbers
        if not present:
            return present
        keep = [raw for raw in records if codec.number_of(raw) not in numbers]
        self._reset_plus()
        try:
            codes = self._load(FileType.PLU, keep)
        except LabelScaleError as exc:
            raise LabelScaleError(
                exc.code, f"{exc.message}; файл товаров стёрт и загружен не весь — нужна полная загрузка"
            ) from None
        lost = [codec.number_of(raw) for raw, code in zip(keep, codes, strict=True) if code is not None]
        if lost:
            raise self._error(
                ScaleErrorCode.REFUSED,
                f"после стирания файла товаров не приняли обратно PLU {', '.join(map(str, lost[:10]))}"
                f"{' …' if len(lost) > 10 else ''} — нужна полная загрузка",
            )
        return present

    def _read_file(self, file_type: int) -> list[bytes]:
        """Every record of a file, as the scale sends it back."""
        first = self._exchange(codec.req_ufile(file_type, 1))
        if first.command == Command.TCP_ERR_UFILE:
            return []
        head = self._sent_back(first, file_type, 1)
        requests = [
            frames.encode_body(codec.req_ufile(file_type, num).body) for num in range(2, head.nums + 1)
        ]
        records = [head.record]
        for num, raw in enumerate(self._pipeline(requests), 2):
            answer = self._decoded(raw)
            if answer.command == Command.TCP_ERR_UFILE:
                raise self._error(
                    ScaleErrorCode.BAD_FRAME, f"не отдали запись {num} из {head.nums} (ERR_UFILE)"
                )
            records.append(self._sent_back(answer, file_type, num, head.nums).record)
        return records

    def _sent_back(
        self, answer: Frame, file_type: int, num: int, nums: int | None = None
    ) -> codec.FileRecord:
        if answer.command != Command.TCP_UFILE:
            raise self._refusal(self._error_code(answer, f"запрос записи {num}"))
        try:
            got = codec.parse_file_record(answer)
        except RecordError as exc:
            raise self._error(ScaleErrorCode.BAD_FRAME, f"прислали запись невнятно: {exc}") from None
        if (got.file_type, got.num) != (file_type, num) or got.length != len(got.record) or got.nums < 1:
            raise self._error(
                ScaleErrorCode.BAD_FRAME,
                f"прислали не ту запись: файл {got.file_type}, {got.num} из {got.nums}, Len {got.length}"
                f" при {len(got.record)} байтах; ждали файл {file_type}, запись {num}",
            )
        if nums is not None and got.nums != nums:
            raise self._error(
                ScaleErrorCode.BAD_FRAME, f"файл менялся, пока его читали ({nums} → {got.nums})"
            )
        return got

    def _reset_plus(self) -> None:
        answer = self._exchange(codec.reset_files(_PLU_MASK))
        if answer.command != Command.TCP_ACK_RESET_FILES:
            raise self._refusal(self._error_code(answer, "стирание файла товаров"))
        if codec.parse_mask(answer, Command.TCP_ACK_RESET_FILES) != _PLU_MASK:
            raise self._error(ScaleErrorCode.BAD_FRAME, "подтвердили стирание не того файла")

    def _status(self) -> tuple[int, int]:
        answer = self._exchange(codec.get_status())
        if answer.command != Command.TCP_FILE_STATUS:
            raise self._refusal(self._error_code(answer, "запрос состояния"))
        missing = codec.parse_mask(answer, Command.TCP_FILE_STATUS)
        first = self._exchange(codec.req_ufile(FileType.PLU, 1))
        if first.command == Command.TCP_ERR_UFILE:
            return missing, 0
        return missing, self._sent_back(first, FileType.PLU, 1).nums

    def _error_code(self, answer: Frame, what: str) -> int:
        """The code of a CMD_ERROR answer; anything else is the wrong answer."""
        if answer.command == Command.ERROR:
            try:
                return frames.error_code(answer)
            except frames.FrameError as exc:
                raise self._error(ScaleErrorCode.BAD_FRAME, f"ответили невнятно: {exc}") from None
        if answer.command == Command.NACK:
            raise self._error(
                ScaleErrorCode.BAD_FRAME,
                f"{what}: ответили CMD_NACK — кадр не прошёл проверку CRC или команда им незнакома",
            )
        raise self._error(
            ScaleErrorCode.BAD_FRAME, f"{what}: ответили командой {answer.command:#04x} не в очередь"
        )

    def _refusal(self, code: int) -> LabelScaleError:
        if code in _BUSY_CODES:
            return self._error(ScaleErrorCode.BUSY, f"{frames.error_text(code)} (CMD_ERROR {code:#04x})")
        return self._error(ScaleErrorCode.REFUSED, f"{frames.error_text(code)} (CMD_ERROR {code:#04x})")

    # --- the wire ------------------------------------------------------------------------------------

    def _call(self, action: Callable[[], T]) -> T:
        for attempt in (1, 2):
            reused = self._sock is not None
            self._heard = False
            try:
                return action()
            except _Dropped as exc:
                self.close()
                if attempt == 1 and reused and not self._heard:
                    continue  # the scale dropped an idle connection: nothing was done, do it again
                raise self._error(ScaleErrorCode.UNREACHABLE, str(exc)) from None
            except LabelScaleError:
                self.close()
                raise
            except frames.FrameError as exc:  # an answer of the right command with the wrong data
                self.close()
                raise self._error(ScaleErrorCode.BAD_FRAME, f"ответили невнятно: {exc}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _exchange(self, frame: Frame) -> Frame:
        self._send(frames.encode_body(frame.body))
        return self._answer()

    def _pipeline(self, outgoing: Sequence[bytes], expected: Sequence[bytes] = ()) -> Iterator[bytes]:
        """Send the frames, at most :data:`WINDOW` ahead of their answers, and yield the answers (whole
        frames, their CRC not yet checked) in order as they come, so a caller may stop at the first
        that goes wrong. Answers equal to ``expected`` (one per frame, all of one size) are taken a block
        at a time: an upload is thousands of identical acknowledgements."""
        sent = done = 0
        total = len(outgoing)
        step = len(expected[0]) if expected else 0
        careful_until = 0  # a block did not match: take these answers one by one
        while done < total:
            if sent < total and sent - done <= WINDOW - _BATCH:
                upto = min(total, sent + _BATCH)
                self._send(b"".join(outgoing[sent:upto]))
                sent = upto
                continue
            if step and done >= careful_until:
                ready = min(sent - done, (len(self._inbox) - self._at) // step)
                block = expected[done : done + ready]
                if ready and self._inbox.startswith(b"".join(block), self._at):
                    self._at += ready * step
                    done += ready
                    yield from block
                    continue
                careful_until = done + max(ready, 1)
            done += 1
            yield self._answer_raw()

    def _connected(self) -> socket.socket:
        try:
            return self._connect()
        except TimeoutError:
            raise _Dropped(f"не открыли соединение за {self.timeout:g} с") from None
        except OSError as exc:
            raise _Dropped(exc.strerror or str(exc)) from None

    def _send(self, data: bytes) -> None:
        sock = self._connected()
        try:
            sock.sendall(data)
        except TimeoutError:
            raise self._error(ScaleErrorCode.UNREACHABLE, f"не принимают данные {self.timeout:g} с") from None
        except OSError as exc:
            raise _Dropped(exc.strerror or str(exc)) from None

    def _answer(self) -> Frame:
        return self._decoded(self._answer_raw())

    def _decoded(self, raw: bytes) -> Frame:
        try:
            return frames.decode_fast(raw)
        except frames.FrameError as exc:
            raise self._error(ScaleErrorCode.BAD_FRAME, f"ответ не сошёлся: {exc}") from None

    def _answer_raw(self) -> bytes:
        while True:
            available = len(self._inbox) - self._at
            if available >= _HEAD:
                head = self._inbox[self._at : self._at + _HEAD]
                try:
                    size = frames.frame_size(frames.body_length(head))
                except frames.FrameError as exc:
                    raise self._error(
                        ScaleErrorCode.BAD_FRAME, f"ответили не кадром Масса-К: {exc}"
                    ) from None
                if available >= size:
                    raw = self._inbox[self._at : self._at + size]
                    self._at += size
                    return raw
            self._receive()

    def _receive(self) -> None:
        sock = self._connected()
        try:
            chunk = sock.recv(1 << 16)
        except TimeoutError:
            partial = len(self._inbox) - self._at
            if partial:
                raise self._error(
                    ScaleErrorCode.BAD_FRAME,
                    f"ответ оборвался: {partial} байт и больше ничего за {self.timeout:g} с",
                ) from None
            raise self._error(ScaleErrorCode.UNREACHABLE, f"не ответили за {self.timeout:g} с") from None
        except OSError as exc:
            raise _Dropped(exc.strerror or str(exc)) from None
        if not chunk:
            raise _Dropped("закрыли соединение, не ответив")
        self._heard = True
        self._inbox = self._inbox[self._at :] + chunk
        self._at = 0

    def _error(self, code: ScaleErrorCode, why: str) -> LabelScaleError:
        return LabelScaleError(code, f"весы Масса-К {self.host}:{self.port}: {why}")


def _refused_record(record: codec.PluRecord, code: int) -> str:
    why = frames.error_text(code)
    found = codec.problems(record)
    return f"весы не приняли PLU {record.number}: {why}" + (f" ({'; '.join(found)})" if found else "")

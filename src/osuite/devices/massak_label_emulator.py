"""An emulated Massa-K label scale on a real TCP socket: it takes PLU and barcode-format files record by
record as the scale does ("Протокол 100", see :mod:`osuite.devices.massak_label_codec`), keeps its PLU
table in a :class:`~osuite.devices.labelscale.PluMemory` and prints (in :meth:`PluMemory.label`) the
barcode a label would carry.

It reads frames byte for byte and answers:

- a frame whose CRC does not match, a command it does not know → CMD_NACK; a frame cut short (its
  bytes stop before Len says, for ``frame_timeout`` seconds) → CMD_NACK, the bytes dropped; bytes
  before a header are skipped, as a scale hunting for the next frame does;
- anything while ``busy`` (its operator is in the menu, it is printing) → CMD_ERROR 0x0F;
- CMD_TCP_DFILE → CMD_TCP_ACK_DFILE, or CMD_TCP_BAD_DFILE when the record is not the one expected
  (a transfer starts at Num 1 and goes up by one, the same file type and Nums throughout), or CMD_ERROR
  0x0A when the record is wrong: its Len, Length or checksum, a string without its terminator, a field
  out of range (:func:`~osuite.devices.massak_label_codec.problems`); 0x0B when it could not be saved.
  Files other than PLUs and barcode formats (label formats, logos …) are taken and not kept;
- CMD_TCP_RESET_FILES → CMD_TCP_ACK_RESET_FILES (the PLU file is erased when its bit is set);
- CMD_TCP_GET_STATUS → CMD_TCP_FILE_STATUS: bit 0 when it holds no PLU, bit 2 without a barcode format;
- CMD_TCP_REQ_UFILES → CMD_TCP_UFILE with the Num-th PLU (by number) of the table as it was when
  record 1 was asked for, or CMD_TCP_ERR_UFILE past its end.

Records it sends back are written afresh from what it keeps (its label format, barcode format 1, the
barcode format's prefix). ``fault`` spoils its answers on purpose, to try a driver: ``"bad_crc"`` sends
them with a wrong CRC, ``"truncate"`` only their first half.
"""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path
from typing import Literal

from osuite.devices import massak_codec as frames
from osuite.devices import massak_label_codec as codec
from osuite.devices.emulator_server import DeviceConnection, RunningTcpLabelScale, TrackingTcpServer, bind
from osuite.devices.labelscale import PluMemory
from osuite.devices.massak_codec import Command, ErrorCode, Frame
from osuite.devices.massak_label_codec import FileType, RecordError

log = logging.getLogger("osuite.devices.massak_label_emulator")

Fault = Literal["bad_crc", "truncate"]
DEFAULT_PORT = 5001
_PLU_BIT = codec.file_mask(FileType.PLU)
_BARCODE_BIT = codec.file_mask(FileType.BARCODES)
_NACK = frames.encode_body(bytes((Command.NACK,)))
_FILE_TYPES = frozenset(int(kind) for kind in FileType)


class MassaKLabelEmulator:
    """The scale: its memory and how it answers a frame; shared by every connection, thread-safe."""

    def __init__(self, memory: PluMemory) -> None:
        self.memory = memory
        self.busy = False
        self.fault: Fault | None = None
        self.refusals: list[str] = []  # why it refused what it refused, latest last
        self._lock = threading.Lock()

    def session(self) -> Session:
        """What one connection is in the middle of: its unread bytes, its transfer."""
        return Session(self)

    def refuse(self, why: str, code: int = ErrorCode.BAD_INPUT) -> Frame:
        log.info("refused: %s", why)
        with self._lock:
            self.refusals.append(why)
            del self.refusals[:-100]
        return frames.error(code)

    def spoil(self, raw: bytes) -> bytes:
        if self.fault == "bad_crc":
            return raw[:-1] + bytes((raw[-1] ^ 0xFF,))
        if self.fault == "truncate":
            return raw[: len(raw) // 2]
        return raw

    def prefix(self) -> int:
        template = self.memory.template
        return int(template.prefixes[0]) if template is not None else 0


class Session:
    def __init__(self, scale: MassaKLabelEmulator) -> None:
        self.scale = scale
        self._buffer = b""
        self._transfer: tuple[int, int, int] | None = None  # file type, Nums, the Num expected next
        self._snapshot: list[bytes | codec.PluRecord] | None = None  # the file being read back

    @property
    def pending(self) -> bool:
        """Bytes of a frame not yet whole."""
        return bool(self._buffer)

    def feed(self, chunk: bytes) -> bytes:
        """The answers to the whole frames ``chunk`` completes, in order."""
        buffer = self._buffer + chunk
        at = 0
        answers: list[bytes] = []
        while True:
            start = buffer.find(frames.HEADER, at)
            if start < 0:
                at = max(at, len(buffer) - 2)  # the tail may be the start of a header
                break
            at = start
            if len(buffer) - at < 5:
                break
            try:
                length = frames.body_length(buffer[at : at + 5])
            except frames.FrameError:
                at += 1
                continue
            size = frames.frame_size(length)
            if len(buffer) - at < size:
                break
            raw = buffer[at : at + size]
            at += size
            answers.append(self.scale.spoil(self.answer(raw)))
        self._buffer = buffer[at:]
        if self._buffer and not self._buffer.startswith(frames.HEADER[: len(self._buffer)]):
            self._buffer = b""
        return b"".join(answers)

    def expire(self) -> bytes:
        """A frame that stopped short: dropped, and CMD_NACK said."""
        log.info("frame cut short: %d bytes of it dropped", len(self._buffer))
        self.scale.refuse(f"кадр оборван: {len(self._buffer)} байт", ErrorCode.BAD_INPUT)
        self._buffer = b""
        return self.scale.spoil(_NACK)

    def answer(self, raw: bytes) -> bytes:
        try:
            frame = frames.decode_fast(raw)
        except frames.CrcMismatch as exc:
            self.scale.refuse(f"CRC: {exc}")
            return _NACK
        if self.scale.busy:
            return frames.encode_body(bytes((Command.ERROR, ErrorCode.BUSY)))
        command = frame.command
        if command == Command.TCP_DFILE:
            reply = self._load(frame)
        elif command == Command.TCP_REQ_UFILES:
            reply = self._send_back(frame)
        elif command == Command.TCP_RESET_FILES:
            reply = self._reset(frame)
        elif command == Command.TCP_GET_STATUS and not frame.data:
            reply = self._status()
        else:
            self.scale.refuse(f"команда {command:#04x} с {len(frame.data)} байтами данных не знакома")
            return _NACK
        return frames.encode_body(reply.body)

    def _load(self, frame: Frame) -> Frame:
        try:
            got = codec.parse_file_record(frame)
        except RecordError as exc:
            return self.scale.refuse(str(exc))
        kind, nums, num = got.file_type, got.nums, got.num
        expected = self._transfer
        in_sequence = num == 1 or expected == (kind, nums, num)
        if kind not in _FILE_TYPES or not 1 <= num <= nums or not in_sequence:
            self.scale.refuse(f"запись {num} из {nums} файла {kind} не ожидалась (ждали {expected})")
            return codec.bad_dfile(kind, nums, num)
        self._transfer = (kind, nums, num + 1) if num < nums else None
        if got.length != len(got.record):
            return self.scale.refuse(f"Len записи {got.length}, а пришло {len(got.record)} байт")
        if kind == FileType.PLU:
            refusal = self._take_plu(got.record)
        elif kind == FileType.BARCODES:
            refusal = self._take_barcode(got.record)
        else:
            refusal = None  # a file this emulator does not model: taken, not kept
        return refusal or codec.ack_dfile(kind, nums, num)

    def _take_plu(self, raw: bytes) -> Frame | None:
        try:
            record = codec.decode_plu(raw)
        except RecordError as exc:
            return self.scale.refuse(str(exc))
        found = codec.problems(record)
        if found:
            return self.scale.refuse(f"PLU {record.number}: {'; '.join(found)}")
        try:
            self.scale.memory.put(codec.plu_of(record))
        except OSError as exc:
            return self.scale.refuse(f"PLU {record.number} не сохранён: {exc}", ErrorCode.SAVE_FAILED)
        return None

    def _take_barcode(self, raw: bytes) -> Frame | None:
        try:
            template = codec.template_of(codec.decode_barcode(raw))
        except RecordError as exc:
            return self.scale.refuse(str(exc))
        try:
            self.scale.memory.set_template(template)
        except OSError as exc:
            return self.scale.refuse(f"формат штрихкода не сохранён: {exc}", ErrorCode.SAVE_FAILED)
        return None

    def _reset(self, frame: Frame) -> Frame:
        try:
            mask = codec.parse_mask(frame, Command.TCP_RESET_FILES)
        except frames.FrameError as exc:
            return self.scale.refuse(str(exc))
        if mask & _PLU_BIT:
            try:
                self.scale.memory.clear()
            except OSError as exc:
                return self.scale.refuse(f"файл товаров не стёрт: {exc}", ErrorCode.SAVE_FAILED)
        if self._transfer is not None and mask & codec.file_mask(self._transfer[0]):
            self._transfer = None
        self._snapshot = None
        return codec.ack_reset_files(mask)

    def _status(self) -> Frame:
        missing = 0 if self.scale.memory.table() else _PLU_BIT
        missing |= 0 if self.scale.memory.template is not None else _BARCODE_BIT
        return codec.file_status(missing)

    def _send_back(self, frame: Frame) -> Frame:
        try:
            kind, num = codec.parse_req_ufile(frame)
        except RecordError as exc:
            return self.scale.refuse(str(exc))
        if kind != FileType.PLU:
            return codec.err_ufile(kind, num)
        if num == 1 or self._snapshot is None:
            table = self.scale.memory.table()
            self._snapshot = [codec.record_of(table[n]) for n in sorted(table)]
        records = self._snapshot
        if not 1 <= num <= len(records):
            return codec.err_ufile(kind, num)
        item = records[num - 1]
        raw = item if isinstance(item, bytes) else codec.encode_plu(item._replace(prefix=self.scale.prefix()))
        records[num - 1] = raw
        return codec.ufile(kind, len(records), num, raw)


class _Connection(DeviceConnection):
    server: _LabelScaleServer

    def serve(self, sock: socket.socket) -> None:
        session = self.server.emulator.session()
        while True:
            sock.settimeout(self.server.frame_timeout if session.pending else None)
            try:
                chunk = sock.recv(1 << 16)
            except TimeoutError:
                reply = session.expire()
            else:
                if not chunk:
                    return
                reply = session.feed(chunk)
            if reply:
                sock.sendall(reply)


class _LabelScaleServer(TrackingTcpServer[MassaKLabelEmulator]):
    def __init__(self, sock: socket.socket, scale: MassaKLabelEmulator, frame_timeout: float) -> None:
        super().__init__(sock, _Connection, scale, name="massak-label-emulator")
        self.frame_timeout = frame_timeout


class RunningMassaKLabelScale(RunningTcpLabelScale[MassaKLabelEmulator]):
    """A started emulator: where it listens (``port``, ``address``), what it holds (``memory``), and
    ``busy`` to set; ``stop()`` switches it off."""


def start_massak_label_emulator(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    folder: Path | None = None,
    frame_timeout: float = 1.0,
) -> RunningMassaKLabelScale:
    """Start an emulated Massa-K label scale on ``host:port`` (0: a free port) in background threads,
    keeping its PLU table in ``folder`` when given one (so it survives a restart)."""
    scale = MassaKLabelEmulator(PluMemory(folder))
    return RunningMassaKLabelScale(
        scale, _LabelScaleServer(bind(host, port, listen=True), scale, frame_timeout)
    )

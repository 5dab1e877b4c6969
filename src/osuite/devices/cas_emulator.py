"""An emulated CAS CL-series label scale on a real TCP socket (port 20304 on a real one), speaking the
frames of :mod:`osuite.devices.cas_codec` as the scale's firmware parses them, for tests, the demo and
a store's IT person trying the scale server without a scale at hand.

It reads the byte stream frame by frame and answers each in turn, so a PC may send several frames
before reading the answers (TCP holds what the scale has not read yet):

- ``W L`` with a 147-byte record (and its ingredient text) → the PLU is stored in its
  :class:`~osuite.devices.labelscale.PluMemory` and answered ``G``; with 6 bytes the PLU is deleted
  (department 0, PLU 0: all of them). A PLU or department number out of range is refused with 82 (0x82
  when deleting, as the firmware does), a missing PLU with 98, a full memory with 89 and data of a wrong
  size with 97. The firmware itself checks only the numbers and sizes; the emulator also refuses with 97
  a record whose other fields are outside the scale's field table (type, unit weight, price, tare …),
  so a driver that sends what the scale's menu would not take is caught.
- ``W B`` → a barcode format is kept; format 1 (the one the driver's PLUs print with), when it is an
  EAN-13 a :class:`~osuite.core.barcodes.BarcodeTemplate` can read, becomes the memory's template.
- ``W K`` → a key set is kept in the memory (:meth:`~osuite.devices.labelscale.PluMemory.key_table`)
  and answered ``G``; a set outside 1..5, or a keyboard type other than its own (a bench keyboard, 1)
  for sets 1..4, is refused with 82, data that is not one whole set with 97, and so is a key calling a
  PLU number over 999999.
- ``R K`` → ``W K`` with the set as it holds it (every key empty when it was never written) and its
  keyboard type; a set outside 1..5 → ``N`` 82.
- ``R N`` → ``W N`` with the scale's status (empty platform, stable, kg with 3 decimals, 2 price
  decimals).
- any other data type → ``N`` 95.
- a frame whose tail or checksum is wrong, or whose length is beyond the longest frame the scale
  takes → ``N`` 84; bytes that cannot start a frame are skipped until one can, as the firmware hunts
  for the next header.
- a frame that stops half way: the firmware forgets it after 0.5 s of silence; the emulator forgets it
  too but answers ``N`` 84, so a driver sees its truncated frame refused rather than only a timeout.
- busy (``busy = True``: the scale is in its menu or printing) → it reads nothing and answers nothing
  until it is idle again; the protocol has no "busy" answer, so a driver sees a connection that is up
  and silent.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections import Counter
from pathlib import Path
from typing import Final

from osuite.devices import cas_codec as codec
from osuite.devices.emulator_server import DeviceConnection, RunningTcpLabelScale, TrackingTcpServer, bind
from osuite.devices.labelscale import PluMemory

log = logging.getLogger("osuite.devices.cas_emulator")

PARTIAL_FRAME_TIMEOUT: Final = 0.5  # the firmware's 5 × 100 ms before it forgets a frame
DEFAULT_CAPACITY: Final = 10_000
LABEL_BARCODE: Final = 1  # the barcode format whose template labels are built with
KEYBOARD: Final = 1  # its keyboard type: a bench scale's (B)

_HEADER: Final = codec.HEADER.size
_FROM_PC: Final = frozenset(b"WR")
_COMMA: Final = ord(",")


class CasEmulator:
    """The scale's memory and its answers to frames; thread-safe, shared by every connection."""

    def __init__(self, memory: PluMemory, *, scale_id: int = 1, capacity: int = DEFAULT_CAPACITY) -> None:
        self.memory = memory
        self.scale_id = scale_id
        self.capacity = capacity
        self.barcodes: dict[int, codec.BarcodeRecord] = {}
        self.frames = 0  # whole frames answered
        self.refused: Counter[int] = Counter()  # refusals by code, for tests
        self._lock = threading.Lock()
        self._numbers = set(memory.table())
        self._idle = threading.Event()
        self._idle.set()

    @property
    def busy(self) -> bool:
        return not self._idle.is_set()

    @busy.setter
    def busy(self, value: bool) -> None:
        if value:
            self._idle.clear()
        else:
            self._idle.set()

    def wait_idle(self, timeout: float) -> bool:
        return self._idle.wait(timeout)

    # --- the byte stream ------------------------------------------------------------------------

    def feed(self, buffer: bytearray) -> bytes:
        """Answers to every whole frame at the front of ``buffer``, which loses what was read."""
        replies: list[bytes] = []
        offset = 0
        size = len(buffer)
        while size - offset >= _HEADER:
            if not _looks_like_header(buffer, offset):
                offset = _next_header(buffer, offset + 1)
                continue
            length = buffer[offset + 7] | buffer[offset + 8] << 8
            if length > codec.MAX_DATA:
                replies.append(self._refuse_raw(buffer, offset, codec.ErrorCode.RECEIVE))
                offset = size  # the firmware flushes what it holds
                break
            end = offset + _HEADER + length + codec.TAIL_SIZE
            if end > size:
                break
            reply = self.answer(bytes(buffer[offset:end]))
            if reply:
                replies.append(reply)
            offset = end
        del buffer[:offset]
        return b"".join(replies)

    def expire(self, buffer: bytearray) -> bytes:
        """A frame that stopped half way: forgotten, and refused."""
        if not buffer:
            return b""
        reply = self._refuse_raw(buffer, 0, codec.ErrorCode.RECEIVE) if buffer[0] in _FROM_PC else b""
        log.info("a frame stopped after %d bytes: %s", len(buffer), bytes(buffer[:32]).hex(" "))
        buffer.clear()
        return reply

    def answer(self, raw: bytes) -> bytes:
        """The answer to one whole frame (header already checked)."""
        with self._lock:
            self.frames += 1
        command, data_type = raw[0:1], raw[1]
        length = len(raw) - _HEADER - codec.TAIL_SIZE
        data = raw[_HEADER : _HEADER + length]
        if raw[-3] != codec.COLON or raw[-1] != codec.CR or raw[-2] != codec.checksum(raw[2:-2]):
            log.info("frame with a bad tail or checksum: %s", raw[:32].hex(" "))
            sender = self.scale_id if data_type == codec.PLU else 0  # other types: the generic refusal
            return self._refuse(data_type, _number_in(data_type, data), codec.ErrorCode.RECEIVE, sender)
        if command == codec.READ:
            if data_type == codec.STATUS:
                return codec.status_answer(self.scale_id, codec.Status())
            if data_type == codec.SPEED_KEYS:
                return self._read_keys(data)
            return self._refuse(data_type, _number_in(data_type, data), codec.ErrorCode.INTERPRETER, 0)
        if data_type == codec.PLU:
            return self._plu(data)
        if data_type == codec.BARCODE:
            return self._barcode(data)
        if data_type == codec.SPEED_KEYS:
            return self._keys(data)
        return self._refuse(data_type, _number_in(data_type, data), codec.ErrorCode.INTERPRETER, 0)

    # --- data types -----------------------------------------------------------------------------

    def _plu(self, data: bytes) -> bytes:
        if len(data) == codec.DELETE.size:
            return self._delete(data)
        key = _number_in(codec.PLU, data)
        if not codec.RECORD.size <= len(data) <= codec.MAX_DATA:
            return self._refuse(codec.PLU, key, codec.ErrorCode.DATA)
        record = codec.decode_record(data)
        if not 1 <= record.number <= codec.MAX_PLU_NUMBER:
            return self._refuse(codec.PLU, key, codec.ErrorCode.NUMBER_OVER)
        if not 1 <= record.department <= codec.MAX_DEPARTMENT:
            return self._refuse(codec.PLU, key, codec.ErrorCode.NUMBER_OVER)
        problems = codec.out_of_range(record)
        if problems:
            log.info("PLU %d refused: %s", record.number, "; ".join(problems))
            return self._refuse(codec.PLU, key, codec.ErrorCode.DATA)
        ingredients = codec.decode_ingredients(data[codec.RECORD.size :])
        with self._lock:
            if record.number not in self._numbers and len(self._numbers) >= self.capacity:
                full = True
            else:
                full = False
                self._numbers.add(record.number)
        if full:
            return self._refuse(codec.PLU, key, codec.ErrorCode.DATA_FULL)
        self.memory.put(codec.plu_from(record, ingredients))
        return codec.good(codec.PLU, self.scale_id, key)

    def _delete(self, data: bytes) -> bytes:
        department, number = codec.DELETE.unpack(data)
        number &= 0xFFFFFF
        key = codec.plu_key(department, number)
        if department == 0 and number == 0:
            self.memory.clear()
            with self._lock:
                self._numbers.clear()
            return codec.good(codec.PLU, self.scale_id, 0)
        if department < 1 or not 1 <= number <= codec.MAX_PLU_NUMBER:
            return self._refuse(codec.PLU, key, 0x82)  # the firmware's delete spells 82 so
        with self._lock:
            self._numbers.discard(number)
        if not self.memory.remove(number):
            return self._refuse(codec.PLU, key, codec.ErrorCode.DATA_NON)
        return codec.good(codec.PLU, self.scale_id, key)

    def _barcode(self, data: bytes) -> bytes:
        number = _number_in(codec.BARCODE, data)
        if number not in codec.BARCODE_NUMBERS:
            return self._refuse(codec.BARCODE, number, codec.ErrorCode.NUMBER_OVER, 0)
        if len(data) == codec.NUMBER.size:  # a bare number: the firmware accepts it and keeps all
            return codec.good(codec.BARCODE, self.scale_id, number)
        if len(data) != codec.BARCODE_RECORD.size:
            return self._refuse(codec.BARCODE, number, codec.ErrorCode.DATA, 0)
        record = codec.decode_barcode(data)
        with self._lock:
            self.barcodes[number] = record
        if number == LABEL_BARCODE and record.type == codec.BARCODE_EAN13:
            template = codec.template_from_format(record.format, name=f"cas-{number}")
            if template is not None:
                self.memory.set_template(template)
        return codec.good(codec.BARCODE, self.scale_id, number)

    def _keys(self, data: bytes) -> bytes:
        number = _number_in(codec.SPEED_KEYS, data)
        key_set, keyboard = codec.KEY_HEADER.unpack((data + bytes(4))[:4])
        if key_set not in codec.KEY_SETS or (key_set != codec.SELF_SERVICE_SET and keyboard != KEYBOARD):
            return self._refuse(codec.SPEED_KEYS, number, codec.ErrorCode.NUMBER_OVER, 0)
        if len(data) != codec.KEY_TABLE.size:
            return self._refuse(codec.SPEED_KEYS, number, codec.ErrorCode.DATA, 0)
        table = codec.decode_keys(data)
        problems = codec.key_problems(table)
        if problems:
            log.info("key set %d refused: %s", key_set, "; ".join(problems))
            return self._refuse(codec.SPEED_KEYS, number, codec.ErrorCode.DATA, 0)
        self.memory.set_key_table(key_set, table.plus)
        return codec.good(codec.SPEED_KEYS, self.scale_id, number)

    def _read_keys(self, data: bytes) -> bytes:
        key_set = codec.KEY_HEADER.unpack((data + bytes(4))[:4])[0]
        if key_set not in codec.KEY_SETS:
            return self._refuse(
                codec.SPEED_KEYS, _number_in(codec.SPEED_KEYS, data), codec.ErrorCode.NUMBER_OVER, 0
            )
        keyboard = codec.SELF_SERVICE_SET if key_set == codec.SELF_SERVICE_SET else KEYBOARD
        table = codec.KeyTable(key_set, keyboard, self.memory.key_table(key_set) or codec.NO_KEYS)
        return codec.write_keys(self.scale_id, table)

    def _refuse(self, data_type: int, number: int, code: int, scale_id: int | None = None) -> bytes:
        with self._lock:
            self.refused[codec.error_code(code)] += 1
        sender = self.scale_id if scale_id is None else scale_id
        return codec.refusal(data_type, sender, number, code)

    def _refuse_raw(self, buffer: bytearray, offset: int, code: int) -> bytes:
        data_type = buffer[offset + 1] if len(buffer) > offset + 1 else codec.PLU
        data = bytes(buffer[offset + _HEADER : offset + _HEADER + codec.DELETE.size])
        return self._refuse(data_type, _number_in(data_type, data), code)


def _number_in(data_type: int, data: bytes) -> int:
    """The number an answer to ``data`` carries: a PLU's department × 10⁶ + PLU number, otherwise
    the first four bytes as the scale received them."""
    if data_type == codec.PLU:
        department, number = codec.DELETE.unpack((data + bytes(6))[:6])
        return codec.plu_key(department, number & 0xFFFFFF)
    return int(codec.NUMBER.unpack((data + bytes(4))[:4])[0])


def _looks_like_header(buffer: bytearray, offset: int) -> bool:
    return buffer[offset] in _FROM_PC and buffer[offset + 6] == _COMMA and buffer[offset + 9] == codec.COLON


def _next_header(buffer: bytearray, start: int) -> int:
    """Where the next frame could start (a W or R whose separators are in place, as far as the buffer
    shows), or the buffer's end."""
    size = len(buffer)
    for offset in range(start, size):
        if buffer[offset] not in _FROM_PC:
            continue
        if offset + 6 < size and buffer[offset + 6] != _COMMA:
            continue
        if offset + 9 < size and buffer[offset + 9] != codec.COLON:
            continue
        return offset
    return size


class _Connection(DeviceConnection):
    server: TrackingTcpServer[CasEmulator]

    def serve(self, sock: socket.socket) -> None:
        emulator = self.server.emulator
        buffer = bytearray()
        while True:
            sock.settimeout(PARTIAL_FRAME_TIMEOUT if buffer else None)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                reply = emulator.expire(buffer)
                if reply:
                    sock.sendall(reply)
                continue
            if not chunk:
                return
            buffer += chunk
            while not emulator.wait_idle(0.05):  # busy: the bytes wait, as in the scale's buffer
                if self.server.closing:
                    return
            replies = emulator.feed(buffer)
            if replies:
                sock.sendall(replies)


class RunningCasScale(RunningTcpLabelScale[CasEmulator]):
    """A started CAS emulator: ``address`` ("127.0.0.1:PORT") for the driver, ``memory`` for what it
    holds, ``busy`` to put it in its menu."""


def start_cas_emulator(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    folder: Path | None = None,
    scale_id: int = 1,
    capacity: int = DEFAULT_CAPACITY,
) -> RunningCasScale:
    """Start an emulated CAS scale on ``host:port`` (0: a free port) in background threads, keeping its
    PLUs in ``folder`` when given one (so they survive a restart, as a scale's flash does)."""
    emulator = CasEmulator(PluMemory(folder), scale_id=scale_id, capacity=capacity)
    tcp = TrackingTcpServer(bind(host, port, listen=True), _Connection, emulator, name="cas-emulator")
    return RunningCasScale(emulator, tcp)

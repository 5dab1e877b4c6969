"""An emulated Shtrih-Print label scale on a real UDP socket, for tests, the demo, the scale server's bench
and a store's IT person trying the scale server without a scale at hand.

It reads each datagram as the scale does («Протокол обмена весов ШТРИХ-ПРИНТ», frames in
:mod:`osuite.devices.shtrih_codec`) and answers as the scale would:

- ENQ → NAK (nothing to send, waiting for a command); a datagram that is not a frame (wrong start byte,
  a ``Len`` that disagrees with its size) → a bare NAK;
- a command it does not know → 120; data of the wrong size for the command (or a 55h whose record count
  and size disagree) → 121; a wrong password → 122;
- while it is busy (:attr:`ShtrihEmulator.busy`: its operator is in the system menu) every command that
  takes the password → 123, and the state (11h) shows the menu in its mode; while it clears its table
  (18h, for ``clear_seconds``) every command but 12h → 123, and 12h shows the clearing in its sub-mode;
- a record with a field out of range → that field's code (128 PLU number beyond the table, 130 item code,
  131 price, 132 shelf life, 133 tare, 134 group, 135 message, 142 sale date …); a block (55h) with one
  such record is refused whole, with the first bad record's code, and nothing of it is written;
- otherwise it does what it was told: 57h and 55h write records, 54h empties a cell (an empty cell too:
  the answer to a repeated 54h is the same), 18h empties the table (a repeated 18h while it clears is
  answered 0 again), 58h reads a record back (140: empty), 72h–77h read and set the barcode structure,
  prefix type and prefixes, 11h, 12h and FCh tell its state, mode and type.

Writing a record again with the same bytes leaves the same table, so a command the host sends twice
(its answer was lost) has the effect of one. The PLU table lives in a
:class:`~osuite.devices.labelscale.PluMemory`, the barcode settings beside it (``shtrih.json``); both
survive a restart when a folder is given. When the settings make a barcode an in-store template reads
(structure 3–8, prefix type "weight/piece prefix", a weight prefix 20–29 or 02), that template is the
memory's, so ``memory.label(n, grams=…)`` is the code the label of PLU ``n`` carries.

The wrong-password lockout (170 after repeated wrong passwords) and the synchronisation mode's hold on
the scale by one host (STE frames are served as STX ones) are not emulated.

For tests the emulator can lose datagrams: ``drop_every = n`` drops every n-th datagram crossing its
socket, either way (a dropped request is never run, a dropped answer was run); ``delay_every = n`` sends
every n-th answer ``delay`` seconds late.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from osuite.devices import shtrih_codec as codec
from osuite.devices.emulator_server import RunningLabelScale
from osuite.devices.labelscale import PluMemory

log = logging.getLogger("osuite.devices.shtrih_emulator")

SETTINGS_FILE = "shtrih.json"
MAX_PREFIX = 99
_PASSWORDLESS = frozenset(int(c) for c in codec.NO_PASSWORD)


class ShtrihEmulator:
    """The scale's state and its answers to datagrams; thread-safe."""

    def __init__(
        self,
        memory: PluMemory | None = None,
        *,
        folder: Path | None = None,
        password: str = codec.DEFAULT_PASSWORD,
        table_size: int = 10_000,
        messages: int = 1_000,
        clear_seconds: float = 0.0,
    ) -> None:
        self.memory = memory if memory is not None else PluMemory(folder)
        self.password = codec.password_bytes(password)
        self.table_size = table_size
        self.messages = messages
        self.clear_seconds = clear_seconds
        self.busy = False
        self.drop_every = 0
        self.delay_every = 0
        self.delay = 0.0
        self.received: Counter[int] = Counter()  # frames read, by command
        self.datagrams = 0  # datagrams crossing the socket either way, dropped ones included
        self.answers = 0
        self._lock = threading.Lock()
        self._clearing_until = 0.0
        self._settings = folder / SETTINGS_FILE if folder is not None else None
        self.structure, self.prefix_type, self.weight_prefix, self.piece_prefix = 7, 2, 20, 21
        if self._settings is not None and self._settings.exists():
            saved = json.loads(self._settings.read_text(encoding="utf-8"))
            self.structure = int(saved["structure"])
            self.prefix_type = int(saved["prefix_type"])
            self.weight_prefix = int(saved["weight_prefix"])
            self.piece_prefix = int(saved["piece_prefix"])

    # --- the link ------------------------------------------------------------------------------------

    def lose(self) -> bool:
        """Whether the datagram crossing the socket now is lost (``drop_every``)."""
        with self._lock:
            self.datagrams += 1
            return bool(self.drop_every) and self.datagrams % self.drop_every == 0

    def late(self) -> float:
        """How late the answer being sent now goes (``delay_every``, ``delay``)."""
        with self._lock:
            self.answers += 1
            return self.delay if self.delay_every and self.answers % self.delay_every == 0 else 0.0

    def answer(self, raw: bytes) -> bytes | None:
        """The datagram to send back for ``raw``, or None for silence."""
        if raw == bytes((codec.ENQ,)):
            return bytes((codec.NAK,))
        try:
            frame = codec.decode(raw)
        except codec.FrameError as exc:
            log.info("not a frame (%s): %s", exc, raw[:32].hex(" "))
            return bytes((codec.NAK,))
        with self._lock:
            self.received[frame.command] += 1
            error, data = self._run(frame.command, frame.data)
        return codec.answer(frame.command, error, data)

    # --- the commands ---------------------------------------------------------------------------------

    def _run(self, command: int, data: bytes) -> tuple[int, bytes]:
        if command not in codec.REQUEST_DATA:
            return codec.Error.UNKNOWN_COMMAND, b""
        size = codec.REQUEST_DATA[command]
        if (size is None and len(data) < codec.PASSWORD_SIZE + 1) or (size is not None and len(data) != size):
            return codec.Error.BAD_LENGTH, b""
        if command not in _PASSWORDLESS and data[: codec.PASSWORD_SIZE] != self.password:
            return codec.Error.BAD_PASSWORD, b""
        body = data[codec.PASSWORD_SIZE :]
        if time.monotonic() < self._clearing_until:
            if command == codec.Command.MODE:
                return codec.Error.OK, codec.pack_mode(self._mode(), codec.SUBMODE_CLEARING_PLUS)
            if command == codec.Command.CLEAR_ALL:
                return codec.Error.OK, b""  # the clearing it asks for is under way
            return codec.Error.WRONG_MODE, b""
        if self.busy and command not in _PASSWORDLESS:
            return codec.Error.WRONG_MODE, b""
        return self._do(command, body)

    def _do(self, command: int, body: bytes) -> tuple[int, bytes]:
        match command:
            case codec.Command.STATUS:
                status = codec.Status(table_size=self.table_size, messages=self.messages, mode=self._mode())
                return codec.Error.OK, codec.pack_status(status)
            case codec.Command.MODE:
                return codec.Error.OK, codec.pack_mode(self._mode(), 0)
            case codec.Command.DEVICE_TYPE:
                return codec.Error.OK, bytes((1, 1, 1, 6, 2, 0)) + "ШТРИХ-ПРИНТ М".encode(codec.ENCODING)
            case codec.Command.WRITE_PLU:
                return self._write([codec.unpack_record(body)])
            case codec.Command.WRITE_BLOCK:
                records = codec.block_records(body)
                if records is None:
                    return codec.Error.BAD_LENGTH, b""
                return self._write(records)
            case codec.Command.CLEAR_PLU | codec.Command.READ_PLU:
                number = codec.read_number(body)
                if not 1 <= number <= self.table_size:
                    return codec.Error.BAD_PLU_NUMBER, b""
                if command == codec.Command.CLEAR_PLU:
                    self.memory.remove(number)
                    return codec.Error.OK, b""
                plu = self.memory.table().get(number)
                if plu is None:
                    return codec.Error.EMPTY_PLU, b""
                return codec.Error.OK, codec.pack_record(codec.record_of(plu))[2:]
            case codec.Command.CLEAR_ALL:
                self.memory.clear()
                self._clearing_until = time.monotonic() + self.clear_seconds
                return codec.Error.OK, b""
            case codec.Command.GET_STRUCTURE:
                return codec.Error.OK, bytes((self.structure,))
            case codec.Command.GET_PREFIX_TYPE:
                return codec.Error.OK, bytes((self.prefix_type,))
            case codec.Command.GET_PREFIXES:
                return codec.Error.OK, bytes((self.weight_prefix, self.piece_prefix))
            case codec.Command.SET_STRUCTURE:
                if body[0] > codec.MAX_STRUCTURE:
                    return codec.Error.BAD_STRUCTURE, b""
                self.structure = body[0]
            case codec.Command.SET_PREFIX_TYPE:
                if body[0] > 3:
                    return codec.Error.BAD_PREFIX_TYPE, b""
                self.prefix_type = body[0]
            case codec.Command.SET_PREFIXES:
                weight, piece = body
                if weight > MAX_PREFIX:
                    return codec.Error.BAD_WEIGHT_PREFIX, b""
                if piece > MAX_PREFIX:
                    return codec.Error.BAD_PIECE_PREFIX, b""
                if weight == piece:
                    return codec.Error.SAME_PREFIXES, b""
                self.weight_prefix, self.piece_prefix = weight, piece
        self._settings_changed()
        return codec.Error.OK, b""

    def _write(self, records: list[codec.Record]) -> tuple[int, bytes]:
        for record in records:
            error = codec.record_error(record, table_size=self.table_size, messages=self.messages)
            if error:
                return error, b""
        for record in records:
            self.memory.put(codec.plu_of(record))
        return codec.Error.OK, b""

    def _mode(self) -> int:
        return codec.MODE_MENU if self.busy else 0

    def _settings_changed(self) -> None:
        if self.prefix_type == codec.PREFIX_TYPE_GOODS:
            template = codec.template_for(self.structure, self.weight_prefix)
            if template is not None and template != self.memory.template:
                self.memory.set_template(template)
        if self._settings is None:
            return
        self._settings.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._settings.with_suffix(".tmp")
        temporary.write_text(
            json.dumps(
                {
                    "structure": self.structure,
                    "prefix_type": self.prefix_type,
                    "weight_prefix": self.weight_prefix,
                    "piece_prefix": self.piece_prefix,
                }
            ),
            encoding="utf-8",
        )
        os.replace(temporary, self._settings)


class RunningShtrihScale(RunningLabelScale[ShtrihEmulator]):
    """A started emulator: ``port`` (and ``address``, ``host:port``) for the driver, ``memory`` for the
    PLUs it holds, ``busy`` to put its operator in the menu, ``emulator`` for the rest."""

    def __init__(self, emulator: ShtrihEmulator, sock: socket.socket) -> None:
        super().__init__(emulator, sock)
        self._sock = sock
        self._stopping = threading.Event()
        self._timers: set[threading.Timer] = set()
        self._thread = threading.Thread(target=self._serve, name="shtrih-emulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        for timer in list(self._timers):
            timer.cancel()
        self._sock.close()
        self.memory.close()

    def _serve(self) -> None:
        sock, emulator = self._sock, self.emulator
        while not self._stopping.is_set():
            try:
                raw, peer = sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                if self._stopping.is_set():
                    return
                continue  # an ICMP error left by an answer to a host that has gone
            if emulator.lose():
                continue
            reply = emulator.answer(raw)
            if reply is None or emulator.lose():
                continue
            delay = emulator.late()
            if delay:
                self._later(delay, reply, peer)
            else:
                with contextlib.suppress(OSError):
                    sock.sendto(reply, peer)

    def _later(self, delay: float, reply: bytes, peer: Any) -> None:
        def send() -> None:
            self._timers.discard(timer)
            if not self._stopping.is_set():
                with contextlib.suppress(OSError):
                    self._sock.sendto(reply, peer)

        timer = threading.Timer(delay, send)
        timer.daemon = True
        self._timers.add(timer)
        timer.start()


def start_shtrih_emulator(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    folder: Path | None = None,
    password: str = codec.DEFAULT_PASSWORD,
    table_size: int = 10_000,
    clear_seconds: float = 0.0,
) -> RunningShtrihScale:
    """Start the emulated scale on UDP ``host:port`` (0: a free port) in a background thread, keeping
    its PLUs and settings in ``folder`` when given; ``stop()`` ends it."""
    emulator = ShtrihEmulator(
        folder=folder, password=password, table_size=table_size, clear_seconds=clear_seconds
    )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
        sock.settimeout(0.05)
    except BaseException:
        sock.close()
        raise
    return RunningShtrihScale(emulator, sock)

"""Frames and records of Shtrih-M's «Протокол обмена весов ШТРИХ-ПРИНТ», the binary exchange of its label
scales, byte for byte and with no I/O: the driver (:mod:`osuite.devices.shtrih`) and the emulator
(:mod:`osuite.devices.shtrih_emulator`) both build and read their bytes here.

**Frames.** A message, either way, is::

    STX (02h) | Len | Command | data                      over Ethernet: one UDP datagram
    STX (02h) | Len | Command | data | LRC                over RS-232C, after the ENQ/NAK handshake

``Len`` counts the command byte and its data. ``LRC`` is the XOR of every byte from ``Len`` through the
last data byte. A request's data starts with the 4-byte password (ASCII digits, "0030" out of the box)
for every command but the few that only read the scale's state (11h, 12h, FCh). An answer's data
starts with the error code (0: done); a refused command is answered with its code and the error code
only. A frame may start with STE (03h) instead of STX: the protocol's "synchronisation mode". The
single bytes ENQ (05h), ACK (06h), NAK (15h) and BUSY (0Bh) are the link's own signals: over UDP the
scale answers a datagram it cannot read as a frame with a bare NAK, and a host that finds the scale
held by another host with a bare BUSY.

The block write 55h can be longer than 254 bytes, so its ``Len`` is always FFh ("the length of this
command is dynamic"): its true size is given by its record count (and by the datagram's size).

**A PLU record** (the "extended format" of 57h, 55h and the answer of 58h), 82 bytes, little-endian::

    PLU number      uint16   1 … the scale's table size
    item code       uint32   1 … 999 999 (the item field of the label's barcode)
    name, line 1    28 bytes CP1251
    name, line 2    28 bytes CP1251
    price           uint24   0 … 999 999, in the smallest money unit (kopecks with 2 decimals shown)
    formats         1 byte   low nibble: the PLU's own label format, high nibble: its own barcode
                             structure (0: the scale's setting)
    shelf life      uint16   days, 0 … 9 999 (0: none printed)
    tare            uint16   grams, 0 … 9 999
    group code      uint16   0 … 9 999
    message number  uint16   0: none (ingredients are written apart, 52h)
    kind and images 1 byte   bit 7: piece goods; bits 4–6: the PLU's own barcode prefix type (0 … 4);
                             bits 0–3: which of the four pictures to print
    ROSTEST code    4 bytes  ASCII
    sale date       3 bytes  DD MM YY, 00 00 00: none

**Where the public documents leave a detail open** (and what this module does):

- Over Ethernet the frame carries no LRC (the document says so; the public clients that talk to real
  scales send none): :func:`encode` and :func:`decode` take ``lrc=True`` for the RS-232C frame.
- How the two name lines pad: with NUL bytes here, and a name is the concatenation of its two lines up
  to their first NUL. :func:`name_lines` breaks a long name after a space when the rest fits the second
  line (the space stays at the end of line 1), so the label never breaks a word that need not be
  broken, and the name reads back exactly as written.
- The barcode settings' data: 75h takes the structure number (1 byte, 0 … 14), 73h the prefix type
  (1 byte, 0 … 3), 77h the weight-goods and piece-goods prefixes (1 byte each, 0 … 99); their reading
  counterparts (74h, 72h, 76h) answer the same bytes.
- A PLU's label format goes in the low nibble of its formats byte as the scale server's setting gives
  it (0: the scale's setting); the document gives the nibble and no list of formats, so 0 … 15 is sent
  and a larger one is refused here, before sending, as the scale would (113), and the emulator takes
  any nibble. The barcode structure nibble stays 0: the structure is the scale's (75h).
- The ranges the document names without a bound: item code 1 … 999 999, shelf life 0 … 9 999 days,
  tare 0 … 9 999 g, group code 0 … 9 999 (:func:`record_error`, which the emulator answers by and
  :func:`plu_problem`, which the driver checks before sending). A 55h with one record out of range is
  refused whole with that record's code: nothing of it is written.
- The state answer of 11h is 72 bytes; the offsets of the fields read here (software version, model,
  table size, scale number, mode, sub-mode, decimal point, printer) follow the document, the rest is
  left zero by the emulator.
"""

from __future__ import annotations

import struct
from dataclasses import astuple, dataclass, fields
from datetime import date
from enum import IntEnum
from operator import attrgetter
from typing import Final

from osuite.core.barcodes import BarcodeTemplate
from osuite.devices.labelscale import Plu, cut

STX: Final = 0x02
STE: Final = 0x03
ENQ: Final = 0x05
ACK: Final = 0x06
NAK: Final = 0x15
BUSY: Final = 0x0B
DYNAMIC: Final = 0xFF  # the Len of 55h: "dynamic, may exceed 255 bytes"

ENCODING: Final = "cp1251"
DEFAULT_PASSWORD: Final = "0030"
PASSWORD_SIZE: Final = 4
NAME_LINE: Final = 28
NAME_BYTES: Final = 2 * NAME_LINE
BLOCK_MAX: Final = 6  # records in one 55h: "количество ПЛУ 1..6"

MAX_ITEM_CODE: Final = 999_999
MAX_PRICE: Final = 999_999
MAX_SHELF_LIFE: Final = 9_999
MAX_TARE: Final = 9_999
MAX_GROUP: Final = 9_999
MAX_PREFIX_TYPE: Final = 4
MAX_STRUCTURE: Final = 14
MAX_LABEL_FORMAT: Final = 0x0F  # the low nibble of the record's formats byte


class Command(IntEnum):
    STATUS = 0x11  # состояние весов (no password)
    MODE = 0x12  # текущий режим весов (no password)
    CLEAR_ALL = 0x18  # очистить базу товаров и сообщений
    CLEAR_PLU = 0x54  # очистить ПЛУ
    WRITE_BLOCK = 0x55  # записать блок ПЛУ расширенного формата
    WRITE_PLU = 0x57  # записать ПЛУ расширенного формата
    READ_PLU = 0x58  # получить ПЛУ расширенного формата
    GET_PREFIX_TYPE = 0x72
    SET_PREFIX_TYPE = 0x73
    GET_STRUCTURE = 0x74
    SET_STRUCTURE = 0x75
    GET_PREFIXES = 0x76
    SET_PREFIXES = 0x77
    DEVICE_TYPE = 0xFC  # тип устройства (no password)


NO_PASSWORD: Final = frozenset({Command.STATUS, Command.MODE, Command.DEVICE_TYPE})

# The data each request carries after its command byte (password included); None: 55h's dynamic size.
REQUEST_DATA: Final[dict[int, int | None]] = {
    Command.STATUS: 0,
    Command.MODE: 0,
    Command.CLEAR_ALL: 4,
    Command.CLEAR_PLU: 6,
    Command.WRITE_BLOCK: None,
    Command.WRITE_PLU: 4 + 82,
    Command.READ_PLU: 6,
    Command.GET_PREFIX_TYPE: 4,
    Command.SET_PREFIX_TYPE: 5,
    Command.GET_STRUCTURE: 4,
    Command.SET_STRUCTURE: 5,
    Command.GET_PREFIXES: 4,
    Command.SET_PREFIXES: 6,
    Command.DEVICE_TYPE: 0,
}


class Error(IntEnum):
    """Error codes of the document's appendix that this suite meets (the full list is in ERROR_TEXT)."""

    OK = 0
    SAME_PREFIXES = 100
    BAD_PREFIX_TYPE = 106
    BAD_WEIGHT_PREFIX = 111
    BAD_PIECE_PREFIX = 112
    BAD_LABEL_FORMAT = 113
    BAD_STRUCTURE = 114
    UNKNOWN_COMMAND = 120
    BAD_LENGTH = 121
    BAD_PASSWORD = 122
    WRONG_MODE = 123
    BAD_VALUE = 124
    BAD_PLU_NUMBER = 128
    BAD_ITEM_CODE = 130
    BAD_PRICE = 131
    BAD_SHELF_LIFE = 132
    BAD_TARE = 133
    BAD_GROUP = 134
    BAD_MESSAGE = 135
    BAD_PICTURE = 136
    EMPTY_TABLE = 139
    EMPTY_PLU = 140
    BAD_SALE_DATE = 142
    BAD_PREFERRED_PREFIX = 144
    BAD_PREFERRED_STRUCTURE = 154
    PLU_NOT_FOUND = 156
    CLOCK_FAILURE = 165
    DATABASE_BROKEN = 168
    PASSWORD_LOCKED = 170


ERROR_TEXT: Final[dict[int, str]] = {
    1: "нет бумаги",
    2: "этикетка не спозиционирована",
    3: "открыта печатающая головка",
    4: "не снята отпечатанная этикетка",
    5: "перегрев печатающей головки",
    6: "перегрев печатающей головки во время печати",
    7: "пустой формат этикетки",
    9: "печать прервана",
    10: "ошибка чтения часов",
    11: "ошибка упаковки даты",
    12: "ошибка чтения сообщений",
    13: "ошибка чтения накоплений",
    14: "ошибка формирования штрихкода",
    15: "неверное количество",
    16: "неверный вес",
    17: "неверная тара",
    18: "неверная цена",
    19: "неверная стоимость",
    20: "нулевая стоимость",
    100: "весовой и штучный префиксы совпадают",
    101: "неверный префикс итоговой этикетки",
    102: "номер весов совпадает с префиксом итоговой этикетки",
    103: "групповой код совпадает с префиксом итоговой этикетки",
    104: "весовой префикс совпадает с префиксом итоговой этикетки",
    105: "штучный префикс совпадает с префиксом итоговой этикетки",
    106: "неверный тип префикса штрихкода",
    107: "неверный номер весов",
    108: "неверный групповой код",
    109: "неверное число строк наименования товара",
    110: "неверное число строк наименования магазина",
    111: "неверный весовой префикс",
    112: "неверный штучный префикс",
    113: "неверный номер формата этикетки",
    114: "неверный номер структуры штрихкода",
    115: "печать запрещена настройкой",
    116: "неверный префикс GS1",
    120: "неизвестная команда",
    121: "неверная длина данных команды",
    122: "неверный пароль",
    123: "команда не выполняется в текущем режиме весов",
    124: "неверное значение параметра",
    125: "порт не поддерживается",
    126: "только для чтения",
    127: "печать копии невозможна",
    128: "неверный номер ПЛУ",
    129: "неверный номер строки сообщения",
    130: "неверный код товара",
    131: "неверная цена товара",
    132: "неверный срок годности",
    133: "неверная тара товара",
    134: "неверный групповой код товара",
    135: "неверный номер сообщения",
    136: "неверный номер изображения",
    139: "таблица товаров пуста",
    140: "ПЛУ пусто",
    141: "товар выбран",
    142: "неверная дата реализации",
    143: "неверная дата изготовления",
    144: "неверный приоритетный тип префикса",
    145: "сумматор не пуст",
    146: "сумматор пуст",
    149: "печать итоговой этикетки запрещена",
    152: "вес не зафиксирован",
    153: "переполнение стоимости",
    154: "неверный приоритетный формат штрихкода",
    155: "таблица товаров не пуста",
    156: "ПЛУ не найдено",
    165: "сбой часов",
    167: "не поддерживается этим интерфейсом",
    168: "ошибка структуры базы",
    169: "память SRAM не инициализирована или неисправна",
    170: "исчерпаны попытки ввода пароля",
}


def error_text(code: int) -> str:
    return ERROR_TEXT.get(code, f"ошибка весов {code}")


class FrameError(ValueError):
    """Bytes that are not a well-formed frame: wrong start byte, a Len that disagrees with the size, a
    bad LRC, data too short for its command."""


class LrcMismatch(FrameError):
    def __init__(self, expected: int, received: int) -> None:
        super().__init__(f"LRC mismatch: the frame gives {expected:#04x}, it carries {received:#04x}")
        self.expected = expected
        self.received = received


def lrc(data: bytes) -> int:
    """The XOR of ``data`` (``Len`` through the last data byte of a frame)."""
    value = 0
    for byte in data:
        value ^= byte
    return value


@dataclass(frozen=True)
class Frame:
    command: int
    data: bytes = b""
    sync: bool = False  # started with STE: the synchronisation mode


def encode(frame: Frame, *, lrc_byte: bool = False, dynamic: bool | None = None) -> bytes:
    """A frame's bytes: the UDP datagram, or with ``lrc_byte`` the RS-232C frame. ``Len`` is FFh when
    ``dynamic`` says so, by default for a 55h request."""
    size = 1 + len(frame.data)
    if dynamic is None:
        dynamic = frame.command == Command.WRITE_BLOCK
    if dynamic:
        length = DYNAMIC
    elif size < DYNAMIC:
        length = size
    else:
        raise FrameError(f"command {frame.command:#04x} with {len(frame.data)} bytes of data exceeds Len")
    raw = bytes((STE if frame.sync else STX, length, frame.command)) + frame.data
    return raw + bytes((lrc(raw[1:]),)) if lrc_byte else raw


def decode(raw: bytes, *, lrc_byte: bool = False) -> Frame:
    """The frame ``raw`` holds, exactly; with ``lrc_byte`` the RS-232C frame, its LRC checked."""
    trailer = 1 if lrc_byte else 0
    if len(raw) < 3 + trailer:
        raise FrameError(f"a frame has at least {3 + trailer} bytes, got {len(raw)}")
    if raw[0] not in (STX, STE):
        raise FrameError(f"a frame starts with STX (02h) or STE (03h), not {raw[0]:#04x}")
    length, command = raw[1], raw[2]
    if length == DYNAMIC:
        if command != Command.WRITE_BLOCK:  # the only command the document lets be that long
            raise FrameError(f"Len FFh is for the block write 55h only, not command {command:#04x}")
    elif length == 0:
        raise FrameError("Len counts at least the command byte; it is 0")
    elif len(raw) != 2 + length + trailer:
        raise FrameError(f"Len {length} makes a frame of {2 + length + trailer} bytes, got {len(raw)}")
    if lrc_byte:
        expected = lrc(raw[1:-1])
        if raw[-1] != expected:
            raise LrcMismatch(expected, raw[-1])
    return Frame(command, raw[3 : len(raw) - trailer], raw[0] == STE)


# --- requests and answers -------------------------------------------------------------------------


def password_bytes(password: str) -> bytes:
    """The 4-byte password field; only four ASCII digits are a password."""
    if len(password) != PASSWORD_SIZE or not password.isascii() or not password.isdigit():
        raise ValueError(f"a Shtrih-Print password is four digits, not {password!r}")
    return password.encode("ascii")


def request(command: int, password: bytes, data: bytes = b"") -> bytes:
    """The UDP datagram of a request; the password is left out for the commands that take none."""
    body = data if command in NO_PASSWORD else password + data
    return encode(Frame(command, body))


@dataclass(frozen=True)
class Answer:
    command: int
    error: int
    data: bytes = b""

    @property
    def ok(self) -> bool:
        return self.error == 0


def answer(command: int, error: int, data: bytes = b"") -> bytes:
    """The scale's answer datagram; a refusal carries the command and error code only."""
    return encode(Frame(command, bytes((error,)) + (data if error == 0 else b"")), dynamic=False)


def parse_answer(raw: bytes) -> Answer:
    frame = decode(raw)
    if not frame.data:
        raise FrameError(f"the answer to {frame.command:#04x} has no error code")
    return Answer(frame.command, frame.data[0], frame.data[1:])


# --- PLU records ----------------------------------------------------------------------------------

# number, item code, line 1, line 2, price (low 16 bits, high 8 bits), formats, shelf life, tare,
# group code, message, kind and pictures, ROSTEST, sale date
_RECORD: Final = struct.Struct("<HI28s28sHBBHHHHB4s3s")
RECORD_SIZE: Final = _RECORD.size  # 82
_NUMBER: Final = struct.Struct("<H")
PIECE: Final = 0x80
NO_ROSTEST: Final = b"    "
NO_DATE: Final = b"\0\0\0"


@dataclass(frozen=True)
class Record:
    """Every field of an extended-format PLU record, as the scale keeps it, in the record's order."""

    number: int
    item_code: int
    line1: bytes
    line2: bytes
    price: int
    formats: int = 0
    shelf_life_days: int = 0
    tare_grams: int = 0
    group: int = 0
    message: int = 0
    flags: int = 0
    rostest: bytes = NO_ROSTEST
    sale_date: bytes = NO_DATE

    @property
    def piece(self) -> bool:
        return bool(self.flags & PIECE)

    @property
    def name(self) -> str:
        return (_line(self.line1) + _line(self.line2)).decode(ENCODING, errors="replace")


def _line(field: bytes) -> bytes:
    return field.split(b"\0", 1)[0]


def fit_name(name: str) -> str:
    """The name as the scale holds it: at most 56 CP1251 bytes, cut at a character boundary, a
    character CP1251 lacks (or a NUL, which would end the line) written as "?"."""
    return cut(name.replace("\0", "?"), NAME_BYTES, ENCODING)


def name_lines(name: str) -> tuple[bytes, bytes]:
    """The two 28-byte lines of ``fit_name(name)``, broken after a space where the rest fits line 2."""
    encoded = fit_name(name).encode(ENCODING)
    if len(encoded) <= NAME_LINE:
        return encoded, b""
    space = encoded.rfind(b" ", 0, NAME_LINE)
    if space > 0 and len(encoded) - space - 1 <= NAME_LINE:
        return encoded[: space + 1], encoded[space + 1 :]
    return encoded[:NAME_LINE], encoded[NAME_LINE:]


def record_of(plu: Plu) -> Record:
    """The record that writes ``plu`` (its name fitted, its label format, no message, group code,
    picture or date)."""
    line1, line2 = name_lines(plu.name)
    return Record(
        number=plu.number,
        item_code=plu.item_code,
        line1=line1,
        line2=line2,
        price=plu.price,
        formats=plu.label_format,
        shelf_life_days=plu.shelf_life_days,
        tare_grams=plu.tare_grams,
        flags=0 if plu.weighted else PIECE,
    )


def plu_of(record: Record) -> Plu:
    return Plu(
        number=record.number,
        item_code=record.item_code,
        name=record.name,
        price=record.price,
        weighted=not record.piece,
        shelf_life_days=record.shelf_life_days,
        tare_grams=record.tare_grams,
        label_format=record.formats & MAX_LABEL_FORMAT,
    )


def plu_problem(plu: Plu) -> tuple[int, str] | None:
    """Why no record can carry ``plu`` (the error code a scale gives, in words), or None."""
    if not 1 <= plu.number <= 0xFFFF:
        return Error.BAD_PLU_NUMBER, f"номер ПЛУ {plu.number} вне 1…65535"
    if not 1 <= plu.item_code <= MAX_ITEM_CODE:
        return Error.BAD_ITEM_CODE, f"код товара {plu.item_code} вне 1…{MAX_ITEM_CODE}"
    if not 0 <= plu.price <= MAX_PRICE:
        return Error.BAD_PRICE, f"цена {plu.price} коп. вне 0…{MAX_PRICE}"
    if not 0 <= plu.shelf_life_days <= MAX_SHELF_LIFE:
        return Error.BAD_SHELF_LIFE, f"срок годности {plu.shelf_life_days} дн. вне 0…{MAX_SHELF_LIFE}"
    if not 0 <= plu.tare_grams <= MAX_TARE:
        return Error.BAD_TARE, f"тара {plu.tare_grams} г вне 0…{MAX_TARE}"
    if not 0 <= plu.label_format <= MAX_LABEL_FORMAT:
        return Error.BAD_LABEL_FORMAT, f"формат этикетки {plu.label_format} вне 0…{MAX_LABEL_FORMAT}"
    return None


# Record's fields in _RECORD's order (the price split in two); faster than astuple on an upload's path.
_RECORD_FIELDS: Final = attrgetter(*(field.name for field in fields(Record)))


def pack_record(record: Record) -> bytes:
    """82 bytes; raises :class:`struct.error` for a field its width cannot hold."""
    number, item, line1, line2, price, *rest = _RECORD_FIELDS(record)
    return _RECORD.pack(number, item, line1, line2, price & 0xFFFF, price >> 16, *rest)


def unpack_record(raw: bytes | memoryview, offset: int = 0) -> Record:
    number, item, line1, line2, price_low, price_high, *rest = _RECORD.unpack_from(raw, offset)
    values = (number, item, line1, line2, price_low | price_high << 16, *rest)
    return Record(*values)


def record_error(record: Record, *, table_size: int, messages: int) -> int:
    """The error code a scale with ``table_size`` PLUs and ``messages`` messages answers for
    ``record``; 0 when it takes it."""
    checks = (
        (1 <= record.number <= table_size, Error.BAD_PLU_NUMBER),
        (1 <= record.item_code <= MAX_ITEM_CODE, Error.BAD_ITEM_CODE),
        (record.price <= MAX_PRICE, Error.BAD_PRICE),
        (record.shelf_life_days <= MAX_SHELF_LIFE, Error.BAD_SHELF_LIFE),
        (record.tare_grams <= MAX_TARE, Error.BAD_TARE),
        (record.group <= MAX_GROUP, Error.BAD_GROUP),
        (record.message <= messages, Error.BAD_MESSAGE),
        (record.formats >> 4 <= MAX_STRUCTURE, Error.BAD_PREFERRED_STRUCTURE),
        ((record.flags >> 4) & 0x07 <= MAX_PREFIX_TYPE, Error.BAD_PREFERRED_PREFIX),
        (_sale_date_ok(record.sale_date), Error.BAD_SALE_DATE),
    )
    for ok, code in checks:
        if not ok:
            return code
    return Error.OK


def _sale_date_ok(raw: bytes) -> bool:
    if raw == NO_DATE:
        return True
    day, month, year = raw
    try:
        date(2000 + year, month, day)
    except ValueError:
        return False
    return True


def write_plu(password: bytes, record: bytes) -> bytes:
    """57h: one packed record."""
    return request(Command.WRITE_PLU, password, record)


def write_block(password: bytes, records: list[bytes]) -> bytes:
    """55h: one to six packed records."""
    if not 1 <= len(records) <= BLOCK_MAX:
        raise ValueError(f"a block holds 1…{BLOCK_MAX} records, not {len(records)}")
    return request(Command.WRITE_BLOCK, password, bytes((len(records),)) + b"".join(records))


def block_records(data: bytes) -> list[Record] | None:
    """The records of a 55h request's data (after the password); None when the count and the size
    disagree or the count is out of 1…6."""
    if not data:
        return None
    count = data[0]
    if not 1 <= count <= BLOCK_MAX or len(data) != 1 + count * RECORD_SIZE:
        return None
    return [unpack_record(data, 1 + i * RECORD_SIZE) for i in range(count)]


def plu_number(number: int) -> bytes:
    return _NUMBER.pack(number)


def read_number(data: bytes) -> int:
    (number,) = _NUMBER.unpack(data)
    return int(number)


# --- the state answer (11h) and the mode answer (12h) ---------------------------------------------

# version (2 ASCII), model, ·3·, table size, message table size, message lines, max kg, ·1·, scale
# number, ·2·, mode, sub-mode, ·10·, decimal point, ·2·, print mode, ·2·, printer, weighing unit,
# weight g, tare g, price, cost, selected PLU, selected is piece, ·19·
_STATUS: Final = struct.Struct("<2sH3xHHBBxB2xHB10xB2xB2xBBhhIIHB19x")
STATUS_SIZE: Final = _STATUS.size  # 72
_MODE: Final = struct.Struct("<HB")

MODE_PASSWORD_ENTRY: Final = 0x0800
MODE_MENU: Final = 0x1000
MODE_PRICE_ENTRY: Final = 0x2000
MODE_FAST_LOAD: Final = 0x4000
SUBMODE_CLEARING_PLUS: Final = 0x01
SUBMODE_CLEARING_TOTALS: Final = 0x02
SUBMODE_CLEAR_PLUS_FAILED: Final = 0x08
SUBMODE_CLEAR_TOTALS_FAILED: Final = 0x10
PRINTER_PAPER: Final = 0x01
PRINTER_POSITIONED: Final = 0x04
PRINTER_HEAD_OPEN: Final = 0x08

MODELS: Final[dict[int, str]] = {
    0: "ШТРИХ-ПРИНТ",
    1: "ШТРИХ-ПРИНТ С",
    2: "ШТРИХ-ПРИНТ М",
    3: "ШТРИХ-ПРИНТ Ф",
    4: "ШТРИХ-ПРИНТ ПВ",
}


@dataclass(frozen=True)
class Status:
    """The state answer (11h), its fields in the order the answer carries them."""

    version: str = "1.6"
    model: int = 2
    table_size: int = 10_000
    messages: int = 1_000
    message_lines: int = 8
    max_kg: int = 15
    scale_number: int = 1
    mode: int = 0
    submode: int = 0
    decimals: int = 2
    print_mode: int = 1
    printer: int = PRINTER_PAPER | PRINTER_POSITIONED
    weighing: int = 0x01
    weight_grams: int = 0
    tare_grams: int = 0
    price: int = 0
    cost: int = 0
    selected_plu: int = 0
    selected_piece: bool = False

    @property
    def busy(self) -> bool:
        return self.mode != 0 or bool(self.submode & (SUBMODE_CLEARING_PLUS | SUBMODE_CLEARING_TOTALS))


def pack_status(status: Status) -> bytes:
    version, *numbers, piece = astuple(status)  # Status's fields stand in _STATUS's order
    major, _, minor = version.partition(".")
    return _STATUS.pack((major[:1] + minor[:1]).encode("ascii"), *numbers, int(piece))


def unpack_status(data: bytes) -> Status:
    if len(data) < STATUS_SIZE:
        raise FrameError(f"the state answer carries {STATUS_SIZE} bytes, got {len(data)}")
    version, *numbers, piece = _STATUS.unpack_from(data)
    text = version.decode("ascii", errors="replace")
    values = (f"{text[:1]}.{text[1:]}", *numbers, bool(piece))
    return Status(*values)


def pack_mode(mode: int, submode: int) -> bytes:
    return _MODE.pack(mode, submode)


def unpack_mode(data: bytes) -> tuple[int, int]:
    if len(data) < _MODE.size:
        raise FrameError(f"the mode answer carries {_MODE.size} bytes, got {len(data)}")
    mode, submode = _MODE.unpack_from(data)
    return int(mode), int(submode)


# --- the barcode the label carries ----------------------------------------------------------------


@dataclass(frozen=True)
class Structure:
    """One of the scale's barcode structures (75h): prefix П, item code Т, cost С or weight В, check
    digit К; ``value`` is "weight" (grams) or "price" (cost in kopecks)."""

    number: int
    pattern: str
    item_start: int
    item_length: int
    value: str
    value_length: int


def _structure(number: int, pattern: str) -> Structure:
    prefix = len(pattern) - len(pattern.lstrip("П"))
    item = pattern.count("Т")
    value = "weight" if "В" in pattern else "price"
    return Structure(number, pattern, prefix, item, value, pattern.count("В") + pattern.count("С"))


# The document's list; 1, 2 carry a check digit of their own ("к"), 9 a one-digit prefix and 10–14 a
# GS1 company number: no in-store template reads those, so only these are offered to a template.
STRUCTURES: Final[dict[int, Structure]] = {
    n: _structure(n, p)
    for n, p in {
        3: "ППТТТТТТССССК",
        4: "ППТТТТТСССССК",
        5: "ППТТТТССССССК",
        6: "ППТТТТТТВВВВК",
        7: "ППТТТТТВВВВВК",
        8: "ППТТТТВВВВВВК",
    }.items()
}
PREFIX_TYPE_GOODS: Final = 2  # 0: scale number, 1: group code, 2: weight/piece prefix, 3: GS1 prefix


def structure_for(template: BarcodeTemplate) -> Structure | None:
    """The scale's structure that prints what ``template`` reads, or None when none does: a weight in
    grams or a cost in kopecks right after a two-digit prefix and the item code."""
    wanted = {"weight": 3, "price": 2}.get(template.kind)
    if wanted is None or template.value_decimals != wanted:
        return None
    for structure in STRUCTURES.values():
        if (
            structure.value == template.kind
            and template.item_start == structure.item_start
            and template.item_length == structure.item_length
            and template.value_start == structure.item_start + structure.item_length
            and template.value_length == structure.value_length
        ):
            return structure
    return None


def template_for(structure: int, prefix: int) -> BarcodeTemplate | None:
    """The template that reads what a scale set to ``structure`` and weight-goods ``prefix`` prints."""
    known = STRUCTURES.get(structure)
    text = f"{prefix:02d}"
    if known is None or not (text == "02" or text.startswith("2")):
        return None
    return BarcodeTemplate(
        name=f"shtrih-{structure}",
        prefixes=[text],
        kind="weight" if known.value == "weight" else "price",
        item_start=known.item_start,
        item_length=known.item_length,
        value_start=known.item_start + known.item_length,
        value_length=known.value_length,
        value_decimals=3 if known.value == "weight" else 2,
    )

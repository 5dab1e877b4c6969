"""Frames and records of the CAS CL-series label scales' binary PC protocol (CL5000J / CL3000 /
CL5200J, and CL5200/CL5500 built with the "CL5000J protocol"), as CL-Works speaks it over TCP port
20304. Pure: bytes in, bytes out, no I/O.

Sources: CAS's own firmware for the CL5200/CL5500 (its ``cl5kj_interpreter.c``, ``mode_commun.c``,
``plu_device.h``, ``plu_manager.c`` and ``plu_edit.c``, which parse these frames, define the record and
edit the speed keys), the CL5000J PLU structure it keeps for compatibility, and the CL-series user
manuals (barcode format symbols).

Every frame, either way, is::

    Command (1) | Data type (1) | Address (uint32 LE) | "," | Length (uint16 LE) | ":" |
    Data (Length bytes) | ":" | Checksum (1) | CR

``Command`` is ``W`` (write: the PC sends data, or the scale sends data it was asked to read), ``R``
(read), ``G`` (good: done) or ``N`` (not done). ``Data type`` is one letter: ``L`` PLU, ``B`` barcode
format, ``K`` speed keys, ``N`` scale status, and others this module does not speak. The checksum is the
low byte of the plain sum of every byte from the address up to and including the ``:`` after the data
(so the header's ``,`` and ``:`` count, and the command and data type do not).

Answers (the scale's ``commun_write_response``)::

    G | type | scale id, 0, 0, 0 | "," | 04 00 | ":" | number (uint32 LE)             | ":" | sum | CR
    N | type | scale id, 0, 0, 0 | "," | 05 00 | ":" | number (uint32 LE) | error (1) | ":" | sum | CR

For a PLU the number is department × 1 000 000 + PLU number. Error codes: 82 number out of range, 84
frame received broken (header, tail, checksum), 88 ingredient memory full, 89 PLU memory full, 95 data
type unknown, 97 data of a wrong size or form, 98 no such record. The firmware's PLU delete and write
paths answer 0x82 and 0x88 where the header file says 82 and 88; both spellings are read as the same.

The PLU record (data type ``L``) is 147 bytes, little-endian and packed, in this order (the scale
stores it as is and reads it through its field table, whose ranges follow each field)::

    off size field                     range            we send
      0  2   department                1..99            the driver's department (1)
      2  4   PLU number                1..999999        Plu.number
      6  1   type                      1..4             1 by weight, 2 by count
      7 40   name 1                    text             the name (a longer one wraps to name 2)
     47 40   name 2                    text             the rest of a long name, or empty
     87  5   name 3                    text             empty
     92  2   group                     0..99            0
     94  2   label format              0..99            Plu.label_format (0: the scale's default)
     96  2   aux label format          0..99            0
     98  2   origin                    0..500           0
    100  1   unit weight               1..3             1: the price is per kg
    101  4   fixed weight              0..999999        0
    105  4   item code                 0..999999        Plu.item_code (the barcode's item digits)
    109  2   pieces                    0..999           1 for a by-count PLU, else 0
    111  1   quantity unit symbol      0..8             0
    112  1   fixed price               0..1             0
    113  4   unit price                0..9999999       Plu.price, in kopecks
    117  4   special price             0..9999999       0
    121  4   tare                      0..99999         Plu.tare_grams
    125  1   tare number               0..99            0
    126  2   barcode format number     0..99            1: the format set_barcode writes
    128  2   aux barcode number        0..99            0
    130  2   produced date             0..999           0: not printed
    132  2   packed date               0..999           0: today
    134  1   packed time               0..99            0: now
    135  4   sell-by date              0..9999          0 none, else shelf life + 1
    139  1   sell-by time              0..99            0
    140  2   ingredient number         0..99            0: the text comes with the record
    142  2   traceability number       0..999           0
    144  2   nutrition facts number    0..500           0
    146  1   label message number      0..99            0

A PLU's ingredient text ("direct ingredient") follows the 147 bytes in the same frame, ending in a NUL,
at most 1050 bytes with the NUL; a record without it clears the text. A frame whose data is 6 bytes
(department, PLU number) deletes that PLU, and department 0 with PLU 0 deletes them all.

Speed keys (data type ``K``, the interpreter's ``DATA_KEY``) come a key set at a time: the scale keeps
five sets (the operator picks one in its menu), each a table of the PLU numbers its keys call, 580
bytes::

    off size field           range
      0  2   set             1..5             5: the extra keys of a self-service keyboard
      2  2   keyboard type   the scale's own  1 bench (B), 2 pole (P), 3 hanging (H), 4 self-service (S),
                                              6 double body (D)
      4  4   key 1           0..999999        the PLU number it calls, 0: none
    ...
    576  4   key 144

The scale refuses a set outside 1..5, or a keyboard type other than its own for sets 1..4, with 82, and
longer data with 97. ``R K`` with the set and a zero (4 bytes) is answered ``W K`` with the set's table,
its keyboard type filled in. The number in the answer to either is the first four bytes of the data
(set + keyboard type × 65536), as the scale read them.

Names and texts are in Windows-1251: the Russian firmware is built with ``FONT_CODEPAGE
CODEPAGE_1251`` (its label and display fonts are that code page), so a single-byte Cyrillic name is what
it prints; a character 1251 lacks becomes "?". One byte is one character there, so a cut never falls
inside a character.

Where the sources are silent or disagree, this module reads them so:

- Money and weight are the scale's integers with its decimal points as Russian scales ship: price with
  2 decimals (kopecks), weight with 3 (grams). The status answer says which the scale uses.
- Sell-by date counts from 1: the firmware's PLU structure says "0 not printed, 1 today, 2 tomorrow",
  so a shelf life of N days is sent as N + 1 and none as 0.
- The address of a PC's PLU frame is not read by the scale; we put the scale number there. The scale
  puts its own id in the first byte of the address of its answers.
- Barcode formats (data type ``B``): number (uint32, 1..20), barcode type (1 byte; 1 is EAN-13) and the
  format string, 31 bytes NUL-padded (the scale keeps 30 characters), in the manual's symbols: ``0``..``9``
  printed as they are, ``I`` item code, ``W`` weight, ``P`` total price, ``Q`` quantity, ``C`` the EAN
  check digit, among others (``D`` department, ``N`` PLU number, ``U`` unit price).
- A name longer than its 40 bytes wraps onto name 2 at its last space (the label prints the two
  lines), and what still does not fit is cut; a control character becomes a space.
- A weighed PLU is priced per kg (unit weight 1), a by-count one per piece (pieces 1).
- A speed key calls a PLU number of the scale's current department (its menu's key editor looks the
  PLU up there), so the driver's PLUs, all in its one department, are what the keys call; a key may
  name a PLU the scale does not hold (pressing it says so), so neither the firmware nor the emulator
  refuses one. The firmware stores 144 keys a set and copies 576 bytes whatever the length: a table is
  always sent whole, and the emulator refuses data of any other size with 97, and a PLU number over
  999999 with 97 as it does a PLU record's field out of range. The keyboard type is the one the scale
  gives when its table is read, so a table is read before it is written.
- A PLU's label format is sent as the scale server's setting gives it; 0 leaves the choice of label
  to the scale's own setting.
- Scale status (``R`` ``N``; the scale answers ``W`` ``N``) carries 30 bytes: load (0 zero, 1 loaded,
  2 overload), stable, tare (0 none, 1 tare, 2 percent), range (1 single, 2 dual), weight unit (0 kg,
  1 lb, 2 g), weight decimals, price decimals, a reserved byte, then tare (uint32), weight (int32),
  unit price, total price, PLU number (uint32 each) and department (uint16). The request carries 4 zero
  bytes, as the scale reads a 4-byte number at the start of any request's data.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import IntEnum
from operator import attrgetter
from typing import Final

from osuite.core.barcodes import BarcodeTemplate, TemplateKind
from osuite.devices.labelscale import Plu, cut

DEFAULT_PORT: Final = 20304
ENCODING: Final = "cp1251"

WRITE, READ, GOOD, NOT_GOOD = b"W", b"R", b"G", b"N"
COMMANDS: Final = frozenset(b"WRGN")

PLU: Final = ord("L")
BARCODE: Final = ord("B")
SPEED_KEYS: Final = ord("K")
STATUS: Final = ord("N")

HEADER: Final = struct.Struct("<ccIcHc")  # command, data type, address, ",", length, ":"
_COMMA, _COLON, _CR = b",", b":", b"\r"
COLON: Final = ord(":")
CR: Final = 0x0D
TAIL_SIZE: Final = 3  # ":", checksum, CR
MAX_DATA: Final = 147 + 1050  # the longest frame the scale takes: a record and its ingredient text

NAME_BYTES: Final = 40
NAME3_BYTES: Final = 5
INGREDIENT_BYTES: Final = 1050  # with the terminating NUL
MAX_PLU_NUMBER: Final = 999_999
MAX_DEPARTMENT: Final = 99

# The 147-byte PLU record, field by field (see the module docstring).
RECORD: Final = struct.Struct("<HIB40s40s5sHHHHBIIHBBIIIBHHHHBIBHHHB")
DELETE: Final = struct.Struct("<HI")  # department, PLU number: a 6-byte record deletes
NUMBER: Final = struct.Struct("<I")
BARCODE_RECORD: Final = struct.Struct("<IB31s")
STATUS_RECORD: Final = struct.Struct("<8BIiIIIH")

KEYS_PER_SET: Final = 144
KEY_SETS: Final = range(1, 6)
SELF_SERVICE_SET: Final = 5  # the extra keys of a self-service keyboard: any keyboard type is taken
KEY_HEADER: Final = struct.Struct("<HH")  # set, keyboard type
KEY_TABLE: Final = struct.Struct(f"<HH{KEYS_PER_SET}I")
NO_KEYS: Final = (0,) * KEYS_PER_SET

BARCODE_EAN13: Final = 1
BARCODE_NUMBERS: Final = range(1, 21)
FORMAT_LENGTH: Final = 30

WEIGHT_DECIMALS: Final = 3
PRICE_DECIMALS: Final = 2

_HEADER_SIZE: Final = HEADER.size
_GOOD_LENGTH, _REFUSAL_LENGTH = 4, 5
_GOOD_SIZE: Final = _HEADER_SIZE + _GOOD_LENGTH + TAIL_SIZE
_G: Final = ord("G")
_COMMA_BYTE: Final = ord(",")


class ErrorCode(IntEnum):
    """The scale's refusal codes (``N`` answers), as its firmware defines them."""

    NUMBER_OVER = 82  # a number out of its range (PLU 1..999999, department 1..99)
    RECEIVE = 84  # the frame arrived broken: header, tail or checksum
    DMSG_FULL = 88  # no room left for ingredient texts
    DATA_FULL = 89  # no room left for PLUs
    INTERPRETER = 95  # a data type the scale does not know
    DATA = 97  # data of a wrong size or form
    DATA_NON = 98  # no such record
    DATA_END = 99  # no more records


# The firmware's delete and write paths answer these hexadecimal spellings of 82 and 88.
SYNONYMS: Final = {0x82: ErrorCode.NUMBER_OVER, 0x88: ErrorCode.DMSG_FULL}

ERROR_TEXT: Final[dict[int, str]] = {
    ErrorCode.NUMBER_OVER: "номер вне допустимого диапазона",
    ErrorCode.RECEIVE: "кадр принят с ошибкой (заголовок, хвост или контрольная сумма)",
    ErrorCode.DMSG_FULL: "нет места для текста состава",
    ErrorCode.DATA_FULL: "память PLU заполнена",
    ErrorCode.INTERPRETER: "неизвестный тип данных",
    ErrorCode.DATA: "данные неверного размера или вида",
    ErrorCode.DATA_NON: "такой записи нет",
    ErrorCode.DATA_END: "записей больше нет",
}


def error_code(code: int) -> int:
    """``code`` with the firmware's hexadecimal spellings folded onto the documented ones."""
    return int(SYNONYMS.get(code, code))


def error_text(code: int) -> str:
    code = error_code(code)
    return ERROR_TEXT.get(code, "неизвестная ошибка") + f" (код {code})"


class FrameError(ValueError):
    """Bytes that are not a well-formed frame: header, length, tail or checksum wrong."""


class RecordError(ValueError):
    """A record whose fields do not fit their bytes, or are outside the scale's ranges."""


# --- frames ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Frame:
    command: bytes  # b"W", b"R", b"G" or b"N"
    data_type: int  # ord("L") …
    address: int = 0
    data: bytes = b""


def checksum(body: bytes | bytearray | memoryview) -> int:
    """The low byte of the sum of ``body``: the frame from its address to the ``:`` after the data."""
    return sum(body) & 0xFF


def encode(frame: Frame) -> bytes:
    if frame.command not in (WRITE, READ, GOOD, NOT_GOOD):
        raise FrameError(f"command {frame.command!r} is not one of W, R, G, N")
    if len(frame.data) > 0xFFFF:
        raise FrameError(f"{len(frame.data)} bytes of data do not fit a frame")
    return frame_bytes(frame.command, frame.data_type, frame.address, frame.data)


def frame_bytes(command: bytes, data_type: int, address: int, data: bytes) -> bytes:
    """The whole frame; the fast path the driver builds every PLU frame with."""
    head = HEADER.pack(command, bytes((data_type,)), address, _COMMA, len(data), _COLON)
    total = sum(head, sum(data) + COLON) - command[0] - data_type
    return b"".join((head, data, bytes((COLON, total & 0xFF, CR))))


def frame_size(header: bytes | bytearray | memoryview) -> int:
    """The whole frame's size from its first 10 bytes, checking them."""
    if len(header) < _HEADER_SIZE:
        raise FrameError(f"a frame starts with {_HEADER_SIZE} bytes of header, got {len(header)}")
    command, _type, _address, comma, length, colon = HEADER.unpack_from(header)
    if command[0] not in COMMANDS:
        raise FrameError(f"command byte {command.hex()} is not W, R, G or N")
    if comma != _COMMA or colon != _COLON:
        raise FrameError(f"the header's separators are {comma!r} and {colon!r}, not ',' and ':'")
    return int(_HEADER_SIZE + length + TAIL_SIZE)


def decode(raw: bytes | bytearray | memoryview) -> Frame:
    """The frame ``raw`` holds, exactly: a short or long frame, a wrong tail or checksum is refused."""
    size = frame_size(raw)
    if len(raw) != size:
        raise FrameError(f"the header announces a frame of {size} bytes, got {len(raw)}")
    raw = bytes(raw)
    if raw[-3] != COLON or raw[-1] != CR:
        raise FrameError(f"the tail is {raw[-3:].hex(' ')}, not ':' checksum CR")
    expected = checksum(memoryview(raw)[2:-2])
    if raw[-2] != expected:
        raise FrameError(f"checksum {raw[-2]:#04x} does not match the frame's {expected:#04x}")
    command, data_type, address, _c, _l, _c2 = HEADER.unpack_from(raw)
    return Frame(command, data_type[0], address, raw[_HEADER_SIZE:-TAIL_SIZE])


# --- answers --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """A ``G`` or ``N`` answer: done or refused, for which number, and why."""

    ok: bool
    data_type: int
    number: int
    code: int = 0  # the refusal's code (0 when done)
    scale_id: int = 0


def good(data_type: int, scale_id: int, number: int) -> bytes:
    return frame_bytes(GOOD, data_type, scale_id & 0xFF, NUMBER.pack(number & 0xFFFFFFFF))


def refusal(data_type: int, scale_id: int, number: int, code: int) -> bytes:
    data = NUMBER.pack(number & 0xFFFFFFFF) + bytes((code,))
    return frame_bytes(NOT_GOOD, data_type, scale_id & 0xFF, data)


def answer_of(raw: bytes) -> Answer:
    """The answer ``raw`` (one whole frame) holds; a ``G`` is read without building a :class:`Frame`,
    as a driver reads thousands of them."""
    if (
        len(raw) == _GOOD_SIZE
        and raw[0] == _G
        and raw[6] == _COMMA_BYTE
        and raw[7] == _GOOD_LENGTH
        and raw[8] == 0
        and raw[9] == COLON
        and raw[14] == COLON
        and raw[16] == CR
    ):
        if sum(raw[2:15]) & 0xFF != raw[15]:
            raise FrameError(
                f"checksum {raw[15]:#04x} does not match the answer's {sum(raw[2:15]) & 0xFF:#04x}"
            )
        return Answer(True, raw[1], int.from_bytes(raw[10:14], "little"), 0, raw[2])
    return parse_answer(decode(raw))


def parse_answer(frame: Frame) -> Answer:
    if frame.command == GOOD and len(frame.data) == _GOOD_LENGTH:
        return Answer(True, frame.data_type, NUMBER.unpack(frame.data)[0], 0, frame.address & 0xFF)
    if frame.command == NOT_GOOD and len(frame.data) == _REFUSAL_LENGTH:
        number = NUMBER.unpack_from(frame.data)[0]
        return Answer(False, frame.data_type, number, frame.data[4], frame.address & 0xFF)
    raise FrameError(
        f"expected G with 4 bytes or N with 5 bytes of data, got {frame.command!r} with {len(frame.data)}"
    )


def plu_key(department: int, number: int) -> int:
    """The number a PLU's answer carries."""
    return department * 1_000_000 + number


# --- PLU records ----------------------------------------------------------------------------------


class PluType(IntEnum):
    BY_WEIGHT = 1
    BY_COUNT = 2  # sold by the piece
    BY_PCS = 3  # a pack of pieces


@dataclass(frozen=True, slots=True)
class PluRecord:
    """The 147-byte record field for field (names decoded); see the module docstring."""

    department: int
    number: int
    type: int
    name1: str
    name2: str = ""
    name3: str = ""
    group: int = 0
    label: int = 0
    aux_label: int = 0
    origin: int = 0
    unit_weight: int = 1
    fixed_weight: int = 0
    item_code: int = 0
    pieces: int = 0
    quantity_symbol: int = 0
    fixed_price: int = 0
    unit_price: int = 0
    special_price: int = 0
    tare: int = 0
    tare_number: int = 0
    barcode: int = 0
    aux_barcode: int = 0
    produced_date: int = 0
    packed_date: int = 0
    packed_time: int = 0
    sell_by_date: int = 0
    sell_by_time: int = 0
    ingredient_number: int = 0
    trace_number: int = 0
    nutrition_number: int = 0
    label_message: int = 0


_NAME_FIELDS: Final = {3: NAME_BYTES, 4: NAME_BYTES, 5: NAME3_BYTES}
_RECORD_VALUES: Final = attrgetter(*(field.name for field in fields(PluRecord)))

# The scale's field table: (minimum, maximum) of each numeric field, by position in the record.
RANGES: Final[dict[str, tuple[int, int]]] = {
    "department": (1, MAX_DEPARTMENT),
    "number": (1, MAX_PLU_NUMBER),
    "type": (1, 4),
    "group": (0, 99),
    "label": (0, 99),
    "aux_label": (0, 99),
    "origin": (0, 500),
    "unit_weight": (1, 3),
    "fixed_weight": (0, 999_999),
    "item_code": (0, 999_999),
    "pieces": (0, 999),
    "quantity_symbol": (0, 8),
    "fixed_price": (0, 1),
    "unit_price": (0, 9_999_999),
    "special_price": (0, 9_999_999),
    "tare": (0, 99_999),
    "tare_number": (0, 99),
    "barcode": (0, 99),
    "aux_barcode": (0, 99),
    "produced_date": (0, 999),
    "packed_date": (0, 999),
    "packed_time": (0, 99),
    "sell_by_date": (0, 9_999),
    "sell_by_time": (0, 99),
    "ingredient_number": (0, 99),
    "trace_number": (0, 999),
    "nutrition_number": (0, 500),
    "label_message": (0, 99),
}

FIELD_TEXT: Final[dict[str, str]] = {
    "department": "отдел",
    "number": "номер PLU",
    "type": "тип PLU",
    "unit_weight": "единица веса",
    "item_code": "код товара",
    "pieces": "количество штук",
    "label": "формат этикетки",
    "unit_price": "цена",
    "tare": "тара, г",
    "barcode": "номер штрихкода",
    "sell_by_date": "срок годности",
}


_RANGED_VALUES: Final = attrgetter(*RANGES)
_BOUNDS: Final = tuple((name, low, high) for name, (low, high) in RANGES.items())


def out_of_range(record: PluRecord) -> list[str]:
    """What in ``record`` is outside the scale's field table, in words (empty when all fits)."""
    return [
        f"{FIELD_TEXT.get(name, name)} {value} вне {low}…{high}"
        for value, (name, low, high) in zip(_RANGED_VALUES(record), _BOUNDS, strict=True)
        if not low <= value <= high
    ]


def encode_name(text: str, size: int) -> bytes:
    """``text`` in Windows-1251, NUL-padded to ``size`` bytes; it must already fit."""
    try:
        raw = text.encode(ENCODING)
    except UnicodeEncodeError as exc:
        raise RecordError(f"{text!r} has a character Windows-1251 lacks: {exc.object[exc.start]!r}") from None
    if len(raw) > size:
        raise RecordError(f"{text!r} takes {len(raw)} bytes; the field holds {size}")
    if b"\0" in raw:
        raise RecordError(f"{text!r} holds a NUL, which ends a name on the scale")
    return raw


def decode_name(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode(ENCODING, errors="replace")


def encode_record(record: PluRecord) -> bytes:
    """The 147 bytes of ``record``; a field that does not fit its bytes is refused (the scale's own
    ranges are :func:`out_of_range`'s business)."""
    values = list(_RECORD_VALUES(record))
    for index, size in _NAME_FIELDS.items():
        values[index] = encode_name(str(values[index]), size)
    try:
        return RECORD.pack(*values)
    except struct.error as exc:
        raise RecordError(f"a field of PLU {record.number} does not fit its bytes: {exc}") from None


def decode_record(raw: bytes | bytearray | memoryview) -> PluRecord:
    if len(raw) < RECORD.size:
        raise RecordError(f"a PLU record has {RECORD.size} bytes, got {len(raw)}")
    values = list(RECORD.unpack_from(raw))
    for index in _NAME_FIELDS:
        values[index] = decode_name(values[index])
    return PluRecord(*values)


def encode_ingredients(text: str) -> bytes:
    """The ingredient text that follows a record: Windows-1251, cut to fit, ending in a NUL ("" when
    there is none, which clears the scale's)."""
    if not text:
        return b""
    raw = cut(text.replace("\0", " "), INGREDIENT_BYTES - 1, ENCODING).encode(ENCODING)
    return raw + b"\0"


def decode_ingredients(raw: bytes | bytearray | memoryview) -> str:
    return bytes(raw).split(b"\0", 1)[0].decode(ENCODING, errors="replace")


def plu_data(record: PluRecord, ingredients: bytes = b"") -> bytes:
    return encode_record(record) + ingredients


def write_plu(address: int, data: bytes) -> bytes:
    """A ``W L`` frame carrying a record (and its ingredient text) or a 6-byte delete."""
    return frame_bytes(WRITE, PLU, address, data)


def delete_plu(address: int, department: int, number: int) -> bytes:
    return frame_bytes(WRITE, PLU, address, DELETE.pack(department, number))


def delete_all(address: int) -> bytes:
    return frame_bytes(WRITE, PLU, address, DELETE.pack(0, 0))


# --- from a Plu to a record and back --------------------------------------------------------------

_CONTROL: Final = {code: " " for code in range(0x20)}


def split_name(name: str) -> tuple[str, str, bool]:
    """``name`` as the scale's two 40-byte name lines: a longer name wraps at its last space within
    the first line (or, with none, at 40 bytes) and the rest goes to the second line; the third value
    says whether the name changed (wrapped, cut, or a character replaced)."""
    text = name.translate(_CONTROL)
    first = cut(text, NAME_BYTES, ENCODING)
    if len(first) == len(text):  # one byte per character in Windows-1251: it all fits
        return first, "", first != name
    space = first.rfind(" ")
    if text[len(first)] != " " and space > 0:
        first = first[:space]
    rest = text[len(first) :].strip()
    second = cut(rest, NAME_BYTES, ENCODING).rstrip()
    return first.rstrip(), second, True


def join_name(name1: str, name2: str) -> str:
    """The name a record's two lines print, as the emulator keeps it."""
    return f"{name1} {name2}" if name2 else name1


def record_for(plu: Plu, *, department: int = 1, barcode: int = 1) -> tuple[PluRecord, str]:
    """The record a scale gets for ``plu``, and a note on anything changed to fit (empty if none)."""
    name1, name2, changed = split_name(plu.name)
    record = PluRecord(
        department=department,
        number=plu.number,
        type=PluType.BY_WEIGHT if plu.weighted else PluType.BY_COUNT,
        name1=name1,
        name2=name2,
        label=plu.label_format,
        unit_weight=1,
        item_code=plu.item_code,
        pieces=0 if plu.weighted else 1,
        unit_price=plu.price,
        tare=plu.tare_grams,
        barcode=barcode,
        sell_by_date=plu.shelf_life_days + 1 if plu.shelf_life_days > 0 else 0,
    )
    note = ""
    if changed:
        printed = join_name(name1, name2)
        note = f"название записано как «{printed}» (поле — две строки по {NAME_BYTES} байт в {ENCODING})"
    return record, note


_LIMITS: Final = (
    RANGES["number"],
    RANGES["item_code"],
    RANGES["unit_price"],
    RANGES["tare"],
    (0, RANGES["sell_by_date"][1] - 1),
    RANGES["label"],
)


def plu_frame(plu: Plu, *, address: int, department: int = 1, barcode: int = 1) -> tuple[bytes, str]:
    """The ``W L`` frame for ``plu`` and the note :func:`record_for` gives: the same bytes as
    ``write_plu(address, plu_data(record_for(plu)…))``, built without the record, since a driver builds
    thousands. A PLU outside the scale's ranges raises :class:`RecordError` saying what."""
    name = plu.name
    life = plu.shelf_life_days
    (n_low, n_high), (i_low, i_high), (p_low, p_high), (t_low, t_high), (l_low, l_high), (f_low, f_high) = (
        _LIMITS
    )
    try:
        if not (
            n_low <= plu.number <= n_high
            and i_low <= plu.item_code <= i_high
            and p_low <= plu.price <= p_high
            and t_low <= plu.tare_grams <= t_high
            and l_low <= life <= l_high
            and f_low <= plu.label_format <= f_high
            and 1 <= department <= MAX_DEPARTMENT
        ):
            raise ValueError
        name1 = name.encode(ENCODING)
        if len(name1) > NAME_BYTES or not name.isprintable():
            raise ValueError
    except (ValueError, UnicodeEncodeError):
        return _plu_frame_slowly(plu, address=address, department=department, barcode=barcode)
    data = RECORD.pack(
        department,
        plu.number,
        PluType.BY_WEIGHT if plu.weighted else PluType.BY_COUNT,
        name1,
        b"",
        b"",
        0,
        plu.label_format,
        0,
        0,
        1,
        0,
        plu.item_code,
        0 if plu.weighted else 1,
        0,
        0,
        plu.price,
        0,
        plu.tare_grams,
        0,
        barcode,
        0,
        0,
        0,
        0,
        life + 1 if life > 0 else 0,
        0,
        0,
        0,
        0,
        0,
    )
    if plu.ingredients:
        data += encode_ingredients(plu.ingredients)
    return frame_bytes(WRITE, PLU, address, data), ""


def _plu_frame_slowly(plu: Plu, *, address: int, department: int, barcode: int) -> tuple[bytes, str]:
    record, note = record_for(plu, department=department, barcode=barcode)
    problems = out_of_range(record)
    if plu.shelf_life_days < 0:
        problems.append(f"срок годности {plu.shelf_life_days} дн. отрицательный")
    if problems:
        raise RecordError("; ".join(problems))
    return write_plu(address, plu_data(record, encode_ingredients(plu.ingredients))), note


def plu_from(record: PluRecord, ingredients: str = "") -> Plu:
    """The :class:`Plu` a scale holding ``record`` would sell."""
    return Plu(
        number=record.number,
        item_code=record.item_code,
        name=join_name(record.name1, record.name2),
        price=record.unit_price,
        weighted=record.type == PluType.BY_WEIGHT,
        shelf_life_days=max(record.sell_by_date - 1, 0),
        tare_grams=record.tare,
        ingredients=ingredients,
        label_format=record.label,
    )


# --- barcode formats ------------------------------------------------------------------------------

_VALUE_SYMBOL: Final[dict[TemplateKind, str]] = {"weight": "W", "price": "P", "count": "Q"}
_SYMBOL_KIND: Final[dict[str, TemplateKind]] = {symbol: kind for kind, symbol in _VALUE_SYMBOL.items()}
# The decimals the scale prints each value with: grams, kopecks, whole pieces.
SCALE_DECIMALS: Final[dict[TemplateKind, int]] = {
    "weight": WEIGHT_DECIMALS,
    "price": PRICE_DECIMALS,
    "count": 0,
}


def barcode_format(template: BarcodeTemplate) -> str:
    """The 13-symbol EAN-13 format that prints what ``template`` reads: its first prefix as fixed
    digits, ``I`` for the item code, ``W``/``P``/``Q`` for the value, zeros elsewhere, ``C`` last."""
    decimals = SCALE_DECIMALS[template.kind]
    if template.value_decimals != decimals:
        raise RecordError(
            f"template {template.name!r} wants the {template.kind} with {template.value_decimals} "
            f"decimals; the scale prints it with {decimals}"
        )
    symbols = ["0"] * 12
    symbols[0:2] = template.prefixes[0]
    symbols[template.item_start : template.item_start + template.item_length] = "I" * template.item_length
    value = _VALUE_SYMBOL[template.kind] * template.value_length
    symbols[template.value_start : template.value_start + template.value_length] = value
    return "".join(symbols) + "C"


def template_from_format(text: str, *, name: str = "cas") -> BarcodeTemplate | None:
    """The template that reads what an EAN-13 ``text`` format prints, or None when it prints
    something a template cannot say (a department, a second value, no fixed prefix …)."""
    if len(text) != 13 or text[12] != "C" or not text[:2].isdigit():
        return None
    runs: dict[str, tuple[int, int]] = {}
    for index, symbol in enumerate(text[2:12], start=2):
        if symbol == "0":
            continue
        if symbol not in "IWPQ":
            return None
        start, length = runs.get(symbol, (index, 0))
        if start + length != index:
            return None  # the symbol's digits are not in one run
        runs[symbol] = (start, length + 1)
    values = [symbol for symbol in runs if symbol != "I"]
    if "I" not in runs or len(values) != 1:
        return None
    kind = _SYMBOL_KIND[values[0]]
    try:
        return BarcodeTemplate(
            name=name,
            prefixes=[text[:2]],
            kind=kind,
            item_start=runs["I"][0],
            item_length=runs["I"][1],
            value_start=runs[values[0]][0],
            value_length=runs[values[0]][1],
            value_decimals=SCALE_DECIMALS[kind],
        )
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class BarcodeRecord:
    number: int
    type: int
    format: str


def encode_barcode(record: BarcodeRecord) -> bytes:
    if len(record.format) > FORMAT_LENGTH:
        raise RecordError(f"a barcode format has at most {FORMAT_LENGTH} symbols, got {len(record.format)}")
    try:
        return BARCODE_RECORD.pack(record.number, record.type, record.format.encode("ascii"))
    except (struct.error, UnicodeEncodeError) as exc:
        raise RecordError(f"barcode format {record} does not fit its bytes: {exc}") from None


def decode_barcode(raw: bytes | bytearray | memoryview) -> BarcodeRecord:
    if len(raw) != BARCODE_RECORD.size:
        raise RecordError(f"a barcode record has {BARCODE_RECORD.size} bytes, got {len(raw)}")
    number, kind, text = BARCODE_RECORD.unpack(raw)
    return BarcodeRecord(number, kind, text.split(b"\0", 1)[0].decode("ascii", errors="replace"))


def write_barcode(address: int, record: BarcodeRecord) -> bytes:
    return frame_bytes(WRITE, BARCODE, address, encode_barcode(record))


# --- speed keys -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyTable:
    """One key set: the PLU number each of its 144 keys calls (0: none), and the scale's keyboard type."""

    set: int
    keyboard: int
    plus: tuple[int, ...] = NO_KEYS


def keys_of(keys: Mapping[int, int]) -> tuple[int, ...]:
    """The 144 keys of a set from ``keys`` (key → PLU number), every other key empty."""
    plus = [0] * KEYS_PER_SET
    for key, number in keys.items():
        if not 1 <= key <= KEYS_PER_SET:
            raise RecordError(f"клавиша {key} вне 1…{KEYS_PER_SET}")
        if not 1 <= number <= MAX_PLU_NUMBER:
            raise RecordError(f"клавиша {key}: номер PLU {number} вне 1…{MAX_PLU_NUMBER}")
        plus[key - 1] = number
    return tuple(plus)


def key_problems(table: KeyTable) -> list[str]:
    """What in ``table`` the scale would not take, in words (its keyboard type aside: that is the
    scale's own)."""
    found = [] if table.set in KEY_SETS else [f"набор клавиш {table.set} вне 1…{len(KEY_SETS)}"]
    found += [
        f"клавиша {key}: номер PLU {number} вне 0…{MAX_PLU_NUMBER}"
        for key, number in enumerate(table.plus, start=1)
        if number > MAX_PLU_NUMBER
    ]
    return found


def encode_keys(table: KeyTable) -> bytes:
    if len(table.plus) != KEYS_PER_SET:
        raise RecordError(f"a key set has {KEYS_PER_SET} keys, got {len(table.plus)}")
    try:
        return KEY_TABLE.pack(table.set, table.keyboard, *table.plus)
    except struct.error as exc:
        raise RecordError(f"key set {table.set} does not fit its bytes: {exc}") from None


def decode_keys(raw: bytes | bytearray | memoryview) -> KeyTable:
    if len(raw) != KEY_TABLE.size:
        raise RecordError(f"a key set has {KEY_TABLE.size} bytes, got {len(raw)}")
    number, keyboard, *plus = KEY_TABLE.unpack(raw)
    return KeyTable(number, keyboard, tuple(plus))


def keys_number(number: int, keyboard: int) -> int:
    """The number the answer to a key set's frame carries: its first four bytes."""
    return number | keyboard << 16


def write_keys(address: int, table: KeyTable) -> bytes:
    """A ``W K`` frame: a PC writing a key set, or a scale sending the one it was asked for."""
    return frame_bytes(WRITE, SPEED_KEYS, address, encode_keys(table))


def read_keys(address: int, number: int) -> bytes:
    return frame_bytes(READ, SPEED_KEYS, address, KEY_HEADER.pack(number, 0))


def parse_keys(frame: Frame) -> KeyTable:
    if frame.command != WRITE or frame.data_type != SPEED_KEYS:
        raise FrameError(
            f"expected W K with a key set, got {frame.command!r} {frame.data_type:#04x} "
            f"with {len(frame.data)} bytes"
        )
    try:
        return decode_keys(frame.data)
    except RecordError as exc:
        raise FrameError(str(exc)) from None


# --- status ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Status:
    load: int = 0  # 0 zero, 1 loaded, 2 overload
    stable: int = 1
    tare_mode: int = 0
    ranges: int = 1
    weight_unit: int = 0  # 0 kg, 1 lb, 2 g
    weight_decimals: int = WEIGHT_DECIMALS
    price_decimals: int = PRICE_DECIMALS
    reserved: int = 0
    tare: int = 0
    weight: int = 0
    unit_price: int = 0
    total_price: int = 0
    plu: int = 0
    department: int = 0


def read_status(address: int) -> bytes:
    return frame_bytes(READ, STATUS, address, NUMBER.pack(0))


def status_answer(scale_id: int, status: Status) -> bytes:
    values = (getattr(status, field.name) for field in fields(Status))
    return frame_bytes(WRITE, STATUS, scale_id & 0xFF, STATUS_RECORD.pack(*values))


def parse_status(frame: Frame) -> Status:
    if frame.command != WRITE or frame.data_type != STATUS or len(frame.data) != STATUS_RECORD.size:
        raise FrameError(
            f"expected W N with {STATUS_RECORD.size} bytes of status, got {frame.command!r} "
            f"{frame.data_type:#04x} with {len(frame.data)}"
        )
    return Status(*STATUS_RECORD.unpack(frame.data))

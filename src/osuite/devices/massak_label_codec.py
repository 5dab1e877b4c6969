"""Massa-K label scales over "Протокол 100": the PLU and barcode records and the file-exchange commands,
byte for byte. Pure: no sockets here (the driver is :mod:`osuite.devices.massak_label`, the emulator
:mod:`osuite.devices.massak_label_emulator`); frames are :mod:`osuite.devices.massak_codec`'s.

A Massa-K label scale (VPM, RP, RL …) keeps *files*: PLUs (type 1, 20 000 records), label formats (2),
barcode formats (3, 20 records), logos (4), texts (5), keys (6) … A program loads a file record by
record, one CMD_TCP_DFILE frame per record, and the scale answers each::

    CMD_TCP_DFILE 0x82 | FileType u8 | Nums u16 | Num u16 | Len u16 | record (Len bytes)
        → CMD_TCP_ACK_DFILE 0x42 | FileType | Nums | Num          the record is loaded
        → CMD_TCP_BAD_DFILE 0x43 | FileType | Nums | Num          unexpected number or file type
        → CMD_ERROR 0x28 | code                                    0x0A the record is wrong, 0x0B not saved,
                                                                   0x0F busy
    CMD_TCP_RESET_FILES 0x81 | MaskFile u32 (bit FileType-1)  → CMD_TCP_ACK_RESET_FILES 0x41 | MaskFile
    CMD_TCP_GET_STATUS 0x80                                    → CMD_TCP_FILE_STATUS 0x40 | MaskFile
                                                                 (the files the scale has not got)
    CMD_TCP_REQ_UFILES 0x85 | FileType | Num                   → CMD_TCP_UFILE 0x45 | FileType | Nums |
                                                                 Num | Len | record
                                                               → CMD_TCP_ERR_UFILE 0x46 | FileType | Num

All numbers little-endian. ``Nums`` is how many records the transfer has, ``Num`` this record's place in
it, from 1; a transfer starts with ``Num`` 1 and goes up by one. A CRC that does not match, or a command
the scale does not know, is answered with CMD_NACK.

The PLU record (file type 1)::

    Number u32        the PLU number, 1..20000
    Length u16        the bytes after this field, through the checksum
    Status u8         bit 0: centre the name; bit 1: piece goods (clear: weighed)
    Country u8        0 = Russia
    LabelFormat u8    0..10, a record of the label-format file (Plu.label_format, as it is)
    BarcodeFormat u8  0..19, a record of the barcode-format file
    Prefix u8         the barcode's prefix, 0..99 (0: the barcode format's own)
    Price i32         kopecks per kg (weighed) or per piece, 0..9 999 999
    Tare i32          grams, 0..15 000
    Code i32          the item code printed in the barcode, 0..999 999
    SellBy 6 bytes    YY MM DD hh mm ss, or six zeros for none
    ShelfLife u32     minutes (0: none printed), at most 999 days; then 2 bytes, zero
    Certification 4   the certification body's code, 4 characters (spaces: none)
    Group u16, Reserved u16
    Name, Ingredients, Message   three strings, each one or more lines:
                      font u8 | length u8 | text (CP1251) | 0x0C (a line follows) or 0x0D (last line)
    Checksum u8       the low byte of the sum of every byte before it, from Number on

Sources: the Massa-K exchange constants and file types as published in public clients (Openbravo POS
ru's ``MassaKVPM``, a PHP loader for VPM/RP scales), Massa-K's own firmware header for the TCP module
(command codes, TCP_ERROR_SAVE 11, TCP_ERROR_ESP_BUSY 15) and lsFusion's ``MassaKRL10Handler``
(CMD_TCP_RESET_FILES with its mask echoed, CMD_TCP_ACK_DFILE echoing the file type). Where those leave
a detail open, we read it so:

- One record per CMD_TCP_DFILE (as Openbravo does and the header's names say: records in the file, this
  record's number, its length); a record the scale refuses (CMD_ERROR) still takes its place in the
  sequence, so one bad PLU does not stop the file. A refused *frame* (CMD_NACK, CMD_TCP_BAD_DFILE) does not.
- Loading a PLU puts it under its number, replacing what the scale had there; the other PLUs stay.
  There is no command that deletes one PLU: a program reads the file back (CMD_TCP_REQ_UFILES), erases it
  (CMD_TCP_RESET_FILES) and loads what is to stay.
- CMD_TCP_REQ_UFILES asks for the ``Num``-th record of the file in PLU-number order; the answer's ``Nums``
  is how many records the file holds.
- Status bit 1 (piece goods) and the limits of price, tare, code and shelf life are this emulated
  model's; ShelfLife is minutes in its first four bytes, as the PHP loader writes it.
- Text is CP1251, one byte a character, so a cut can never split a character; a character CP1251 has not
  got becomes "?". The name is at most 248 bytes (lines split at "\\n"); the ingredients at most 998, with
  lines longer than 255 bytes (a line's length byte) wrapped at a space, or cut where there is none. The
  message string is written empty.
- The barcode-format record (file type 3) is not in any public source we found; we write it as::

      Number u32 (0..19) | Length u16 (16) | Prefix u8 | Decimals u8 | Mask 13 ASCII | Checksum u8

  where Mask spells the 13 digits: ``P`` prefix, ``T`` item code, ``W`` weight, ``S`` price, ``Q`` count,
  ``0`` a zero, ``K`` the check digit (the PHP loader names its format 4 "PPТТТТТWWWWWК"). A template's
  first prefix travels; the PLUs carry it too.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

from pydantic import ValidationError

from osuite.core.barcodes import BarcodeTemplate, TemplateKind
from osuite.devices import massak_codec as frames
from osuite.devices.labelscale import Plu, cut
from osuite.devices.massak_codec import Command, Frame, FrameError

ENCODING = "cp1251"
LINE_MORE = 0x0C  # TERM_C: the string goes on in another line
LINE_LAST = 0x0D  # TERM_D: the string's last line
LINE_LIMIT = 255  # a line's length byte
NAME_LIMIT = 248
INGREDIENTS_LIMIT = 998
PLU_MAX = 20_000
PRICE_MAX = 9_999_999
TARE_MAX = 15_000
CODE_MAX = 999_999
SHELF_LIFE_MAX = 999 * 24 * 60  # minutes
LABEL_FORMAT_MAX = 10
BARCODE_FORMAT_MAX = 19
PREFIX_MAX = 99
MINUTES_A_DAY = 24 * 60

STATUS_CENTRE_NAME = 0x01
STATUS_PIECE = 0x02

NO_DATE = bytes(6)
NO_CERTIFICATION = b"    "


class FileType(IntEnum):
    PLU = 0x01
    FORMATS = 0x02
    BARCODES = 0x03
    LOGOS = 0x04
    TEXTS = 0x05
    KEYS = 0x06
    TOTALS = 0x07
    TRANSACTIONS = 0x08
    FORMATS_LITE = 0x09
    RECEIPTS = 0x0A
    OPERATORS = 0x0B


def file_mask(*types: int) -> int:
    """MaskFile for ``types``: bit ``type - 1`` for each."""
    mask = 0
    for kind in types:
        mask |= 1 << (kind - 1)
    return mask


class RecordError(ValueError):
    """A record that cannot be written, or bytes that are not a well-formed record; says what is wrong."""


class PluRecord(NamedTuple):
    """A PLU record, every field (see the module docstring); text already fitted to its field."""

    number: int
    item_code: int
    name: str
    price: int
    weighted: bool = True
    tare_grams: int = 0
    shelf_life_minutes: int = 0
    ingredients: str = ""
    message: str = ""
    centre_name: bool = False
    country: int = 0
    label_format: int = 1
    barcode_format: int = 1
    prefix: int = 0
    sell_by: bytes = NO_DATE
    certification: bytes = NO_CERTIFICATION
    group: int = 0
    font: int = 0  # the name's font; the other strings are written in font 0


_PLU = struct.Struct("<IH5B3i6sI2s4sHH")
_NUMBER = struct.Struct("<I")
_LINE = struct.Struct("<BB")
_CHECKSUM_SIZE = 1
_MIN_PLU_RECORD = _PLU.size + 3 * 3 + _CHECKSUM_SIZE  # three empty strings


def checksum(data: bytes) -> int:
    return sum(data) & 0xFF


# --- fitting text ------------------------------------------------------------------------------------


def fit_name(name: str) -> str:
    """The name as the scale keeps it: CP1251, at most :data:`NAME_LIMIT` bytes."""
    if _fits(name, NAME_LIMIT):
        return name
    return cut(name, NAME_LIMIT, ENCODING)


def _fits(text: str, limit: int) -> bool:
    """Whether CP1251 writes ``text`` as it is in at most ``limit`` bytes (the usual case, made quick)."""
    if len(text) > limit:  # one byte a character
        return False
    try:
        text.encode(ENCODING)
    except UnicodeEncodeError:
        return False
    return True


def fit_ingredients(text: str) -> str:
    """The ingredients as the scale keeps them: lines of at most :data:`LINE_LIMIT` bytes (a longer
    one wrapped at its last space that fits, or cut there when it has none), at most
    :data:`INGREDIENTS_LIMIT` bytes in all."""
    if "\n" not in text and _fits(text, LINE_LIMIT):
        return text
    text = text.encode(ENCODING, errors="replace").decode(ENCODING)  # "?" for what CP1251 has not got
    lines: list[str] = []
    for line in text.split("\n"):
        rest = line
        while len(rest) > LINE_LIMIT:  # one byte a character
            space = rest.rfind(" ", 0, LINE_LIMIT + 1)
            if space > 0:
                lines.append(rest[:space])
                rest = rest[space + 1 :]
            else:
                lines.append(rest[:LINE_LIMIT])
                rest = rest[LINE_LIMIT:]
        lines.append(rest)
    return cut("\n".join(lines), INGREDIENTS_LIMIT, ENCODING)


def fit(plu: Plu) -> Plu:
    """``plu`` as a scale keeps it once written: its text fitted, its shelf life in whole days."""
    return Plu(
        number=plu.number,
        item_code=plu.item_code,
        name=fit_name(plu.name),
        price=plu.price,
        weighted=plu.weighted,
        shelf_life_days=plu.shelf_life_days,
        tare_grams=plu.tare_grams,
        ingredients=fit_ingredients(plu.ingredients),
        label_format=plu.label_format,
    )


# --- the PLU record ----------------------------------------------------------------------------------


def record_of(plu: Plu, *, prefix: int = 0, barcode_format: int = 1) -> PluRecord:
    """The record for ``plu``, its text fitted (see :func:`cuts` for what was cut)."""
    return PluRecord(
        number=plu.number,
        item_code=plu.item_code,
        name=fit_name(plu.name),
        price=plu.price,
        weighted=plu.weighted,
        tare_grams=plu.tare_grams,
        shelf_life_minutes=plu.shelf_life_days * MINUTES_A_DAY,
        ingredients=fit_ingredients(plu.ingredients),
        label_format=plu.label_format,
        barcode_format=barcode_format,
        prefix=prefix,
    )


def cuts(plu: Plu, record: PluRecord) -> str:
    """What fitting ``plu`` into ``record`` changed, in words ("" when nothing)."""
    said = []
    if len(record.name) < len(plu.name):
        said.append(f"наименование обрезано до {len(record.name)} знаков")
    elif record.name != plu.name:
        said.append("в наименовании знаки не из CP1251 заменены на «?»")
    if record.ingredients != plu.ingredients:
        said.append(f"состав уложен в строки по {LINE_LIMIT} байт, всего не больше {INGREDIENTS_LIMIT}")
    return "; ".join(said)


_EMPTY_STRING = bytes((0, 0, LINE_LAST))
_LAST = bytes((LINE_LAST,))


def _string(text: str, font: int) -> bytes:
    if not text and not font:
        return _EMPTY_STRING
    if "\n" not in text:
        raw = text.encode(ENCODING, errors="replace")
        if len(raw) <= LINE_LIMIT:
            return _LINE.pack(font, len(raw)) + raw + _LAST
    out = bytearray()
    lines = text.split("\n")
    last = len(lines) - 1
    for index, line in enumerate(lines):
        raw = line.encode(ENCODING, errors="replace")
        if len(raw) > LINE_LIMIT:
            raise RecordError(f"a line of {len(raw)} bytes does not fit its length byte ({LINE_LIMIT})")
        out += _LINE.pack(font, len(raw))
        out += raw
        out.append(LINE_LAST if index == last else LINE_MORE)
    return bytes(out)


def encode_plu(record: PluRecord) -> bytes:
    """The bytes of ``record``; :class:`RecordError` when a value does not fit its field's bytes (the
    ranges the scale accepts are :func:`problems`' business)."""
    if len(record.sell_by) != 6 or len(record.certification) != 4:
        raise RecordError("the sell-by date takes 6 bytes and the certification code 4")
    strings = _string(record.name, record.font) + _string(record.ingredients, 0) + _string(record.message, 0)
    status = (STATUS_CENTRE_NAME if record.centre_name else 0) | (0 if record.weighted else STATUS_PIECE)
    try:
        head = _PLU.pack(
            record.number,
            _PLU.size - 6 + len(strings) + _CHECKSUM_SIZE,
            status,
            record.country,
            record.label_format,
            record.barcode_format,
            record.prefix,
            record.price,
            record.tare_grams,
            record.item_code,
            record.sell_by,
            record.shelf_life_minutes,
            b"\0\0",
            record.certification,
            record.group,
            0,
        )
    except struct.error as exc:
        raise RecordError(f"PLU {record.number}: a value does not fit its field ({exc})") from None
    body = head + strings
    return body + bytes((checksum(body),))


def quick_record(plu: Plu, *, prefix: int = 0, barcode_format: int = 1) -> bytes | None:
    """``encode_plu(record_of(plu, …))`` for the usual PLU, whose text needs no fitting, in one pass;
    None for any other (then take the long way, which also says what it cut or why it cannot)."""
    name, ingredients = plu.name, plu.ingredients
    if len(name) > NAME_LIMIT or len(ingredients) > LINE_LIMIT or "\n" in name or "\n" in ingredients:
        return None
    try:
        strings = _LINE.pack(0, len(name)) + name.encode(ENCODING) + _LAST
        if ingredients:
            strings += _LINE.pack(0, len(ingredients)) + ingredients.encode(ENCODING) + _LAST
        else:
            strings += _EMPTY_STRING
        strings += _EMPTY_STRING
        body = (
            _PLU.pack(
                plu.number,
                _PLU.size - 6 + len(strings) + _CHECKSUM_SIZE,
                0 if plu.weighted else STATUS_PIECE,
                0,
                plu.label_format,
                barcode_format,
                prefix,
                plu.price,
                plu.tare_grams,
                plu.item_code,
                NO_DATE,
                plu.shelf_life_days * MINUTES_A_DAY,
                b"\0\0",
                NO_CERTIFICATION,
                0,
                0,
            )
            + strings
        )
    except (UnicodeEncodeError, struct.error):
        return None
    return body + bytes((sum(body) & 0xFF,))


def _read_string(raw: bytes, offset: int, end: int, what: str) -> tuple[str, int, int]:
    """One string (its lines joined by "\\n"), the font of its first line, and where it ends."""
    lines: list[str] = []
    font = -1
    while True:
        if offset + _LINE.size > end:
            raise RecordError(f"the {what} is cut short at byte {offset}")
        line_font, length = _LINE.unpack_from(raw, offset)
        text_end = offset + _LINE.size + length
        if text_end >= end:
            raise RecordError(f"the {what}'s line of {length} bytes runs past the record's end")
        lines.append(raw[offset + _LINE.size : text_end].decode(ENCODING, errors="replace"))
        font = line_font if font < 0 else font
        terminator = raw[text_end]
        offset = text_end + 1
        if terminator == LINE_LAST:
            return "\n".join(lines), font, offset
        if terminator != LINE_MORE:
            raise RecordError(
                f"the {what}'s line ends with {terminator:#04x}, not {LINE_MORE:#04x} or {LINE_LAST:#04x}"
            )


def decode_plu(raw: bytes) -> PluRecord:
    """The record ``raw`` holds, exactly: a wrong Length, a bad checksum, a string without its
    terminator or bytes left over are refused."""
    if len(raw) < _MIN_PLU_RECORD:
        raise RecordError(f"a PLU record has at least {_MIN_PLU_RECORD} bytes, got {len(raw)}")
    (
        number,
        length,
        status,
        country,
        label_format,
        barcode_format,
        prefix,
        price,
        tare,
        code,
        sell_by,
        shelf_life,
        _shelf_rest,
        certification,
        group,
        _reserved,
    ) = _PLU.unpack_from(raw)
    if length != len(raw) - 6:
        raise RecordError(f"PLU {number}: Length says {length} bytes follow, {len(raw) - 6} do")
    if checksum(raw[:-1]) != raw[-1]:
        raise RecordError(f"PLU {number}: checksum {raw[-1]:#04x}, the bytes give {checksum(raw[:-1]):#04x}")
    end = len(raw) - _CHECKSUM_SIZE
    name, font, offset = _read_string(raw, _PLU.size, end, "name")
    ingredients, _, offset = _read_string(raw, offset, end, "ingredients")
    message, _, offset = _read_string(raw, offset, end, "message")
    if offset != end:
        raise RecordError(f"PLU {number}: {end - offset} bytes after the last string")
    return PluRecord(
        number=number,
        item_code=code,
        name=name,
        price=price,
        weighted=not status & STATUS_PIECE,
        tare_grams=tare,
        shelf_life_minutes=shelf_life,
        ingredients=ingredients,
        message=message,
        centre_name=bool(status & STATUS_CENTRE_NAME),
        country=country,
        label_format=label_format,
        barcode_format=barcode_format,
        prefix=prefix,
        sell_by=sell_by,
        certification=certification,
        group=group,
        font=font,
    )


def number_of(raw: bytes) -> int:
    """The PLU number at the head of a record."""
    if len(raw) < _NUMBER.size:
        raise RecordError(f"a record starts with its 4-byte number, got {len(raw)} bytes")
    return int(_NUMBER.unpack_from(raw)[0])


def _sell_by_problem(value: bytes) -> str | None:
    if value == NO_DATE:
        return None
    year, month, day, hour, minute, second = value
    if year > 99 or not 1 <= month <= 12 or not 1 <= day <= 31 or hour > 23 or minute > 59 or second > 59:
        return f"дата реализации {value.hex(' ')} — не ГГ ММ ДД ЧЧ ММ СС"
    return None


def problems(record: PluRecord) -> list[str]:
    """Why the scale would refuse ``record``, in words; empty when it takes it."""
    found = []

    def within(what: str, value: int, low: int, high: int) -> None:
        if not low <= value <= high:
            found.append(f"{what} {value} вне {low}…{high}")

    within("номер PLU", record.number, 1, PLU_MAX)
    within("цена", record.price, 0, PRICE_MAX)
    within("тара", record.tare_grams, 0, TARE_MAX)
    within("код товара", record.item_code, 0, CODE_MAX)
    within("срок годности (мин)", record.shelf_life_minutes, 0, SHELF_LIFE_MAX)
    within("формат этикетки", record.label_format, 0, LABEL_FORMAT_MAX)
    within("формат штрихкода", record.barcode_format, 0, BARCODE_FORMAT_MAX)
    within("префикс", record.prefix, 0, PREFIX_MAX)
    sell_by = _sell_by_problem(record.sell_by)
    if sell_by:
        found.append(sell_by)
    name_bytes = len(record.name.encode(ENCODING, errors="replace"))
    if name_bytes > NAME_LIMIT:
        found.append(f"наименование {name_bytes} байт, больше {NAME_LIMIT}")
    ingredients_bytes = len(record.ingredients.encode(ENCODING, errors="replace"))
    if ingredients_bytes > INGREDIENTS_LIMIT:
        found.append(f"состав {ingredients_bytes} байт, больше {INGREDIENTS_LIMIT}")
    return found


def plu_of(record: PluRecord) -> Plu:
    """The PLU a scale holds for ``record``, in the scale server's terms."""
    return Plu(
        number=record.number,
        item_code=record.item_code,
        name=record.name,
        price=record.price,
        weighted=record.weighted,
        shelf_life_days=record.shelf_life_minutes // MINUTES_A_DAY,
        tare_grams=record.tare_grams,
        ingredients=record.ingredients,
        label_format=record.label_format,
    )


# --- the barcode-format record -------------------------------------------------------------------------

_BARCODE = struct.Struct("<IHBB13s")
_BARCODE_LENGTH = _BARCODE.size - 6 + _CHECKSUM_SIZE
_VALUE_LETTER: dict[TemplateKind, str] = {"weight": "W", "price": "S", "count": "Q"}
_KIND_OF_LETTER: dict[str, TemplateKind] = {letter: kind for kind, letter in _VALUE_LETTER.items()}
_MASK = re.compile(r"PP[0TWSQ]{10}K")


@dataclass(frozen=True)
class BarcodeFormat:
    number: int
    prefix: int
    decimals: int
    mask: str  # 13 letters, see the module docstring


def barcode_format_of(template: BarcodeTemplate, number: int = 1) -> BarcodeFormat:
    """How the scale is told ``template``: its first prefix, its decimals and the mask of its digits."""
    mask = ["0"] * 13
    mask[0:2] = "PP"
    mask[template.item_start : template.item_start + template.item_length] = "T" * template.item_length
    letter = _VALUE_LETTER[template.kind]
    mask[template.value_start : template.value_start + template.value_length] = letter * template.value_length
    mask[12] = "K"
    return BarcodeFormat(number, int(template.prefixes[0]), template.value_decimals, "".join(mask))


def _run(mask: str, letters: str) -> tuple[int, int] | None:
    """Where the one unbroken run of ``letters`` in ``mask`` starts and how long it is."""
    found = [i for i, ch in enumerate(mask) if ch in letters]
    if not found:
        return None
    if found[-1] - found[0] + 1 != len(found) or len({mask[i] for i in found}) != 1:
        raise RecordError(f"mask {mask!r}: the {letters!r} digits must be one unbroken run of one letter")
    return found[0], len(found)


def template_of(fmt: BarcodeFormat) -> BarcodeTemplate:
    """The template a barcode-format record describes; :class:`RecordError` when it describes none."""
    if not _MASK.fullmatch(fmt.mask):
        raise RecordError(f"mask {fmt.mask!r} is not PP, ten of 0TWSQ, then K")
    item = _run(fmt.mask, "T")
    value = _run(fmt.mask, "WSQ")
    if item is None or value is None:
        raise RecordError(f"mask {fmt.mask!r} has no item code (T) or no value (W, S or Q)")
    try:
        return BarcodeTemplate(
            name=f"Масса-К {fmt.number}",
            prefixes=[f"{fmt.prefix:02d}"],
            kind=_KIND_OF_LETTER[fmt.mask[value[0]]],
            item_start=item[0],
            item_length=item[1],
            value_start=value[0],
            value_length=value[1],
            value_decimals=fmt.decimals,
        )
    except ValidationError as exc:
        problem = "; ".join(str(error["msg"]) for error in exc.errors())
        raise RecordError(f"barcode format {fmt.number}: {problem}") from None


def encode_barcode(fmt: BarcodeFormat) -> bytes:
    try:
        body = _BARCODE.pack(fmt.number, _BARCODE_LENGTH, fmt.prefix, fmt.decimals, fmt.mask.encode("ascii"))
    except (struct.error, UnicodeEncodeError) as exc:
        raise RecordError(f"barcode format {fmt.number}: a value does not fit its field ({exc})") from None
    if len(fmt.mask) != 13:
        raise RecordError(f"a mask has 13 letters, {fmt.mask!r} has {len(fmt.mask)}")
    return body + bytes((checksum(body),))


def decode_barcode(raw: bytes) -> BarcodeFormat:
    if len(raw) != _BARCODE.size + _CHECKSUM_SIZE:
        raise RecordError(f"a barcode-format record has {_BARCODE.size + 1} bytes, got {len(raw)}")
    number, length, prefix, decimals, mask = _BARCODE.unpack_from(raw)
    if length != _BARCODE_LENGTH:
        raise RecordError(f"barcode format {number}: Length {length}, not {_BARCODE_LENGTH}")
    if checksum(raw[:-1]) != raw[-1]:
        raise RecordError(f"barcode format {number}: checksum {raw[-1]:#04x}, not {checksum(raw[:-1]):#04x}")
    if number > BARCODE_FORMAT_MAX or prefix > PREFIX_MAX:
        raise RecordError(
            f"barcode format {number} (0…{BARCODE_FORMAT_MAX}), prefix {prefix} (0…{PREFIX_MAX})"
        )
    return BarcodeFormat(number, prefix, decimals, mask.decode("ascii", errors="replace"))


# --- commands --------------------------------------------------------------------------------------------

_DFILE = struct.Struct("<BBHHH")  # command, FileType, Nums, Num, Len
_DFILE_HEAD = struct.Struct("<BHHH")
_ANSWER = struct.Struct("<BHH")  # FileType, Nums, Num
_ACK = struct.Struct("<BBHH")  # command, FileType, Nums, Num
_REQUEST = struct.Struct("<BH")  # FileType, Num
_MASK_FIELD = struct.Struct("<I")
MAX_NUMS = 0xFFFF


@dataclass(frozen=True)
class FileRecord:
    """A record travelling in CMD_TCP_DFILE or CMD_TCP_UFILE; ``length`` is the frame's Len field."""

    file_type: int
    nums: int
    num: int
    length: int
    record: bytes


def dfile(file_type: int, nums: int, num: int, record: bytes) -> bytes:
    """The whole CMD_TCP_DFILE frame, ready to send."""
    return frames.encode_body(_DFILE.pack(Command.TCP_DFILE, file_type, nums, num, len(record)) + record)


def dfiles(file_type: int, records: Iterable[bytes], nums: int) -> list[bytes]:
    """The frames loading ``records`` (``nums`` of them) as one transfer."""
    return [dfile(file_type, nums, num, record) for num, record in enumerate(records, 1)]


def parse_file_record(frame: Frame) -> FileRecord:
    """The record in a CMD_TCP_DFILE or CMD_TCP_UFILE frame (its Len not yet checked against it)."""
    if len(frame.data) < _DFILE_HEAD.size:
        raise RecordError(f"a file record frame starts with {_DFILE_HEAD.size} bytes, got {len(frame.data)}")
    file_type, nums, num, length = _DFILE_HEAD.unpack_from(frame.data)
    return FileRecord(file_type, nums, num, length, frame.data[_DFILE_HEAD.size :])


def ack_dfile(file_type: int, nums: int, num: int) -> Frame:
    return Frame(Command.TCP_ACK_DFILE, _ANSWER.pack(file_type, nums, num))


def ack_dfile_frame(file_type: int, nums: int, num: int) -> bytes:
    """The whole CMD_TCP_ACK_DFILE frame: what a driver expects back, byte for byte."""
    return frames.encode_body(_ACK.pack(Command.TCP_ACK_DFILE, file_type, nums, num))


def bad_dfile(file_type: int, nums: int, num: int) -> Frame:
    return Frame(Command.TCP_BAD_DFILE, _ANSWER.pack(file_type, nums, num))


def parse_dfile_answer(frame: Frame) -> tuple[int, int, int]:
    """FileType, Nums and Num of a CMD_TCP_ACK_DFILE or CMD_TCP_BAD_DFILE."""
    if frame.command not in (Command.TCP_ACK_DFILE, Command.TCP_BAD_DFILE) or len(frame.data) != _ANSWER.size:
        raise FrameError(f"expected CMD_TCP_ACK_DFILE or CMD_TCP_BAD_DFILE with 5 bytes, got {frame}")
    file_type, nums, num = _ANSWER.unpack(frame.data)
    return file_type, nums, num


def reset_files(mask: int) -> Frame:
    return Frame(Command.TCP_RESET_FILES, _MASK_FIELD.pack(mask))


def ack_reset_files(mask: int) -> Frame:
    return Frame(Command.TCP_ACK_RESET_FILES, _MASK_FIELD.pack(mask))


def get_status() -> Frame:
    return Frame(Command.TCP_GET_STATUS)


def file_status(missing: int) -> Frame:
    return Frame(Command.TCP_FILE_STATUS, _MASK_FIELD.pack(missing))


def parse_mask(frame: Frame, command: int) -> int:
    """The MaskFile of a CMD_TCP_ACK_RESET_FILES, CMD_TCP_RESET_FILES or CMD_TCP_FILE_STATUS."""
    if frame.command != command or len(frame.data) != _MASK_FIELD.size:
        raise FrameError(f"expected command {command:#04x} with a 4-byte MaskFile, got {frame}")
    return int(_MASK_FIELD.unpack(frame.data)[0])


def req_ufile(file_type: int, num: int) -> Frame:
    return Frame(Command.TCP_REQ_UFILES, _REQUEST.pack(file_type, num))


def parse_req_ufile(frame: Frame) -> tuple[int, int]:
    if len(frame.data) != _REQUEST.size:
        raise RecordError(f"CMD_TCP_REQ_UFILES carries FileType and Num (3 bytes), got {len(frame.data)}")
    file_type, num = _REQUEST.unpack(frame.data)
    return file_type, num


def ufile(file_type: int, nums: int, num: int, record: bytes) -> Frame:
    return Frame(Command.TCP_UFILE, _DFILE_HEAD.pack(file_type, nums, num, len(record)) + record)


def err_ufile(file_type: int, num: int) -> Frame:
    return Frame(Command.TCP_ERR_UFILE, _REQUEST.pack(file_type, num))
